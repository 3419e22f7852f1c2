package pguow_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// TestMixedStrategiesNoDeadlock: units of every locking strategy on shared aggregates
// (uowtest.MixedStrategies, three rounds on schemas of their own) leave PostgreSQL's deadlock
// counter where it was. It runs on a database of its own, so the deliberate deadlocks of other
// tests do not count: commits write their rows in one order and lock their message keys after
// them, so units wait for each other and never deadlock.
func TestMixedStrategiesNoDeadlock(t *testing.T) {
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, dsn(t))
	require.NoError(t, err)
	defer func() { _ = admin.Close(context.Background()) }()
	name := testenv.Name("t_")
	_, err = admin.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn(t))
		if err == nil {
			_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	deadlocks := func() int64 {
		var n int64
		require.NoError(t, admin.QueryRow(ctx, "SELECT deadlocks FROM pg_stat_database WHERE datname = $1", name).Scan(&n))
		return n
	}

	cfg, err := pgxpool.ParseConfig(dsn(t))
	require.NoError(t, err)
	cfg.ConnConfig.Database = name
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	before := deadlocks()
	for round := range 3 {
		d, err := pguow.New(pool, &pguow.Options{Schema: "round" + string(rune('a'+round))})
		require.NoError(t, err)
		require.NoError(t, d.Migrate(ctx))
		uowtest.MixedStrategies(t, d)
	}
	// A backend reports its statistics when it ends at the latest: end them, then read.
	pool.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var n int
		require.NoError(t, admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name).Scan(&n))
		if n == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the pool's backends did not end")
	}
	require.Equal(t, before, deadlocks(), "PostgreSQL's deadlock counter of the test's database moved")
}

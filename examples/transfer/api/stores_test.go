package api_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
)

// allDrivers are every store the bank runs on: the tests of amounts at the bank's limits run
// on each. PostgreSQL and MariaDB come from DDD_TEST_POSTGRES and DDD_TEST_MYSQL; without one
// its cases skip, unless DDD_REQUIRE_SERVICES=1, which fails them.
var allDrivers = []string{"memuow", "sqlite", "postgres", "mariadb"}

// service returns the DSN in the environment variable env, or skips (fails in CI) without it.
func service(t *testing.T, env string) string {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		if os.Getenv("DDD_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set and DDD_REQUIRE_SERVICES=1", env)
		}
		t.Skipf("%s is not set", env)
	}
	return dsn
}

// uniqueName returns a fresh lower-case name for a schema or database.
func uniqueName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "bankapi_" + hex.EncodeToString(b)
}

// openServer opens a driver on a fresh PostgreSQL schema or MariaDB database, dropped when the
// test ends.
func openServer(t *testing.T, driver string) uow.Driver {
	t.Helper()
	ctx := context.Background()
	switch driver {
	case "postgres":
		schema := uniqueName()
		p, err := pguow.Open(ctx, service(t, "DDD_TEST_POSTGRES"), &pguow.Options{Schema: schema})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := p.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
			p.Close()
			require.NoError(t, err)
		})
		return p
	case "mariadb":
		base := service(t, "DDD_TEST_MYSQL")
		admin, err := sql.Open("mysql", base)
		require.NoError(t, err)
		db := uniqueName()
		_, err = admin.ExecContext(ctx, "CREATE DATABASE `"+db+"` CHARACTER SET utf8mb4")
		require.NoError(t, err)
		cfg, err := mysql.ParseDSN(base)
		require.NoError(t, err)
		cfg.DBName = db
		m, err := mysqluow.Open(ctx, cfg.FormatDSN(), nil)
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = m.Close()
			_, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`")
			_ = admin.Close()
			require.NoError(t, err)
		})
		return m
	}
	t.Fatalf("unknown driver %q", driver)
	return nil
}

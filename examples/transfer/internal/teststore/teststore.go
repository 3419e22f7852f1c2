// Package teststore opens the stores the bank's tests run on: memuow, SQLite in a temporary
// file, and a fresh schema of the PostgreSQL server or database of the MariaDB server that the
// environment names (DDD_TEST_POSTGRES, a pgx DSN, and DDD_TEST_MYSQL, a go-sql-driver/mysql
// DSN), dropped when the test ends. Without a server's variable its tests skip, unless
// DDD_REQUIRE_SERVICES=1 (CI), which makes them fail.
package teststore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// Names are the drivers Open knows, the ones every storage test runs on.
var Names = []string{"memuow", "sqlite", "postgres", "mariadb"}

// Service returns the DSN in the environment variable env, or skips the test without it (fails
// it under DDD_REQUIRE_SERVICES=1).
func Service(t testing.TB, env string) string {
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

// UniqueName returns a fresh lower-case name for a schema or database.
func UniqueName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "bank_" + hex.EncodeToString(b)
}

// Open opens a fresh driver of the named kind (one of Names) with its own tables migrated, not
// the bank's, removed when the test ends. For postgres and mariadb it also returns the DSN of the
// fresh schema or database, so that another process can open it: the server's DSN, "#" and the
// schema for postgres, a go-sql-driver/mysql DSN for mariadb; for sqlite the file; else "".
func Open(t testing.TB, name string) (driver.Driver, string) {
	t.Helper()
	ctx := context.Background()
	var (
		d   driver.Driver
		dsn string
	)
	switch name {
	case "memuow":
		d = memuow.New(nil)
	case "sqlite":
		path := filepath.Join(t.TempDir(), "bank.db")
		s, err := sqliteuow.Open(ctx, path, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		d, dsn = s, path
	case "postgres":
		base := Service(t, "DDD_TEST_POSTGRES")
		schema := UniqueName()
		p, err := pguow.Open(ctx, base, &pguow.Options{Schema: schema})
		require.NoError(t, err)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := p.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
			p.Close()
			require.NoError(t, err)
		})
		d, dsn = p, base+"#"+schema
	case "mariadb":
		base := Service(t, "DDD_TEST_MYSQL")
		admin, err := sql.Open("mysql", base)
		require.NoError(t, err)
		db := UniqueName()
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
		d, dsn = m, cfg.FormatDSN()
	default:
		t.Fatalf("teststore: no driver %q", name)
	}
	if m, ok := d.(interface{ Migrate(context.Context) error }); ok {
		require.NoError(t, m.Migrate(ctx))
	}
	return d, dsn
}

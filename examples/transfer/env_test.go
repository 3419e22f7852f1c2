package transfer_test

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

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// The tests reach the services through the environment, as the library's own do:
// DDD_TEST_POSTGRES and DDD_TEST_MYSQL hold DSNs; without one its tests skip, unless
// DDD_REQUIRE_SERVICES=1 (CI), which makes them fail.

// driver is a storage driver with its outbox.
type driver interface {
	uow.Driver
	outbox.Store
}

// driverNames lists the drivers every storage test runs on.
var driverNames = []string{"memuow", "sqlite", "postgres", "mariadb"}

// service returns the DSN in the environment variable env, or skips (fails in CI) without it.
func service(t testing.TB, env string) string {
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
	return "bank_" + hex.EncodeToString(b)
}

// openDriver opens a fresh driver of the named kind with the bank's tables, dropped when the
// test ends. For postgres and mariadb it also returns the DSN of the fresh schema or database
// (so that another process can open it), else "".
func openDriver(t testing.TB, name string) (driver, string) {
	t.Helper()
	d, dsn := openBareDriver(t, name)
	require.NoError(t, transfer.Migrate(context.Background(), d))
	return d, dsn
}

// openBareDriver is openDriver without the bank's tables: the driver's own are migrated.
func openBareDriver(t testing.TB, name string) (driver, string) {
	t.Helper()
	ctx := context.Background()
	var (
		d   driver
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
		base := service(t, "DDD_TEST_POSTGRES")
		schema := uniqueName()
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
		d, dsn = m, cfg.FormatDSN()
	default:
		t.Fatalf("no driver %q", name)
	}
	if m, ok := d.(interface{ Migrate(context.Context) error }); ok {
		require.NoError(t, m.Migrate(ctx))
	}
	return d, dsn
}

// newBank returns a bank on a fresh store of the named driver.
func newBank(t testing.TB, name string, opts *transfer.Options) (*transfer.Bank, driver) {
	t.Helper()
	d, _ := openDriver(t, name)
	b, err := transfer.New(uow.NewStore(d, nil), opts)
	require.NoError(t, err)
	return b, d
}

// Package backend opens the bank's store from the --db flag of cmd/bank: the embedded SQLite
// default, memory, PostgreSQL or MySQL/MariaDB, with the bank's tables migrated.
package backend

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// Backend is an open store.
type Backend struct {
	// Kind is "memory", "sqlite", "postgres" or "mysql".
	Kind string
	// Where says where the data is, for people: a file, a schema, a database (no password).
	Where   string
	Driver  driver.Driver
	closers []func() error
}

// Options tune Open.
type Options struct {
	// Fresh opens an empty store of its own, removed by Close: a temporary SQLite file, a new
	// PostgreSQL schema or MySQL database.
	Fresh bool
	// SQLitePath is the SQLite file when the DSN names none; empty means "bank.db".
	SQLitePath string
}

// Open opens the store dsn names and migrates the bank's tables:
//
//	""  or "sqlite"                      SQLite, the file Options.SQLitePath ("bank.db")
//	"sqlite:PATH", "file:PATH", "x.db"   SQLite, that file
//	"memory"                             memuow: in memory, lost at exit
//	"postgres://..." "postgresql://..."  PostgreSQL, schema "bank" (a pgx URL)
//	"mysql://user:pass@host:3306/db"     MySQL or MariaDB, that database
func Open(ctx context.Context, dsn string, opts *Options) (*Backend, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	b, err := open(ctx, dsn, o)
	if err != nil {
		return nil, err
	}
	if err := transfer.Migrate(ctx, b.Driver); err != nil {
		_ = b.Close()
		return nil, err
	}
	return b, nil
}

func open(ctx context.Context, dsn string, o Options) (*Backend, error) {
	switch {
	case dsn == "memory":
		return &Backend{Kind: "memory", Where: "memory", Driver: memuow.New(nil)}, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn, o)
	case strings.HasPrefix(dsn, "mysql://"):
		return openMySQL(ctx, dsn, o)
	case dsn == "", dsn == "sqlite", strings.HasPrefix(dsn, "sqlite:"), strings.HasPrefix(dsn, "file:"), strings.HasSuffix(dsn, ".db"):
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if path == "" || path == "sqlite" {
			path = o.SQLitePath
			if path == "" {
				path = "bank.db"
			}
		}
		return openSQLite(ctx, path, o)
	}
	return nil, fmt.Errorf("backend: store %q: want a SQLite file, memory, or a postgres:// or mysql:// URL", redact(dsn))
}

func openSQLite(ctx context.Context, path string, o Options) (*Backend, error) {
	b := &Backend{Kind: "sqlite"}
	if o.Fresh {
		dir, err := os.MkdirTemp("", "bank-")
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, func() error { return os.RemoveAll(dir) })
		path = filepath.Join(dir, filepath.Base(path))
	}
	d, err := sqliteuow.Open(ctx, path, nil)
	if err != nil {
		_ = b.Close()
		return nil, err
	}
	b.Driver, b.Where = d, path
	b.closers = append([]func() error{d.Close}, b.closers...)
	return b, nil
}

func openPostgres(ctx context.Context, dsn string, o Options) (*Backend, error) {
	schema := "bank"
	if o.Fresh {
		schema = "bank_" + random()
	}
	d, err := pguow.Open(ctx, dsn, &pguow.Options{Schema: schema})
	if err != nil {
		return nil, fmt.Errorf("backend: %s: %w", redact(dsn), err)
	}
	b := &Backend{Kind: "postgres", Where: redact(dsn) + " schema " + schema, Driver: d}
	b.closers = append(b.closers, func() error { d.Close(); return nil })
	if o.Fresh {
		b.closers = append([]func() error{func() error {
			_, err := d.Pool().Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
			return err
		}}, b.closers...)
	}
	return b, nil
}

func openMySQL(ctx context.Context, dsn string, o Options) (*Backend, error) {
	cfg, err := mysqlConfig(dsn)
	if err != nil {
		return nil, err
	}
	b := &Backend{Kind: "mysql"}
	if o.Fresh {
		admin, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return nil, err
		}
		name := "bank_" + random()
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4"); err != nil {
			_ = admin.Close()
			return nil, fmt.Errorf("backend: creating database %s: %w", name, err)
		}
		b.closers = append(b.closers, func() error {
			_, err := admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS `"+name+"`")
			return errors.Join(err, admin.Close())
		})
		cfg.DBName = name
	}
	d, err := mysqluow.Open(ctx, cfg.FormatDSN(), nil)
	if err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("backend: %s: %w", redact(dsn), err)
	}
	b.Driver, b.Where = d, cfg.Addr+"/"+cfg.DBName
	b.closers = append([]func() error{d.Close}, b.closers...)
	return b, nil
}

// mysqlConfig turns mysql://user:pass@host:port/db?param=v into go-sql-driver's configuration.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("backend: store: %w", err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	if u.Port() == "" {
		cfg.Addr = u.Hostname() + ":3306"
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" {
		return nil, fmt.Errorf("backend: store %s: no database name", redact(dsn))
	}
	for k, v := range u.Query() {
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		cfg.Params[k] = v[0]
	}
	return cfg, nil
}

// Close closes the store and, for a fresh one, removes it.
func (b *Backend) Close() error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c())
	}
	b.closers = nil
	return errors.Join(errs...)
}

func random() string {
	p := make([]byte, 5)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

// redact hides a URL's password.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// sqliteSubjects creates two fresh database files with the same seed, one for the library and
// one for the hand-written transfer, opened with the same settings.
func sqliteSubjects(ctx context.Context, path string, rows int) ([]subject, error) {
	dir, err := os.MkdirTemp("", "ddd-bench-")
	if err != nil {
		return nil, err
	}
	if path == "" {
		path = filepath.Join(dir, "bench.db")
	}
	handPath := path + ".hand"
	var drivers []*sqliteuow.Driver
	cleanup := func() {
		for _, d := range drivers {
			d.Close()
		}
		for _, p := range []string{path, handPath} {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(p + suffix)
			}
		}
		_ = os.RemoveAll(dir)
	}
	open := func(p string) (*sqliteuow.Driver, *uow.Store, error) {
		d, err := sqliteuow.Open(ctx, p, nil)
		if err != nil {
			return nil, nil, err
		}
		drivers = append(drivers, d)
		if err := d.Migrate(ctx); err != nil {
			return nil, nil, err
		}
		s := uow.NewStore(d, nil)
		return d, s, seed(ctx, s, rows)
	}
	_, libStore, err := open(path)
	if err != nil {
		cleanup()
		return nil, err
	}
	handDrv, _, err := open(handPath)
	if err != nil {
		cleanup()
		return nil, err
	}
	return []subject{
		{name: libName, transfer: libraryTransfer(libStore), close: func() {}},
		{name: handName, transfer: sqlTransfer(handDrv.DB()), close: cleanup},
	}, nil
}

// sqlTransfer is the yardstick for SQLite: the same statements by hand with database/sql, in a
// write transaction (BEGIN IMMEDIATE, from the driver's DSN settings).
func sqlTransfer(db *sql.DB) func(ctx context.Context, from, to int, amount int64) error {
	return func(ctx context.Context, from, to int, amount int64) error {
		return retry(ctx, func(ctx context.Context) (err error) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer func() {
				if err != nil {
					_ = tx.Rollback()
				}
			}()
			rs, err := tx.QueryContext(ctx, "SELECT id, version, data FROM ddd_aggregate WHERE kind = 'account' AND id IN (?, ?)", idOf(from), idOf(to))
			if err != nil {
				return err
			}
			read, err := readHandRows(rs)
			rs.Close()
			if err != nil {
				return err
			}
			src, dst, data, msg, err := handChange(read, from, to, amount, nowUTC())
			if err != nil {
				return err
			}
			for i, r := range []handRow{src, dst} {
				res, err := tx.ExecContext(ctx, "UPDATE ddd_aggregate SET data = ?, version = version + 1 WHERE kind = 'account' AND id = ? AND version = ?",
					string(data[i]), r.id, r.version)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil || n != 1 {
					if err == nil {
						err = errRetry
					}
					return err
				}
			}
			headers, _ := json.Marshal(msg.Headers)
			if _, err := tx.ExecContext(ctx, "INSERT INTO ddd_outbox (id, topic, msg_key, name, payload, headers, created_at, deliver_after) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
				msg.ID, msg.Topic, msg.Key, msg.Name, string(msg.Payload), string(headers), msg.CreatedAt.UnixMicro()); err != nil {
				return err
			}
			return tx.Commit()
		})
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/pguow"
)

// postgresSubjects creates a fresh schema, migrates and seeds it, and returns the library's and
// the hand-written transfer over it, each with its own pool of the same size.
func postgresSubjects(ctx context.Context, dsn string, rows int) ([]subject, error) {
	poolDSN, err := withPoolSize(dsn, 32)
	if err != nil {
		return nil, err
	}
	drv, schema, err := openSchema(ctx, poolDSN, "bench_")
	if err != nil {
		return nil, err
	}
	store := uow.NewStore(drv, nil)
	if err := seed(ctx, store, rows); err != nil {
		drv.Close()
		return nil, err
	}
	pool, err := pgxpool.New(ctx, poolDSN)
	if err != nil {
		drv.Close()
		return nil, err
	}
	drop := func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		pool.Close()
		drv.Close()
	}
	return []subject{
		{name: libName, transfer: libraryTransfer(store), close: func() {}},
		{name: handName, transfer: pgxTransfer(pool, schema), close: drop},
	}, nil
}

// openSchema opens a pguow driver on a fresh schema named with prefix and migrates it.
func openSchema(ctx context.Context, dsn, prefix string) (*pguow.Driver, string, error) {
	schema := testenv.Name(prefix)
	drv, err := pguow.Open(ctx, dsn, &pguow.Options{Schema: schema})
	if err != nil {
		return nil, "", err
	}
	if err := drv.Migrate(ctx); err != nil {
		drv.Close()
		return nil, "", err
	}
	return drv, schema, nil
}

func withPoolSize(dsn string, n int) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("bench: -dsn must be a URL: %w", err)
	}
	q := u.Query()
	q.Set("pool_max_conns", fmt.Sprint(n))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// pgxTransfer is the yardstick: the statements a careful developer writes by hand with pgx (a
// select of both rows, two version-checked updates, one outbox insert, in one transaction).
func pgxTransfer(pool *pgxpool.Pool, schema string) func(ctx context.Context, from, to int, amount int64) error {
	agg, outbox := schema+".ddd_aggregate", schema+".ddd_outbox"
	return func(ctx context.Context, from, to int, amount int64) error {
		return retry(ctx, func(ctx context.Context) error {
			return pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
				rs, err := tx.Query(ctx, "SELECT id, version, data FROM "+agg+" WHERE kind = 'account' AND id IN ($1, $2)", idOf(from), idOf(to))
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
					tag, err := tx.Exec(ctx, "UPDATE "+agg+" SET data = $1, version = version + 1 WHERE kind = 'account' AND id = $2 AND version = $3",
						string(data[i]), r.id, r.version)
					if err != nil {
						return err
					}
					if tag.RowsAffected() != 1 {
						return errRetry
					}
				}
				headers, _ := json.Marshal(msg.Headers)
				_, err = tx.Exec(ctx, "INSERT INTO "+outbox+" (id, topic, msg_key, name, payload, headers, created_at, deliver_after) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
					msg.ID, msg.Topic, msg.Key, msg.Name, string(msg.Payload), string(headers), msg.CreatedAt.UnixMicro())
				return err
			})
		})
	}
}

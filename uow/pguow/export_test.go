package pguow

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/uowtest"
)

// PauseCommits implements uowtest.CommitPauser for the tests: every later commit of d calls
// pause after its statements ran and before COMMIT; nil removes it.
func (d *Driver) PauseCommits(pause func(context.Context, *driver.Changes)) {
	if pause == nil {
		d.pause.Store(nil)
		return
	}
	d.pause.Store(&pause)
}

// callerTable is the table of the caller's own rows in the Join clauses of uowtest, beside the
// driver's tables.
func (d *Driver) callerTable() string {
	if d.schema != "" {
		return quoteIdent(d.schema) + ".ddd_test_caller"
	}
	return "ddd_test_caller"
}

// BeginNative implements uowtest.NativeTxs: a transaction on the driver's pool.
func (d *Driver) BeginNative(ctx context.Context) (uowtest.NativeTx, error) {
	if _, err := d.pool.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+d.callerTable()+" (k TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		return nil, err
	}
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return pgNative{tx: tx, table: d.callerTable()}, nil
}

// CallerValue implements uowtest.NativeTxs.
func (d *Driver) CallerValue(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := d.pool.QueryRow(ctx, "SELECT v FROM "+d.callerTable()+" WHERE k = $1", key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// pgNative is a uowtest.NativeTx.
type pgNative struct {
	tx    pgx.Tx
	table string
}

func (n pgNative) Tx() any { return n.tx }

func (n pgNative) Put(ctx context.Context, key, value string) error {
	_, err := n.tx.Exec(ctx, "INSERT INTO "+n.table+" (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", key, value)
	return err
}

func (n pgNative) Commit(ctx context.Context) error   { return n.tx.Commit(ctx) }
func (n pgNative) Rollback(ctx context.Context) error { return n.tx.Rollback(ctx) }

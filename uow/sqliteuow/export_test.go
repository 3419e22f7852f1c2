package sqliteuow

import (
	"context"
	"database/sql"
	"errors"
	"strings"

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
	return strings.TrimSuffix(d.tables.Aggregate, "ddd_aggregate") + "ddd_test_caller"
}

// BeginNative implements uowtest.NativeTxs: a transaction on the driver's pool.
func (d *Driver) BeginNative(ctx context.Context) (uowtest.NativeTx, error) {
	if _, err := d.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+d.callerTable()+" (k TEXT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		return nil, err
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqlNative{tx: tx, table: d.callerTable()}, nil
}

// CallerValue implements uowtest.NativeTxs.
func (d *Driver) CallerValue(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := d.db.QueryRowContext(ctx, "SELECT v FROM "+d.callerTable()+" WHERE k = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// sqlNative is a uowtest.NativeTx.
type sqlNative struct {
	tx    *sql.Tx
	table string
}

func (n sqlNative) Tx() any { return n.tx }

func (n sqlNative) Put(ctx context.Context, key, value string) error {
	_, err := n.tx.ExecContext(ctx, "INSERT INTO "+n.table+" (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", key, value)
	return err
}

func (n sqlNative) Commit(context.Context) error   { return n.tx.Commit() }
func (n sqlNative) Rollback(context.Context) error { return n.tx.Rollback() }

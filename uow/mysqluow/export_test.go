package mysqluow

import (
	"context"

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

// natives is the driver's uowtest.NativeTxs for the Join clauses: transactions on its pool, and
// a table of the caller's own beside the driver's tables.
func (d *Driver) natives() uowtest.SQLNativeTxs {
	table := d.prefix + "ddd_test_caller"
	return uowtest.SQLNativeTxs{DB: d.db, Table: table,
		Create: "CREATE TABLE IF NOT EXISTS " + table + " (k VARCHAR(64) PRIMARY KEY, v TEXT NOT NULL)",
		Upsert: "INSERT INTO " + table + " (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)"}
}

// BeginNative implements uowtest.NativeTxs.
func (d *Driver) BeginNative(ctx context.Context) (uowtest.NativeTx, error) {
	return d.natives().BeginNative(ctx)
}

// CallerValue implements uowtest.NativeTxs.
func (d *Driver) CallerValue(ctx context.Context, key string) (string, bool, error) {
	return d.natives().CallerValue(ctx, key)
}

package pguow

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

// Join implements [driver.Joiner]: it returns a transaction that runs inside native, a pgx.Tx
// you began and will end yourself (uow.Store.Join and uow.DoIn call it). native may come from
// the driver's pool ([Driver.Pool]) or from any connection to the database holding the driver's
// tables, at any isolation level; the unit then reads and writes at that level. Anything else
// than a pgx.Tx is an error wrapping driver.ErrInvalid.
//
// Join opens a savepoint in native, in one round trip with, when Options.LockTimeout is set,
// SET LOCAL lock_timeout for the unit's statements. The unit's loads, locks and commit run in
// native, inside the savepoint; the commit releases it, restores the lock_timeout native had,
// and, when the unit stored messages, queues a notification to relays that PostgreSQL
// delivers when native commits. A rollback, or a commit that fails, rolls back to the savepoint
// (undoing the unit's statements and the lock_timeout, and ending the aborted state a failed
// statement leaves a PostgreSQL transaction in) and releases it: native stays usable.
//
// The unit's row locks, keyed locks ([uow.Unit.Lock]) and the locks that keep a key's messages
// in commit order become native's when the unit commits, and are held until native ends: other
// units that write the same rows or messages of the same keys wait for your commit.
//
// The transaction's Native is native itself: uow.TxOf[pgx.Tx] returns it, and what you run on
// it while the unit is open is part of the unit (undone if the unit rolls back).
func (d *Driver) Join(ctx context.Context, native any) (driver.Tx, error) {
	ptx, ok := native.(pgx.Tx)
	if !ok {
		return nil, fmt.Errorf("pguow: join: %w: want a pgx.Tx, got %T", driver.ErrInvalid, native)
	}
	sp := &sqlstore.Savepoint{
		C:      conn{tx: ptx},
		Handle: ptx,
		Name:   sqlstore.SavepointName(),
		Notify: &sqlstore.Stmt{SQL: "SELECT pg_notify($1, '')", Args: []any{d.tables.Channel}},
	}
	if err := d.openSavepoint(ctx, ptx, sp); err != nil {
		return nil, fmt.Errorf("pguow: join: %w", ctxErr(ctx, classify(err)))
	}
	tx := sqlstore.NewTx(sp, d.dialect, d.tables)
	if p := d.pause.Load(); p != nil {
		tx.BeforeCommit = *p
	}
	return tx, nil
}

// openSavepoint opens sp in ptx and, with a lock timeout, sets it for the savepoint, keeping the
// transaction's own to restore (sp.Restore). If a statement after SAVEPOINT fails, the
// savepoint is rolled back, so that ptx is as it was.
func (d *Driver) openSavepoint(ctx context.Context, ptx pgx.Tx, sp *sqlstore.Savepoint) error {
	if d.timeout == "" {
		return sqlstore.OpenSavepoint(ctx, sp)
	}
	var prev string
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT " + sp.Name)
	b.Queue("SELECT current_setting('lock_timeout')").QueryRow(func(r pgx.Row) error { return r.Scan(&prev) })
	b.Queue(setLockTimeoutSQL, d.timeout)
	if err := ptx.SendBatch(ctx, b).Close(); err != nil {
		_ = sp.Finish(context.WithoutCancel(ctx), false)
		return err
	}
	sp.Restore = []sqlstore.Stmt{{SQL: setLockTimeoutSQL, Args: []any{prev}}}
	return nil
}

// setLockTimeoutSQL sets lock_timeout until the transaction ends, or a rollback to a savepoint
// taken before.
const setLockTimeoutSQL = "SELECT set_config('lock_timeout', $1, true)"

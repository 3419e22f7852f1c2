package sqliteuow

import (
	"context"
	"fmt"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

var _ driver.Joiner = (*Driver)(nil)

// Join implements [driver.Joiner]: it returns a transaction that runs inside native, a *sql.Tx
// you began and will end yourself (uow.Store.Join and uow.DoIn call it). Anything else than a
// *sql.Tx is an error wrapping driver.ErrInvalid.
//
// native must be a transaction on the Driver's database file, normally begun on [Driver.DB].
// Begun there (with [DSN]'s _txlock=immediate), it holds the database's write lock from its
// BEGIN until it ends: no other writer, of this Driver or of any connection, runs meanwhile;
// the Driver's units wait for it (their commits, uow.TxOf) up to the lock timeout, then fail
// with driver.ErrConflict, which uow.Do retries. A deferred transaction (from a pool without
// _txlock=immediate) takes the write lock at its first write, and that write fails with
// SQLITE_BUSY (driver.ErrConflict) when another connection committed after its first read. So
// do not run a unit of your own on the Driver (uow.Do, Store.Begin) from the goroutine that
// holds native open: join it to native instead.
//
// Join opens a savepoint in native. The unit's loads and commit run in native, inside the
// savepoint, and see what native wrote; the commit releases the savepoint. A rollback, or a
// commit that fails, rolls back to the savepoint and releases it: native stays usable.
//
// The joined unit takes none of the Driver's in-process locks: native's write lock excludes
// every other writer until native ends, which keeps the order of a key's messages and makes
// the unit's ForUpdate loads read the latest data. Those locks do not see native either, as
// they do not see another process's transactions: a unit of the Driver that loaded a record
// ForUpdate, or took a key with uow.Unit.Lock, and that a joined unit overtakes, fails its
// commit with driver.ErrConflict (which uow.Do retries) instead of having made the joined unit
// wait. Keyed locks (uow.Unit.Lock) are not supported in a joined unit (an error wrapping
// driver.ErrUnsupported): they would have to be held until native ends, which the Driver
// cannot see.
//
// The transaction's Native is native itself: uow.TxOf[*sql.Tx] returns it, and what you run on
// it while the unit is open is part of the unit (undone if the unit rolls back).
func (d *Driver) Join(ctx context.Context, native any) (driver.Tx, error) {
	var pause func(context.Context, *driver.Changes)
	if p := d.pause.Load(); p != nil {
		pause = *p
	}
	tx, err := sqlstore.JoinSQL(ctx, native, dialect, d.tables, classify, pause)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return tx, nil
}

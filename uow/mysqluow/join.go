package mysqluow

import (
	"context"
	"fmt"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

var _ driver.Joiner = (*Driver)(nil)

// Join implements [driver.Joiner]: it returns a transaction that runs inside native, a *sql.Tx
// you began and will end yourself (uow.Store.Join and uow.DoIn call it). native may come from
// the driver's pool ([Driver.DB]) or any pool on the database holding the driver's tables, at
// any isolation level; the unit then reads at that level (REPEATABLE READ, MySQL's default,
// makes its plain loads read your transaction's snapshot: a record changed since is caught by
// the version check at commit). Anything else than a *sql.Tx is an error wrapping
// driver.ErrInvalid.
//
// Join opens a savepoint in native. The unit's loads and commit run in native, inside the
// savepoint; the commit releases it. A rollback, or a commit that fails, rolls back to the
// savepoint and releases it: native stays usable. InnoDB keeps the row locks taken after a
// savepoint that is rolled back to, and a deadlock rolls back the victim's whole transaction:
// the unit's error then wraps uow.ErrConflict and says that undoing the unit failed; roll
// native back.
//
// The unit's row locks and the locks that keep a key's messages in commit order are native's,
// held until native ends: other units that write the same rows or messages of the same keys
// wait for your commit (at most innodb_lock_wait_timeout). Keyed locks ([uow.Unit.Lock]) are
// not supported in a joined unit (an error wrapping driver.ErrUnsupported): MySQL's named locks
// belong to the session, not to the transaction, so they could be held neither until native
// ends nor released then; lock rows of your own with SELECT ... FOR UPDATE instead. The driver
// sets nothing on native's session.
//
// The transaction's Native is native itself: uow.TxOf[*sql.Tx] returns it, and what you run on
// it while the unit is open is part of the unit (undone if the unit rolls back).
func (d *Driver) Join(ctx context.Context, native any) (driver.Tx, error) {
	var pause func(context.Context, *driver.Changes)
	if p := d.pause.Load(); p != nil {
		pause = *p
	}
	tx, err := sqlstore.JoinSQL(ctx, native, d.dialect, d.tables, classify, pause)
	if err != nil {
		return nil, fmt.Errorf("mysql: %w", err)
	}
	return tx, nil
}

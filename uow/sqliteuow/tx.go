package sqliteuow

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

// Tx is a transaction of a [Driver], returned by [Driver.Begin]. Besides [driver.Tx] it implements
// [driver.Querier], [driver.KeyLocker] and [driver.InboxReader].
//
// A Tx begins with no database transaction: optimistic loads, queries and inbox checks read
// committed data on the Driver's pool. Its write transaction (BEGIN IMMEDIATE, holding
// SQLite's write lock until the Tx ends) begins at Commit, or earlier at [Tx.Native]; from then
// on every statement of the Tx runs in it. GetForUpdate loads and keyed locks take in-process
// locks of the Driver (see the package documentation).
//
// A Tx is used by one goroutine. After Commit or Rollback every method but Rollback returns an
// error wrapping driver.ErrTxDone, and Native returns nil.
type Tx struct {
	tx *sqlstore.Tx
	b  *backend
}

var (
	_ driver.Tx          = (*Tx)(nil)
	_ driver.Querier     = (*Tx)(nil)
	_ driver.KeyLocker   = (*Tx)(nil)
	_ driver.InboxReader = (*Tx)(nil)
)

// Load returns the committed records of kind with the given IDs (driver.Tx). With driver.ForUpdate
// it first locks each ID, in ID order, in the Driver's lock table, waiting while another Tx
// holds it (for a ForUpdate load, or a commit writing the record); then it reads, and so sees
// the latest data this Driver committed. A wait ends with an error wrapping ctx.Err() when ctx
// is done, and with one wrapping driver.ErrConflict on a lock timeout or a deadlock.
func (t *Tx) Load(ctx context.Context, kind string, ids []string, lock driver.Lock) ([]driver.Record, error) {
	if lock == driver.ForUpdate {
		if t.b.finished {
			return nil, driver.ErrTxDone
		}
		for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
			if err := t.b.lock(ctx, rowKey(kind, id)); err != nil {
				return nil, fmt.Errorf("sqlite: load %s for update: %w", kind, err)
			}
		}
		lock = driver.Optimistic // locked: a plain read now sees the latest commit
	}
	return t.tx.Load(ctx, kind, ids, lock)
}

// Find returns the committed records of kind whose top-level fields equal the filter
// (driver.Querier): SQL narrows by the string fields with json_extract, and the documents are
// compared as JSON values.
func (t *Tx) Find(ctx context.Context, kind string, where []driver.Field) ([]driver.Record, error) {
	return t.tx.Find(ctx, kind, where)
}

// Processed reports whether the inbox mark (consumer, messageID) is committed
// (driver.InboxReader).
func (t *Tx) Processed(ctx context.Context, consumer, messageID string) (bool, error) {
	return t.tx.Processed(ctx, consumer, messageID)
}

// LockKeys takes in-process locks on keys, held until the Tx ends (driver.KeyLocker). They exclude
// the transactions of this Driver, not those of another process or another Driver on the same
// file. A wait ends with an error wrapping ctx.Err() when ctx is done, and with one wrapping
// driver.ErrConflict on a lock timeout or a deadlock.
func (t *Tx) LockKeys(ctx context.Context, keys []string) error {
	if t.b.finished {
		return driver.ErrTxDone
	}
	for _, k := range keys {
		if err := t.b.lock(ctx, keyKey(k)); err != nil {
			return fmt.Errorf("sqlite: lock keys: %w", err)
		}
	}
	return nil
}

// Commit writes c in the write transaction and commits it (driver.Tx). It first locks the rows it
// writes, waiting for transactions that loaded them ForUpdate, then takes the write
// transaction, waiting for this Driver's other writers and, up to the lock timeout, for other
// processes' (driver.ErrConflict when that runs out). A Commit of nothing that did not begin the
// write transaction takes no lock. On any error nothing of c is stored.
func (t *Tx) Commit(ctx context.Context, c *driver.Changes) error {
	if t.b.finished {
		return driver.ErrTxDone
	}
	if c.Empty() && t.b.tx == nil {
		return t.tx.Rollback(ctx) // nothing to write: release the locks
	}
	keys := make([]lockKey, 0, len(c.Writes))
	for _, w := range c.Writes {
		keys = append(keys, rowKey(w.Record.Kind, w.Record.ID))
	}
	slices.SortFunc(keys, func(a, b lockKey) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.id, b.id)) })
	for _, k := range keys {
		if err := t.b.lock(ctx, k); err != nil {
			_ = t.tx.Rollback(context.WithoutCancel(ctx))
			return fmt.Errorf("sqlite: commit: %w", err)
		}
	}
	return t.tx.Commit(ctx, c)
}

// Rollback ends the Tx, rolling back its write transaction if it began one, and releases its
// locks (driver.Tx). After the end it returns nil.
func (t *Tx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }

// Native begins the write transaction if need be and returns it, a *sql.Tx (driver.Tx): custom
// SQL of Mappers and read models runs in it, committed with the unit. If the write transaction
// cannot begin (a lock timeout: an error wrapping driver.ErrConflict), Native returns that error
// as its value; after the end, nil. Use [TxOf], which sorts this out.
func (t *Tx) Native() any {
	if t.b.finished {
		return nil
	}
	n, err := t.tx.NativeContext(context.Background())
	if err != nil {
		return fmt.Errorf("sqlite: beginning the write transaction: %w", err)
	}
	return n
}

// backend is the sqlstore.Backend of one Tx: the lazy write transaction and the Tx's locks.
type backend struct {
	d        *Driver
	tx       *sql.Tx            // the write transaction, once begun
	cancel   context.CancelFunc // ends tx's context, after tx ended
	finished bool
}

var _ sqlstore.Backend = (*backend)(nil)

// Conn implements sqlstore.Backend: the write transaction once begun, else the pool for reads;
// a write begins it.
func (b *backend) Conn(ctx context.Context, write bool) (sqlstore.Conn, error) {
	if b.finished {
		return nil, driver.ErrTxDone
	}
	if b.tx == nil && !write {
		return sqlstore.SQLConn{Q: b.d.db}, nil
	}
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	return sqlstore.SQLConn{Q: b.tx}, nil
}

// Native implements sqlstore.Backend.
func (b *backend) Native(ctx context.Context) (any, error) {
	if b.finished {
		return nil, driver.ErrTxDone
	}
	if err := b.begin(ctx); err != nil {
		return nil, err
	}
	return b.tx, nil
}

// begin begins the write transaction: the Driver's write lock first, so that this process's
// writers queue here, then BEGIN IMMEDIATE, which waits (busy_timeout) for other processes'.
// Taking the lock before BEGIN means the transaction's reads see the latest commit.
func (b *backend) begin(ctx context.Context) error {
	if b.tx != nil {
		return nil
	}
	if err := b.lock(ctx, writeKey); err != nil {
		return err
	}
	// database/sql rolls a transaction back when the context given to BeginTx ends. The write
	// transaction outlives this call, so it gets a context that ends only if ctx ends while
	// BEGIN waits, or in Finish.
	txCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	tx, err := b.d.db.BeginTx(txCtx, nil)
	if !stop() { // ctx ended during BEGIN
		if err == nil {
			_ = tx.Rollback()
		}
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		b.d.locks.Release(b, writeKey)
		return err
	}
	b.tx, b.cancel = tx, cancel
	return nil
}

// Finish implements sqlstore.Backend: commit or roll back the write transaction, if any, and
// release every lock. A commit whose ctx is done rolls back instead and returns ctx's error.
func (b *backend) Finish(ctx context.Context, commit bool) error {
	if b.finished {
		return nil
	}
	b.finished = true
	defer b.d.locks.ReleaseAll(b)
	if b.tx == nil {
		return nil
	}
	defer b.cancel()
	if commit {
		if err := ctx.Err(); err != nil {
			_ = b.tx.Rollback()
			return err
		}
		return b.tx.Commit()
	}
	if err := b.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) && !rolledBack(err) {
		return err
	}
	return nil
}

// rolledBack reports whether err is SQLite's answer to a ROLLBACK of a transaction it already
// rolled back on its own, as it does after an interrupted write, a full disk or an I/O error.
func rolledBack(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_ERROR &&
		strings.Contains(se.Error(), "no transaction is active")
}

package mysqluow

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"time"

	"github.com/dddkit/ddd/internal/sqlstore"
)

// backend is the sqlstore.Backend of one transaction: a connection held from the pool (so that
// the session that took named locks is the one that releases them) and the READ COMMITTED
// transaction begun on it.
type backend struct {
	d      *Driver
	conn   *sql.Conn
	tx     *sql.Tx
	stop   context.CancelFunc // ends the transaction's context after the transaction
	c      *txConn
	held   map[string]struct{} // keys whose named locks the session holds
	locked bool                // GET_LOCK ran on the session: release all at the end
}

// txConn is the sqlstore.Conn of a transaction, with what keyed locks need (see lockConn).
type txConn struct {
	sqlstore.SQLConn
	b *backend
}

var (
	_ sqlstore.Backend = (*backend)(nil)
	_ lockConn         = (*txConn)(nil)
)

// begin takes a connection and begins the transaction. ctx bounds both; the transaction's own
// context does not end with ctx (database/sql rolls a transaction back when its context ends).
func (d *Driver) begin(ctx context.Context) (*backend, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	txCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	unhook := context.AfterFunc(ctx, stop) // ctx ending during the begin ends it
	tx, err := conn.BeginTx(txCtx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if !unhook() {
		// ctx ended during the begin: the transaction, if any, is being rolled back.
		if err == nil {
			_ = tx.Rollback()
		}
		_ = conn.Close()
		return nil, context.Cause(ctx)
	}
	if err != nil {
		stop()
		_ = conn.Close()
		return nil, err
	}
	b := &backend{d: d, conn: conn, tx: tx, stop: stop}
	b.c = &txConn{SQLConn: sqlstore.SQLConn{Q: tx}, b: b}
	return b, nil
}

// Conn implements sqlstore.Backend: every statement runs in the transaction.
func (b *backend) Conn(context.Context, bool) (sqlstore.Conn, error) { return b.c, nil }

// Native implements sqlstore.Backend: the *sql.Tx.
func (b *backend) Native(context.Context) (any, error) { return b.tx, nil }

// releaseWait bounds the release of named locks after the transaction ended.
const releaseWait = 10 * time.Second

// Finish implements sqlstore.Backend. It commits or rolls back, then releases the named locks
// of the session (after the commit, so that nobody takes a key before the data it guards is
// committed) and returns the connection to the pool. A connection whose COMMIT, ROLLBACK or
// release failed is closed instead, so the pool never hands out a session holding named locks
// or a transaction; the server rolls back and releases what a closed session held. A rollback
// therefore always succeeds: it returns nil.
func (b *backend) Finish(ctx context.Context, commit bool) error {
	defer b.stop()
	var err error
	if commit {
		err = b.tx.Commit()
	} else {
		err = b.tx.Rollback()
	}
	discard := err != nil
	if b.locked && !discard {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseWait)
		if _, rerr := b.conn.ExecContext(rctx, "DO RELEASE_ALL_LOCKS()"); rerr != nil {
			discard = true
		}
		cancel()
	}
	if discard {
		_ = b.conn.Raw(func(any) error { return driver.ErrBadConn }) // closes the connection
	}
	_ = b.conn.Close()
	if !commit {
		return nil
	}
	return err
}

// lockName implements lockConn.
func (c *txConn) lockName(ctx context.Context, key string) (string, error) {
	ns, err := c.b.d.namespace(ctx, c)
	if err != nil {
		return "", err
	}
	return lockName(ns, key), nil
}

// holds implements lockConn.
func (c *txConn) holds(key string) bool {
	_, ok := c.b.held[key]
	return ok
}

// taking implements lockConn.
func (c *txConn) taking() { c.b.locked = true }

// got implements lockConn.
func (c *txConn) got(key string) {
	if c.b.held == nil {
		c.b.held = map[string]struct{}{}
	}
	c.b.held[key] = struct{}{}
}

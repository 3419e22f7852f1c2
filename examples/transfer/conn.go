package transfer

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// conn runs the bank's SQL on a pool or a unit's transaction, whichever driver holds it.
type conn interface {
	// exec runs a statement and returns the rows it affected.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	// query runs a query and calls row for each result row with its Scan.
	query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error
}

// sqlConn is a database/sql pool or transaction (SQLite, MySQL). Its errors go through the
// driver's classifier (sqliteuow.Classify, mysqluow.Classify): deadlocks, serialization failures
// and lock timeouts wrap uow.ErrConflict (uow.Do retries them), unique violations
// uow.ErrDuplicate (an account number, a transfer or deposit ID taken).
type sqlConn struct {
	q interface {
		ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	}
	classify func(error) error
}

func (c sqlConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, c.classify(err)
	}
	n, err := res.RowsAffected()
	return n, c.classify(err)
}

func (c sqlConn) query(ctx context.Context, q string, args []any, row func(func(...any) error) error) error {
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return c.classify(err)
	}
	defer rows.Close()
	return c.classify(each(rows, row))
}

// each calls row for every row of rows (a *sql.Rows, a pgx.Rows), then reports rows' error.
func each(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}, row func(func(...any) error) error) error {
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// pool is a connection pool: it runs queries, and transactions of their own (the migration's).
type pool interface {
	conn
	// inTx runs fn in a transaction, committed if fn returns nil, else rolled back.
	inTx(ctx context.Context, fn func(ctx context.Context, c conn) error) error
	// session runs fn on one connection of the pool, for what belongs to a session (MySQL's
	// named locks).
	session(ctx context.Context, fn func(c pool) error) error
}

// sqlPool is a database/sql pool (*sql.DB), or one connection of it (*sql.Conn).
type sqlPool struct {
	sqlConn
	db interface {
		BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
	}
}

// newSQLPool returns the pool db, whose errors classify translates.
func newSQLPool(db *sql.DB, classify func(error) error) sqlPool {
	return sqlPool{sqlConn{db, classify}, db}
}

func (p sqlPool) inTx(ctx context.Context, fn func(context.Context, conn) error) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return p.classify(err)
	}
	if err := fn(ctx, sqlConn{tx, p.classify}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return p.classify(tx.Commit())
}

func (p sqlPool) session(ctx context.Context, fn func(pool) error) error {
	db, ok := p.db.(*sql.DB)
	if !ok {
		return fn(p) // already one connection
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return p.classify(err)
	}
	defer c.Close()
	return fn(sqlPool{sqlConn{c, p.classify}, c})
}

// pgxPool is a pgx pool (PostgreSQL).
type pgxPool struct {
	pgxConn
	p *pgxpool.Pool
}

func newPgxPool(p *pgxpool.Pool) pgxPool { return pgxPool{pgxConn{p}, p} }

func (p pgxPool) inTx(ctx context.Context, fn func(context.Context, conn) error) error {
	tx, err := p.p.Begin(ctx)
	if err != nil {
		return pguow.Classify(err)
	}
	if err := fn(ctx, pgxConn{tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return pguow.Classify(tx.Commit(ctx))
}

// session runs fn on the pool: nothing the bank does on PostgreSQL belongs to a session.
func (p pgxPool) session(_ context.Context, fn func(pool) error) error { return fn(p) }

// pgxConn is a pgx pool or transaction (PostgreSQL). Its errors go through pguow.Classify, as
// sqlConn's go through their driver's.
type pgxConn struct {
	q interface {
		Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
	}
}

func (c pgxConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, q, args...)
	return tag.RowsAffected(), pguow.Classify(err)
}

func (c pgxConn) query(ctx context.Context, q string, args []any, row func(func(...any) error) error) error {
	rows, err := c.q.Query(ctx, q, args...)
	if err != nil {
		return pguow.Classify(err)
	}
	defer rows.Close()
	return pguow.Classify(each(rows, row))
}

// The unit's transaction on each driver.
func sqliteTx(u *uow.Unit) (conn, error) {
	tx, err := uow.TxOf[*sql.Tx](u)
	return sqlConn{tx, sqliteuow.Classify}, err
}

func pgTx(u *uow.Unit) (conn, error) {
	tx, err := uow.TxOf[pgx.Tx](u)
	return pgxConn{tx}, err
}

func mysqlTx(u *uow.Unit) (conn, error) {
	tx, err := uow.TxOf[*sql.Tx](u)
	return sqlConn{tx, mysqluow.Classify}, err
}

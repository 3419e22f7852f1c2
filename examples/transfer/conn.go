package transfer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"

	"github.com/dddkit/ddd/uow"
)

// conn runs the bank's SQL on a pool or a unit's transaction, whichever driver holds it.
type conn interface {
	// exec runs a statement and returns the rows it affected.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	// query runs a query and calls row for each result row with its Scan.
	query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error
}

// sqlConn is a database/sql pool or transaction (SQLite, MySQL).
type sqlConn struct {
	q interface {
		ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	}
}

func (c sqlConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	return n, classify(err)
}

func (c sqlConn) query(ctx context.Context, q string, args []any, row func(func(...any) error) error) error {
	rows, err := c.q.QueryContext(ctx, q, args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	return each(rows, row)
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
	return classify(rows.Err())
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

func newSQLPool(db *sql.DB) sqlPool { return sqlPool{sqlConn{db}, db} }

func (p sqlPool) inTx(ctx context.Context, fn func(context.Context, conn) error) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	if err := fn(ctx, sqlConn{tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return classify(tx.Commit())
}

func (p sqlPool) session(ctx context.Context, fn func(pool) error) error {
	db, ok := p.db.(*sql.DB)
	if !ok {
		return fn(p) // already one connection
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return classify(err)
	}
	defer c.Close()
	return fn(sqlPool{sqlConn{c}, c})
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
		return classify(err)
	}
	if err := fn(ctx, pgxConn{tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return classify(tx.Commit(ctx))
}

// session runs fn on the pool: nothing the bank does on PostgreSQL belongs to a session.
func (p pgxPool) session(_ context.Context, fn func(pool) error) error { return fn(p) }

// pgxConn is a pgx pool or transaction (PostgreSQL).
type pgxConn struct {
	q interface {
		Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
	}
}

func (c pgxConn) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, q, args...)
	return tag.RowsAffected(), classify(err)
}

func (c pgxConn) query(ctx context.Context, q string, args []any, row func(func(...any) error) error) error {
	rows, err := c.q.Query(ctx, q, args...)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	return each(rows, row)
}

// The unit's transaction on each driver.
func sqliteTx(u *uow.Unit) (conn, error) {
	tx, err := uow.TxOf[*sql.Tx](u)
	return sqlConn{tx}, err
}

func pgTx(u *uow.Unit) (conn, error) {
	tx, err := uow.TxOf[pgx.Tx](u)
	return pgxConn{tx}, err
}

func mysqlTx(u *uow.Unit) (conn, error) {
	tx, err := uow.TxOf[*sql.Tx](u)
	return sqlConn{tx}, err
}

// errUnique marks a unique-key violation (an account number, a transfer or deposit ID taken).
var errUnique = errors.New("unique key violation")

// classify translates the backends' errors the unit of work acts on: deadlocks, serialization
// failures and lock timeouts wrap uow.ErrConflict (uow.Do retries them), unique violations
// wrap errUnique. The backend's error stays in the chain.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var (
		pg *pgconn.PgError
		my *mysql.MySQLError
		sq *sqlite.Error
	)
	switch {
	case errors.As(err, &pg):
		switch pg.Code {
		case "40001", "40P01", "55P03":
			return fmt.Errorf("%w: %w", uow.ErrConflict, err)
		case "23505":
			return fmt.Errorf("%w: %w", errUnique, err)
		}
	case errors.As(err, &my):
		switch my.Number {
		case 1205, 1213:
			return fmt.Errorf("%w: %w", uow.ErrConflict, err)
		case 1062:
			return fmt.Errorf("%w: %w", errUnique, err)
		}
	case errors.As(err, &sq):
		switch sq.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return fmt.Errorf("%w: %w", uow.ErrConflict, err)
		}
		switch sq.Code() {
		case 1555, 2067: // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
			return fmt.Errorf("%w: %w", errUnique, err)
		}
	}
	return err
}

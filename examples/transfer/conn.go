package transfer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

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
	tx, err := sqliteuow.TxOf(u)
	return sqlConn{tx}, err
}

func pgTx(u *uow.Unit) (conn, error) {
	tx, err := pguow.TxOf(u)
	return pgxConn{tx}, err
}

func mysqlTx(u *uow.Unit) (conn, error) {
	tx, err := mysqluow.TxOf(u)
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

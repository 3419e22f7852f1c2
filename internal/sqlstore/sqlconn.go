package sqlstore

import (
	"context"
	"database/sql"
)

// Querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// SQLConn is a Conn over database/sql; Exec runs its statements one by one.
type SQLConn struct{ Q Querier }

var _ Conn = SQLConn{}

// Query implements Conn.
func (c SQLConn) Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error {
	rows, err := c.Q.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Exec implements Conn.
func (c SQLConn) Exec(ctx context.Context, stmts []Stmt) ([]int64, error) {
	affected := make([]int64, len(stmts))
	for i, s := range stmts {
		res, err := c.Q.ExecContext(ctx, s.SQL, s.Args...)
		if err != nil {
			return nil, &ExecError{Index: i, Err: err}
		}
		if affected[i], err = res.RowsAffected(); err != nil {
			return nil, &ExecError{Index: i, Err: err}
		}
	}
	return affected, nil
}

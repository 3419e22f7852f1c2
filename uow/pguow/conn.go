package pguow

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

// conn is the sqlstore.Conn of a unit: Exec sends all its statements in one pgx batch, so a
// commit's record writes, outbox and inbox inserts and notification take one round trip (two the
// first time a connection sees one of the statements, which it then prepares and caches).
type conn struct{ tx runner }

// runner is what a conn runs statements on: the unit's pgx.Tx, or the pool for reads outside
// units.
type runner interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var _ sqlstore.Conn = conn{}

// Query implements sqlstore.Conn.
func (c conn) Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error {
	rows, err := c.tx.Query(ctx, q, args...)
	if err != nil {
		return ctxErr(ctx, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return ctxErr(ctx, rows.Err())
}

// Exec implements sqlstore.Conn.
func (c conn) Exec(ctx context.Context, stmts []sqlstore.Stmt) ([]int64, error) {
	switch len(stmts) {
	case 0:
		return nil, nil
	case 1:
		return seqConn(c).Exec(ctx, stmts)
	}
	b := &pgx.Batch{}
	for _, s := range stmts {
		b.Queue(s.SQL, s.Args...)
	}
	br := c.tx.SendBatch(ctx, b)
	affected := make([]int64, len(stmts))
	for i := range stmts {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return nil, &sqlstore.ExecError{Index: batchIndex(err, stmts, i), Err: ctxErr(ctx, err)}
		}
		affected[i] = tag.RowsAffected()
	}
	if err := br.Close(); err != nil {
		return nil, &sqlstore.ExecError{Index: len(stmts) - 1, Err: ctxErr(ctx, err)}
	}
	return affected, nil
}

// batchIndex returns the index of the statement that failed a batch: i, the statement being
// read, unless the batch failed before running (preparing or encoding a statement), in which case
// the error names the statement's SQL.
func batchIndex(err error, stmts []sqlstore.Stmt, i int) int {
	var pe pgx.ErrPreprocessingBatch
	if errors.As(err, &pe) {
		for j, s := range stmts {
			if s.SQL == pe.SQL() {
				return j
			}
		}
	}
	return i
}

// seqConn runs statements one at a time: for migrations, whose statements may refer to tables
// that earlier ones create (a batch prepares all of its statements before running any), and for
// single statements. A statement without arguments goes through the simple protocol, so DDL is
// not prepared.
type seqConn struct{ tx runner }

// Query implements sqlstore.Conn.
func (c seqConn) Query(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error {
	return conn(c).Query(ctx, q, args, row)
}

// Exec implements sqlstore.Conn.
func (c seqConn) Exec(ctx context.Context, stmts []sqlstore.Stmt) ([]int64, error) {
	affected := make([]int64, len(stmts))
	for i, s := range stmts {
		tag, err := c.tx.Exec(ctx, s.SQL, s.Args...)
		if err != nil {
			return nil, &sqlstore.ExecError{Index: i, Err: ctxErr(ctx, err)}
		}
		affected[i] = tag.RowsAffected()
	}
	return affected, nil
}

// backend is the sqlstore.Backend of a unit: one transaction, begun at once on a connection
// acquired from the pool and released when it ends.
type backend struct {
	c       *pgxpool.Conn
	tx      pgx.Tx
	conn    conn
	channel string // where committed messages are announced
	notify  bool   // the commit wrote messages
}

var (
	_ sqlstore.Backend        = (*backend)(nil)
	_ sqlstore.CommitNotifier = (*backend)(nil)
)

// NotifyAfterCommit implements sqlstore.CommitNotifier.
func (b *backend) NotifyAfterCommit() { b.notify = true }

// Conn implements sqlstore.Backend: reads and writes share the one transaction.
func (b *backend) Conn(context.Context, bool) (sqlstore.Conn, error) { return b.conn, nil }

// Native implements sqlstore.Backend: the pgx.Tx.
func (b *backend) Native(context.Context) (any, error) { return b.tx, nil }

// Finish implements sqlstore.Backend.
func (b *backend) Finish(ctx context.Context, commit bool) error {
	defer b.c.Release() // a connection left broken or in a transaction is closed, not reused
	if commit {
		if err := b.tx.Commit(ctx); err != nil {
			return ctxErr(ctx, err)
		}
		if b.notify {
			// Its own tiny transaction after COMMIT: a NOTIFY inside the unit's transaction
			// would serialise every committing unit behind one lock, fsync included. The
			// notification is a hint (relays also poll), so its error is not the unit's.
			_, _ = b.c.Exec(ctx, "SELECT pg_notify($1, '')", pgx.QueryExecModeSimpleProtocol, b.channel)
		}
		return nil
	}
	if err := b.tx.Rollback(ctx); err != nil {
		if b.c.Conn().IsClosed() {
			// The connection is gone (broken, or closed because ctx was done): the server
			// discards a transaction whose connection ends without COMMIT.
			return nil
		}
		return ctxErr(ctx, err)
	}
	return nil
}

// lockKeySQL takes one transaction-scoped advisory lock; the key text is hashed to 64 bits.
const lockKeySQL = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"

// newDialect returns PostgreSQL's sqlstore.Dialect for the tables t. namespace (the schema and
// prefix) is put before keyed-lock keys, so that stores sharing a database lock apart.
func newDialect(t sqlstore.Tables, namespace string) *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:       "postgres",
		Param:      func(n int) string { return fmt.Sprintf("$%d", n) },
		ForUpdate:  " FOR UPDATE",
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		FieldText:  func(p string) string { return "data->>" + p },
		FieldPath:  func(name string) string { return name },
		Classify:   classify,
		LockKeys: func(ctx context.Context, c sqlstore.Conn, keys []string) error {
			stmts := make([]sqlstore.Stmt, len(keys))
			for i, k := range keys {
				stmts[i] = sqlstore.Stmt{SQL: lockKeySQL, Args: []any{"ddd:" + namespace + ":" + k}}
			}
			_, err := c.Exec(ctx, stmts)
			var ee *sqlstore.ExecError
			if errors.As(err, &ee) {
				return ee.Err
			}
			return err
		},
		MaxParams: 65535,
		SeqIn:     func(p string) string { return "seq = ANY(" + p + ")" },
	}
}

// Classify returns err wrapped with the sentinel error that a unit of work acts on, by
// PostgreSQL's SQLSTATE: serialization_failure (40001), deadlock_detected (40P01) and
// lock_not_available (55P03: lock_timeout ran out, or a NOWAIT lock was taken) wrap
// uow.ErrConflict, which uow.Do retries; unique_violation (23505) wraps uow.ErrDuplicate. Any
// other error is returned unchanged, and so are nil and an error that already wraps either
// sentinel. The *pgconn.PgError stays in the chain: errors.As still finds it, and its
// ConstraintName tells which unique key a violation broke.
//
// It is the classifier the driver uses on its own statements, exported for the SQL you run in a
// unit through uow.TxOf[pgx.Tx] (a uow.Mapper, sqlc queries):
//
//	_, err := tx.Exec(ctx, "INSERT INTO account (id, version, ...) VALUES ($1, 1, ...)", ...)
//	return pguow.Classify(err)
//
// A Mapper's Insert should report ErrDuplicate only for its aggregate's ID (the unit takes it for
// a lost race, reports ErrConflict and uow.Do retries); a violation of another unique key of
// your table is an error of its own, or every retry would meet it again.
func Classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || errors.Is(err, driver.ErrConflict) || errors.Is(err, driver.ErrDuplicate) {
		return err
	}
	switch pe.Code {
	case "40001", "40P01", "55P03": // serialization failure, deadlock, lock_not_available (lock_timeout)
		return fmt.Errorf("%w: %w", driver.ErrConflict, err)
	case "23505": // unique_violation
		return fmt.Errorf("%w: %w", driver.ErrDuplicate, err)
	}
	return err
}

// classify is the dialect's Classify: Classify, with a hint when the driver's tables are
// missing.
func classify(err error) error {
	err = Classify(err)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // undefined_table, invalid_schema_name
		return fmt.Errorf("%w (the store's tables do not exist: call (*pguow.Driver).Migrate)", err)
	}
	return err
}

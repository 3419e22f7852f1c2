package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/dddkit/ddd/uow/driver"
)

// Savepoint is the Backend of a transaction joined to one its caller began and ends
// (driver.Joiner): every statement runs on C, the caller's transaction, inside the savepoint
// Name, which the driver opened (see OpenSavepoint). Finish never ends the caller's transaction:
// a commit releases the savepoint, so that its writes become the caller's, to commit or roll
// back; a rollback rolls back to the savepoint and releases it, undoing every statement run
// since it was opened (the caller's own on the same transaction included) and leaving the
// caller's transaction usable, on PostgreSQL even after a statement inside failed.
//
// Locks taken inside the savepoint belong to the caller's transaction once the savepoint is
// released, and are held until it ends.
type Savepoint struct {
	// C runs statements in the caller's transaction.
	C Conn
	// Handle is the caller's transaction, Native's value.
	Handle any
	// Name is the savepoint's name, from SavepointName.
	Name string
	// Restore holds the statements a commit runs right after RELEASE SAVEPOINT: they undo
	// what the driver set for the savepoint's duration only (PostgreSQL's lock_timeout). A
	// rollback to the savepoint undoes such settings by itself.
	Restore []Stmt
	// Notify, when set, is run after RELEASE SAVEPOINT by a commit that wrote messages (see
	// CommitNotifier): PostgreSQL's pg_notify, which the server delivers when the caller's
	// transaction commits, and drops when it rolls back.
	Notify *Stmt
	notify bool
}

var (
	_ Backend        = (*Savepoint)(nil)
	_ CommitNotifier = (*Savepoint)(nil)
)

// savepoints numbers the savepoints of this process: two joins to one transaction, one inside
// the other, get distinct names (MySQL replaces a savepoint of the same name).
var savepoints atomic.Uint64

// SavepointName returns a savepoint name no other join of this process uses.
func SavepointName() string { return "ddd_unit_" + strconv.FormatUint(savepoints.Add(1), 10) }

// OpenSavepoint opens the savepoint s names on s.C, in one round trip with set (statements
// that change settings for the savepoint's duration, undone by s.Restore).
func OpenSavepoint(ctx context.Context, s *Savepoint, set ...Stmt) error {
	_, err := s.C.Exec(ctx, append([]Stmt{{SQL: "SAVEPOINT " + s.Name}}, set...))
	return unwrapExec(err)
}

// Conn implements Backend: every statement runs in the caller's transaction.
func (s *Savepoint) Conn(context.Context, bool) (Conn, error) { return s.C, nil }

// Native implements Backend: the caller's transaction.
func (s *Savepoint) Native(context.Context) (any, error) { return s.Handle, nil }

// NotifyAfterCommit implements CommitNotifier.
func (s *Savepoint) NotifyAfterCommit() { s.notify = true }

// Finish implements Backend. A commit releases the savepoint, then restores the settings and
// notifies, in one Exec. A rollback runs ROLLBACK TO SAVEPOINT, then RELEASE SAVEPOINT, one
// statement at a time: in a PostgreSQL transaction that a failed statement aborted, nothing but
// the first is accepted (not even preparing the second), until it ran.
func (s *Savepoint) Finish(ctx context.Context, commit bool) error {
	if commit {
		stmts := append([]Stmt{{SQL: "RELEASE SAVEPOINT " + s.Name}}, s.Restore...)
		if s.notify && s.Notify != nil {
			stmts = append(stmts, *s.Notify)
		}
		_, err := s.C.Exec(ctx, stmts)
		return unwrapExec(err)
	}
	for _, q := range []string{"ROLLBACK TO SAVEPOINT ", "RELEASE SAVEPOINT "} {
		if _, err := s.C.Exec(ctx, []Stmt{{SQL: q + s.Name}}); err != nil {
			return unwrapExec(err)
		}
	}
	return nil
}

// unwrapExec returns the statement's own error of an *ExecError.
func unwrapExec(err error) error {
	if ee, ok := err.(*ExecError); ok {
		return ee.Err
	}
	return err
}

// JoinSQL returns a Tx running inside native, which must be a non-nil *sql.Tx (else an error
// wrapping driver.ErrInvalid), in a savepoint it opens there: the driver.Joiner of the drivers
// on database/sql. classify translates the error of opening the savepoint; pause, if set, is the
// Tx's BeforeCommit.
func JoinSQL(ctx context.Context, native any, d *Dialect, t Tables, classify func(error) error, pause func(context.Context, *driver.Changes)) (*Tx, error) {
	stx, ok := native.(*sql.Tx)
	if !ok || stx == nil {
		return nil, fmt.Errorf("join: %w: want a *sql.Tx, got %T", driver.ErrInvalid, native)
	}
	sp := &Savepoint{C: SQLConn{Q: stx}, Handle: stx, Name: SavepointName()}
	if err := OpenSavepoint(ctx, sp); err != nil {
		return nil, fmt.Errorf("join: %w", classify(err))
	}
	tx := NewTx(sp, d, t)
	tx.BeforeCommit = pause
	return tx, nil
}

package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dddkit/ddd/internal/jsonmatch"
	"github.com/dddkit/ddd/uow/driver"
)

// Tx is the driver.Tx of the SQL drivers: the statements of package uow's contract over a
// Backend and a Dialect. It implements driver.Tx, driver.Querier, driver.KeyLocker and driver.InboxReader.
// A Tx is used by one goroutine.
type Tx struct {
	b    Backend
	d    *Dialect
	t    Tables
	done bool
	// BeforeCommit, if set, is called by Commit after every statement of the commit ran and
	// before the transaction commits: the drivers' tests hold a commit there (a test seam, set
	// only by their tests).
	BeforeCommit func(ctx context.Context, c *driver.Changes)
}

var (
	_ driver.Tx          = (*Tx)(nil)
	_ driver.Querier     = (*Tx)(nil)
	_ driver.KeyLocker   = (*Tx)(nil)
	_ driver.InboxReader = (*Tx)(nil)
)

// NewTx returns the transaction over b.
func NewTx(b Backend, d *Dialect, t Tables) *Tx { return &Tx{b: b, d: d, t: t} }

func (tx *Tx) conn(ctx context.Context, write bool) (Conn, error) {
	if tx.done {
		return nil, driver.ErrTxDone
	}
	c, err := tx.b.Conn(ctx, write)
	if err != nil {
		return nil, tx.classify(err)
	}
	return c, nil
}

// classify translates a backend error, keeping context errors recognisable.
func (tx *Tx) classify(err error) error {
	if err == nil {
		return nil
	}
	return tx.d.Classify(err)
}

// params returns n bind parameters starting at first, comma-separated.
func (tx *Tx) params(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tx.d.Param(first + i))
	}
	return b.String()
}

// Load implements driver.Tx.
func (tx *Tx) Load(ctx context.Context, kind string, ids []string, lock driver.Lock) ([]driver.Record, error) {
	if lock != driver.Optimistic && lock != driver.ForUpdate {
		return nil, fmt.Errorf("%w: lock mode %d", driver.ErrInvalid, lock)
	}
	c, err := tx.conn(ctx, lock == driver.ForUpdate)
	if err != nil {
		return nil, err
	}
	var out []driver.Record
	// Chunks keep each statement under the backend's parameter limit.
	for len(ids) > 0 {
		n := min(len(ids), tx.d.MaxParams-1)
		chunk := ids[:n]
		ids = ids[n:]
		q := "SELECT id, version, data FROM " + tx.t.Aggregate + " WHERE kind = " + tx.d.Param(1) +
			" AND id IN (" + tx.params(2, len(chunk)) + ") ORDER BY id"
		if lock == driver.ForUpdate {
			q += tx.d.ForUpdate
		}
		args := make([]any, 0, len(chunk)+1)
		args = append(args, kind)
		for _, id := range chunk {
			args = append(args, id)
		}
		if err := c.Query(ctx, q, args, scanRecords(kind, &out)); err != nil {
			return nil, fmt.Errorf("%s: load %s: %w", tx.d.Name, kind, tx.classify(err))
		}
	}
	return out, nil
}

func scanRecords(kind string, out *[]driver.Record) func(func(...any) error) error {
	return func(scan func(...any) error) error {
		r := driver.Record{Kind: kind}
		var data []byte
		if err := scan(&r.ID, &r.Version, &data); err != nil {
			return err
		}
		r.Data = append([]byte(nil), data...)
		*out = append(*out, r)
		return nil
	}
}

// Find implements driver.Querier: SQL narrows by the string conditions, jsonmatch decides.
func (tx *Tx) Find(ctx context.Context, kind string, where []driver.Field) ([]driver.Record, error) {
	filter, err := jsonmatch.Parse(where)
	if err != nil {
		return nil, err
	}
	c, err := tx.conn(ctx, false)
	if err != nil {
		return nil, err
	}
	q := "SELECT id, version, data FROM " + tx.t.Aggregate + " WHERE kind = " + tx.d.Param(1)
	args := []any{kind}
	for _, f := range filter.Strings() {
		if len(args)+2 > tx.d.MaxParams {
			break // the rest is left to Match
		}
		q += " AND " + tx.d.FieldText(tx.d.Param(len(args)+1)) + " = " + tx.d.Param(len(args)+2)
		args = append(args, tx.d.FieldPath(f.Name), f.Value)
	}
	q += " ORDER BY id"
	var recs []driver.Record
	if err := c.Query(ctx, q, args, scanRecords(kind, &recs)); err != nil {
		return nil, fmt.Errorf("%s: find %s: %w", tx.d.Name, kind, tx.classify(err))
	}
	out := recs[:0]
	for _, r := range recs {
		if filter.Match(r.Data) {
			out = append(out, r)
		}
	}
	return out, nil
}

// Processed implements driver.InboxReader.
func (tx *Tx) Processed(ctx context.Context, consumer, messageID string) (bool, error) {
	c, err := tx.conn(ctx, false)
	if err != nil {
		return false, err
	}
	found := false
	q := "SELECT 1 FROM " + tx.t.Inbox + " WHERE consumer = " + tx.d.Param(1) + " AND message_id = " + tx.d.Param(2)
	err = c.Query(ctx, q, []any{consumer, messageID}, func(scan func(...any) error) error {
		found = true
		var one int
		return scan(&one)
	})
	if err != nil {
		return false, fmt.Errorf("%s: inbox: %w", tx.d.Name, tx.classify(err))
	}
	return found, nil
}

// LockKeys implements driver.KeyLocker.
func (tx *Tx) LockKeys(ctx context.Context, keys []string) error {
	c, err := tx.conn(ctx, true)
	if err != nil {
		return err
	}
	if err := tx.d.LockKeys(ctx, c, keys); err != nil {
		return fmt.Errorf("%s: lock keys: %w", tx.d.Name, tx.classify(err))
	}
	return nil
}

// Native implements driver.Tx: the backend's handle, in the write transaction.
func (tx *Tx) Native() any {
	if tx.done {
		return nil
	}
	n, err := tx.b.Native(context.Background())
	if err != nil {
		return nil
	}
	return n
}

// NativeContext is Native with a context and the error of beginning the write transaction.
func (tx *Tx) NativeContext(ctx context.Context) (any, error) {
	if tx.done {
		return nil, driver.ErrTxDone
	}
	n, err := tx.b.Native(ctx)
	return n, tx.classify(err)
}

// Rollback implements driver.Tx.
func (tx *Tx) Rollback(ctx context.Context) error {
	if tx.done {
		return nil
	}
	tx.done = true
	return tx.classify(tx.b.Finish(ctx, false))
}

// stmtKind says how a commit statement's outcome is checked.
type stmtKind int

const (
	insertRecord stmtKind = iota // a unique violation is a duplicate
	casRecord                    // must affect exactly one row, else a conflict
	insertMarks                  // a unique violation is a conflict
	plain                        // messages
)

// Commit implements driver.Tx.
func (tx *Tx) Commit(ctx context.Context, ch *driver.Changes) (err error) {
	if tx.done {
		return driver.ErrTxDone
	}
	defer func() {
		if err != nil && !tx.done {
			tx.done = true
			err = tx.undo(context.WithoutCancel(ctx), err)
		}
	}()
	c, err := tx.conn(ctx, true)
	if err != nil {
		return err
	}
	stmts, kinds, err := tx.commitStmts(ch)
	if err != nil {
		return err
	}
	if len(stmts) > 0 {
		affected, err := c.Exec(ctx, stmts)
		if err != nil {
			return tx.execError(err, ch, kinds)
		}
		for i, k := range kinds {
			if k == casRecord && affected[i] != 1 {
				w := ch.Writes[i]
				return fmt.Errorf("%w: %s %s %q is no longer at version %d", driver.ErrConflict, opName(w.Op), w.Record.Kind, w.Record.ID, w.Record.Version)
			}
		}
	}
	if tx.BeforeCommit != nil {
		tx.BeforeCommit(ctx, ch)
	}
	if n, ok := tx.b.(CommitNotifier); ok && len(ch.Messages) > 0 {
		n.NotifyAfterCommit()
	}
	tx.done = true
	if err := tx.b.Finish(ctx, true); err != nil {
		return fmt.Errorf("%s: commit: %w", tx.d.Name, tx.classify(err))
	}
	return nil
}

// undo rolls back the transaction of a commit that failed with err. A joined transaction's
// rollback undoes the commit in the caller's transaction: when that fails (the backend ended the
// caller's transaction itself, as InnoDB does to a deadlock's victim), the caller must know.
func (tx *Tx) undo(ctx context.Context, err error) error {
	ferr := tx.b.Finish(ctx, false)
	if _, joined := tx.b.(*Savepoint); joined && ferr != nil {
		return fmt.Errorf("%w; undoing the commit in your transaction failed too, roll it back: %w", err, tx.classify(ferr))
	}
	return err
}

func opName(op driver.Op) string {
	switch op {
	case driver.Insert:
		return "insert"
	case driver.Update:
		return "update"
	case driver.Delete:
		return "delete"
	}
	return fmt.Sprintf("op %d", op)
}

// execError turns the error of a commit statement into the contract's error.
func (tx *Tx) execError(err error, ch *driver.Changes, kinds []stmtKind) error {
	var ee *ExecError
	cerr := tx.classify(err)
	if !errors.As(err, &ee) || ee.Index >= len(kinds) {
		return fmt.Errorf("%s: commit: %w", tx.d.Name, cerr)
	}
	if !errors.Is(cerr, driver.ErrDuplicate) {
		return fmt.Errorf("%s: commit: %w", tx.d.Name, cerr)
	}
	switch kinds[ee.Index] {
	case insertRecord:
		w := ch.Writes[ee.Index]
		return fmt.Errorf("%w: %s %q exists", driver.ErrDuplicate, w.Record.Kind, w.Record.ID)
	case insertMarks:
		return fmt.Errorf("%w: a message of this commit is already marked processed: %v", driver.ErrConflict, cerr)
	}
	// A message ID the outbox holds: not a record's duplicate, nor a race a retry would win.
	return fmt.Errorf("%s: commit: a message of this commit has the ID of one in the outbox: %v", tx.d.Name, cerr)
}

// commitStmts builds the statements of a commit: one per record write (kinds[i] belongs to
// ch.Writes[i]), the lock of the messages' keys (Dialect.LockOutboxKeys), then the messages and
// inbox marks in multi-row inserts.
func (tx *Tx) commitStmts(ch *driver.Changes) ([]Stmt, []stmtKind, error) {
	var stmts []Stmt
	var kinds []stmtKind
	p := tx.d.Param
	for _, w := range ch.Writes {
		r := w.Record
		switch w.Op {
		case driver.Insert:
			stmts = append(stmts, Stmt{
				SQL:  "INSERT INTO " + tx.t.Aggregate + " (kind, id, version, data) VALUES (" + tx.params(1, 4) + ")",
				Args: []any{r.Kind, r.ID, int64(1), string(r.Data)},
			})
			kinds = append(kinds, insertRecord)
		case driver.Update:
			stmts = append(stmts, Stmt{
				SQL: "UPDATE " + tx.t.Aggregate + " SET data = " + p(1) + ", version = version + 1 WHERE kind = " + p(2) +
					" AND id = " + p(3) + " AND version = " + p(4),
				Args: []any{string(r.Data), r.Kind, r.ID, r.Version},
			})
			kinds = append(kinds, casRecord)
		case driver.Delete:
			stmts = append(stmts, Stmt{
				SQL:  "DELETE FROM " + tx.t.Aggregate + " WHERE kind = " + p(1) + " AND id = " + p(2) + " AND version = " + p(3),
				Args: []any{r.Kind, r.ID, r.Version},
			})
			kinds = append(kinds, casRecord)
		default:
			return nil, nil, fmt.Errorf("%w: write op %d", driver.ErrInvalid, w.Op)
		}
	}
	if tx.d.LockOutboxKeys != nil && len(ch.Messages) > 0 {
		stmts = append(stmts, tx.d.LockOutboxKeys(messageKeys(ch.Messages)))
		kinds = append(kinds, plain)
	}
	msgRows := make([][]any, len(ch.Messages))
	for i, m := range ch.Messages {
		headers, err := json.Marshal(m.Headers)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: headers of message %s: %v", driver.ErrInvalid, m.ID, err)
		}
		var payload any
		if len(m.Payload) > 0 {
			payload = string(m.Payload)
		}
		var after any
		if !m.DeliverAfter.IsZero() {
			after = m.DeliverAfter.UnixMicro()
		}
		msgRows[i] = []any{m.ID, m.Topic, m.Key, m.Name, payload, string(headers), m.CreatedAt.UnixMicro(), after}
	}
	for _, st := range tx.insertRows(tx.t.Outbox, "id, topic, msg_key, name, payload, headers, created_at, deliver_after", msgRows) {
		stmts = append(stmts, st)
		kinds = append(kinds, plain)
	}
	markRows := make([][]any, len(ch.Inbox))
	for i, m := range ch.Inbox {
		markRows[i] = []any{m.Consumer, m.MessageID, m.At.UnixMicro()}
	}
	for _, st := range tx.insertRows(tx.t.Inbox, "consumer, message_id, processed_at", markRows) {
		stmts = append(stmts, st)
		kinds = append(kinds, insertMarks)
	}
	return stmts, kinds, nil
}

// messageKeys returns the keys of msgs, sorted, without duplicates.
func messageKeys(msgs []driver.Message) []string {
	keys := make([]string, len(msgs))
	for i, m := range msgs {
		keys[i] = m.Key
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// insertRows returns multi-row INSERT statements of rows (all of one width) into table, as many
// rows per statement as the dialect's parameter limit allows.
func (tx *Tx) insertRows(table, columns string, rows [][]any) []Stmt {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	var out []Stmt
	for len(rows) > 0 {
		n := max(min(len(rows), tx.d.MaxParams/width), 1)
		chunk := rows[:n]
		rows = rows[n:]
		var sql strings.Builder
		sql.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
		args := make([]any, 0, n*width)
		for i, r := range chunk {
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(" + tx.params(len(args)+1, width) + ")")
			args = append(args, r...)
		}
		out = append(out, Stmt{SQL: sql.String(), Args: args})
	}
	return out
}

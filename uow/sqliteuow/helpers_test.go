package sqliteuow_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

type counterID string

// counter is the JSON-document aggregate of these tests.
type counter struct {
	aggregate.Root[counterID]
	N int `json:"n"`
}

func (*counter) AggregateType() string { return "counter" }

type incremented struct {
	N int `json:"n"`
}

func (incremented) EventName() string { return "test.incremented" }

func newCounter(t testing.TB, id counterID) *counter {
	t.Helper()
	root, err := aggregate.NewRoot(id)
	require.NoError(t, err)
	return &counter{Root: root}
}

func (c *counter) Inc() {
	c.N++
	c.Record(incremented{N: c.N})
}

// seed commits counters at N = 0.
func seed(t testing.TB, s *uow.Store, ids ...counterID) {
	t.Helper()
	require.NoError(t, uow.Do(t.Context(), s, func(ctx context.Context, u *uow.Unit) error {
		for _, id := range ids {
			if err := uow.Repo[counter, counterID](u).Add(ctx, newCounter(t, id)); err != nil {
				return err
			}
		}
		return nil
	}, nil))
}

// state returns a counter's committed N and version.
func state(t testing.TB, s *uow.Store, id counterID) (int, int64) {
	t.Helper()
	u, err := s.Begin(t.Context())
	require.NoError(t, err)
	defer func() { _ = u.Rollback(context.Background()) }()
	c, err := uow.Repo[counter, counterID](u).Get(t.Context(), id)
	require.NoError(t, err)
	return c.N, c.Version()
}

// increment is a Do function adding one to counter id, loaded optimistically.
func increment(id counterID) func(context.Context, *uow.Unit) error {
	return func(ctx context.Context, u *uow.Unit) error {
		c, err := uow.Repo[counter, counterID](u).Get(ctx, id)
		if err != nil {
			return err
		}
		c.Inc()
		return nil
	}
}

// recorder is a Driver that records every error its transactions return, so that tests see
// the errors of the attempts uow.Do retries, not only the last.
type recorder struct {
	*sqliteuow.Driver
	mu   sync.Mutex
	errs []error
}

func (r *recorder) note(err error) error {
	if err != nil {
		r.mu.Lock()
		r.errs = append(r.errs, err)
		r.mu.Unlock()
	}
	return err
}

func (r *recorder) Begin(ctx context.Context) (driver.Tx, error) {
	tx, err := r.Driver.Begin(ctx)
	if err != nil {
		return nil, r.note(err)
	}
	return &recordingTx{Tx: tx.(*sqliteuow.Tx), r: r}, nil
}

// errors returns the recorded errors.
func (r *recorder) errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

type recordingTx struct {
	*sqliteuow.Tx
	r *recorder
}

func (t *recordingTx) Load(ctx context.Context, kind string, ids []string, lock uow.Lock) ([]driver.Record, error) {
	recs, err := t.Tx.Load(ctx, kind, ids, lock)
	return recs, t.r.note(err)
}

func (t *recordingTx) Commit(ctx context.Context, c *driver.Changes) error {
	return t.r.note(t.Tx.Commit(ctx, c))
}

func (t *recordingTx) Rollback(ctx context.Context) error { return t.r.note(t.Tx.Rollback(ctx)) }

func (t *recordingTx) LockKeys(ctx context.Context, keys []string) error {
	return t.r.note(t.Tx.LockKeys(ctx, keys))
}

// requireNoBusy fails the test if an error mentions a locked database or holds SQLite's
// SQLITE_BUSY or SQLITE_LOCKED: writers must have waited for each other instead.
func requireNoBusy(t testing.TB, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err == nil {
			continue
		}
		require.NotContains(t, err.Error(), "database is locked")
		require.NotContains(t, strings.ToLower(err.Error()), "sqlite_busy")
		var se *sqlite.Error
		if errors.As(err, &se) {
			code := se.Code() & 0xff
			require.False(t, code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED, "SQLite error %v", err)
		}
	}
}

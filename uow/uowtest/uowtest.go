package uowtest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// maxPending is the limit Messages passes to Pending: more messages than a test commits.
const maxPending = 1<<31 - 1

// Messages returns every message in d's outbox (committed and not acknowledged, parked ones
// included), in commit order, read with [driver.Operator].Pending: the outbox as a test sees it,
// on any driver. An error fails the test at once (t.Fatalf), so the result is never a silent
// nil. It reads with t's context.
func Messages(t testing.TB, d driver.Operator) []uow.Message {
	t.Helper()
	pending, err := d.Pending(t.Context(), maxPending)
	if err != nil {
		t.Fatalf("uowtest: reading the outbox: %v", err)
	}
	msgs := make([]uow.Message, len(pending))
	for i, c := range pending {
		msgs[i] = c.Message
	}
	return msgs
}

// Run checks the driver returned by newDriver against every clause of the driver contract,
// each in a parallel subtest of t named after the clause. newDriver is called once per clause,
// with the subtest's t, and must return a fresh, empty driver; it may register cleanups on t.
// See the package documentation for what the driver must implement.
func Run(t *testing.T, newDriver func(t *testing.T) driver.Driver) {
	t.Helper()
	for _, c := range clauses {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, func(testing.TB) driver.Driver { return newDriver(t) })
		})
	}
}

// clause is one clause of the contract. run gets the testing.TB to report to and a way to make
// a fresh driver, so the suite's own tests can run a clause against a recording testing.TB.
type clause struct {
	name string
	run  func(t testing.TB, newDriver func(testing.TB) driver.Driver)
}

// clauses is the suite, in the order Run starts them.
var clauses = []clause{
	{"TxRecords", testTxRecords},
	{"TxEnd", testTxEnd},
	{"RoundTrip", testRoundTrip},
	{"ReadCommitted", testReadCommitted},
	{"IdentityMap", testIdentityMap},
	{"NotFound", testNotFound},
	{"Duplicate", testDuplicate},
	{"GetOrAdd", testGetOrAdd},
	{"Remove", testRemove},
	{"Conflict", testConflict},
	{"UnchangedNotWritten", testUnchangedNotWritten},
	{"CommitAtomicity", testCommitAtomicity},
	{"Rollback", testRollback},
	{"UnitDone", testUnitDone},
	{"DoRetriesConflicts", testDoRetriesConflicts},
	{"DoDoesNotRetry", testDoDoesNotRetry},
	{"DoPanic", testDoPanic},
	{"DoContext", testDoContext},
	{"Pessimistic", testPessimistic},
	{"KeyedLocks", testKeyedLocks},
	{"Inbox", testInbox},
	{"InboxPurge", testInboxPurge},
	{"Events", testEvents},
	{"OutboxVisibility", testOutboxVisibility},
	{"Find", testFind},
	{"Join", testJoin},
	{"JoinRollback", testJoinRollback},
	{"JoinFailure", testJoinFailure},
	{"JoinLocks", testJoinLocks},
	{"Stress", testStress},
	{"MixedStrategies", testMixedStrategies},
	{"OutboxClaim", testOutboxClaim},
	{"OutboxAck", testOutboxAck},
	{"OutboxRelease", testOutboxRelease},
	{"OutboxPark", testOutboxPark},
	{"OutboxDelayed", testOutboxDelayed},
	{"OutboxPerKeyOrder", testOutboxPerKeyOrder},
	{"OutboxCommitOrder", testOutboxCommitOrder},
	{"OutboxConcurrentRelays", testOutboxConcurrentRelays},
	{"OutboxLeaseExpiry", testOutboxLeaseExpiry},
	{"OutboxOldestDue", testOutboxOldestDue},
	{"OutboxPending", testOutboxPending},
	{"OutboxHold", testOutboxHold},
	{"OutboxHoldConcurrentRelays", testOutboxHoldConcurrentRelays},
	{"OutboxHoldExpiry", testOutboxHoldExpiry},
}

// Waits of the clauses about blocking.
const (
	// blockedFor is how long a unit that must wait is watched for not returning.
	blockedFor = 50 * time.Millisecond
	// returnsWithin bounds how long a unit that must return (or proceed) may take.
	returnsWithin = 10 * time.Second
)

// env is one clause's driver with a store over it, whose clock is a fake one.
type env struct {
	t     testing.TB
	ctx   context.Context
	d     driver.Driver
	clock *fakeClock
	store *uow.Store
}

// start returns a fresh driver and a store over it with a fake clock.
func start(t testing.TB, newDriver func(testing.TB) driver.Driver) *env {
	t.Helper()
	d := newDriver(t)
	if d == nil {
		t.Fatalf("newDriver returned nil")
	}
	clock := newFakeClock()
	return &env{
		t:     t,
		ctx:   t.Context(),
		d:     d,
		clock: clock,
		store: uow.NewStore(d, &uow.Options{Clock: clock}),
	}
}

// begin starts a unit that is rolled back when the test ends unless it ended before. Only the
// test's goroutine calls it: other goroutines begin and end units of their own.
func (e *env) begin() *uow.Unit {
	e.t.Helper()
	u, err := e.store.Begin(e.ctx)
	if err != nil {
		e.t.Fatalf("Store.Begin: %v", err)
	}
	e.t.Cleanup(func() { _ = u.Rollback(context.Background()) })
	return u
}

// commit commits u and fails the test if that fails.
func (e *env) commit(u *uow.Unit, what string) {
	e.t.Helper()
	if err := u.Commit(e.ctx); err != nil {
		e.t.Fatalf("%s: Commit: %v", what, err)
	}
}

// rollback rolls u back and fails the test if that fails.
func (e *env) rollback(u *uow.Unit) {
	e.t.Helper()
	if err := u.Rollback(e.ctx); err != nil {
		e.t.Fatalf("Rollback: %v", err)
	}
}

// seed commits new counters with the given IDs, at N = 0 and version 1, recording no events.
func (e *env) seed(ids ...string) {
	e.t.Helper()
	u := e.begin()
	for _, id := range ids {
		if err := uow.Repo[counter, counterID](u).Add(e.ctx, newCounter(e.t, id)); err != nil {
			e.t.Fatalf("seeding counter %s: Add: %v", id, err)
		}
	}
	e.commit(u, "seeding counters")
}

// get loads a counter in u and fails the test if that fails.
func (e *env) get(u *uow.Unit, id string) *counter {
	e.t.Helper()
	c, err := uow.Repo[counter, counterID](u).Get(e.ctx, counterID(id))
	if err != nil {
		e.t.Fatalf("Get counter %s: %v", id, err)
	}
	return c
}

// add adds a new counter in u and fails the test if that fails.
func (e *env) add(u *uow.Unit, id string, n int) *counter {
	e.t.Helper()
	c := newCounter(e.t, id)
	c.N = n
	if err := uow.Repo[counter, counterID](u).Add(e.ctx, c); err != nil {
		e.t.Fatalf("Add counter %s: %v", id, err)
	}
	return c
}

// state reads a counter's committed state in a fresh unit; ok is false when it does not exist.
func (e *env) state(id string) (n int, version int64, ok bool) {
	e.t.Helper()
	u := e.begin()
	defer e.rollback(u)
	c, err := uow.Repo[counter, counterID](u).Get(e.ctx, counterID(id))
	if errors.Is(err, uow.ErrNotFound) {
		return 0, 0, false
	}
	if err != nil {
		e.t.Fatalf("reading counter %s in a fresh unit: %v", id, err)
	}
	return c.N, c.Version(), true
}

// wantState checks a counter's committed state, read in a fresh unit.
func (e *env) wantState(id string, n int, version int64, why string) {
	e.t.Helper()
	gotN, gotV, ok := e.state(id)
	switch {
	case !ok:
		e.t.Errorf("%s: counter %s is not stored, want N=%d at version %d", why, id, n, version)
	case gotN != n || gotV != version:
		e.t.Errorf("%s: counter %s is N=%d at version %d, want N=%d at version %d", why, id, gotN, gotV, n, version)
	}
}

// wantGone checks that a counter is not stored.
func (e *env) wantGone(id string, why string) {
	e.t.Helper()
	if n, v, ok := e.state(id); ok {
		e.t.Errorf("%s: counter %s is stored (N=%d, version %d), want none", why, id, n, v)
	}
}

// messages returns the committed outbox messages; a driver that is not a driver.Operator fails
// the test.
func (e *env) messages() []uow.Message {
	e.t.Helper()
	return Messages(e.t, e.operator())
}

// txCaps reports which optional interfaces the driver's transactions implement.
type txCaps struct {
	querier, keyLocker, inbox bool
}

func (e *env) caps() txCaps {
	e.t.Helper()
	tx, err := e.d.Begin(e.ctx)
	if err != nil {
		e.t.Fatalf("Driver.Begin: %v", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	_, q := tx.(driver.Querier)
	_, k := tx.(driver.KeyLocker)
	_, i := tx.(driver.InboxReader)
	return txCaps{querier: q, keyLocker: k, inbox: i}
}

// requireInbox skips the test when the driver keeps no inbox.
func (e *env) requireInbox() {
	e.t.Helper()
	if !e.caps().inbox {
		e.t.Skipf("the driver's Tx does not implement driver.InboxReader: no inbox to check")
	}
}

// processed reports, in a fresh unit, whether the inbox mark (consumer, messageID) is committed.
func (e *env) processed(consumer, messageID string) bool {
	e.t.Helper()
	u := e.begin()
	defer e.rollback(u)
	already, err := u.MarkProcessed(e.ctx, consumer, messageID)
	if err != nil {
		e.t.Fatalf("MarkProcessed(%q, %q) in a fresh unit: %v", consumer, messageID, err)
	}
	return already
}

// wantErr reports whether err wraps target, failing the test (not stopping it) if it does not.
func wantErr(t testing.TB, err, target error, what string) bool {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %q", what, err, target)
		return false
	}
	return true
}

// noErr reports whether err is nil, failing the test (not stopping it) if it is not.
func noErr(t testing.TB, err error, what string) bool {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return false
	}
	return true
}

// async runs fn in a new goroutine; the channel receives its result. fn must not use the test's
// units nor call t.Fatal: it begins and ends units of its own.
func async(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}

// wait waits up to d for a result on ch.
func wait(ch <-chan error, d time.Duration) (err error, returned bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case err := <-ch:
		return err, true
	case <-timer.C:
		return nil, false
	}
}

// await waits for a result on ch that must come, failing the test if it does not come within
// returnsWithin.
func await(t testing.TB, ch <-chan error, what string) error {
	t.Helper()
	err, ok := wait(ch, returnsWithin)
	if !ok {
		t.Fatalf("%s: did not return within %v", what, returnsWithin)
	}
	return err
}

// jsonEqual reports whether two JSON texts hold equal values (drivers may reformat documents).
func jsonEqual(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// ids returns the IDs of aggregates.
func ids[T interface{ AggregateID() string }](as []T) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.AggregateID()
	}
	return out
}

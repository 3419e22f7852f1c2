package uowtest

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// TestMemuow is where memuow passes the suite.
func TestMemuow(t *testing.T) {
	Run(t, func(*testing.T) driver.Driver { return memuow.New(nil) })
}

func TestClauseNames(t *testing.T) {
	seen := make(map[string]bool)
	for _, c := range clauses {
		require.NotEmpty(t, c.name)
		require.NotContains(t, c.name, " ", "subtest names carry no spaces")
		require.False(t, seen[c.name], "clause %s twice", c.name)
		require.NotNil(t, c.run, c.name)
		seen[c.name] = true
	}
}

// --- A testing.TB that records failures ---

// fakeTB records failures and skips. Fatal, FailNow and Skip stop the calling goroutine like
// testing.T's do, so clauses run in a goroutine of their own (see runClause). Cleanups run when
// the clause ends. Other methods (Context, Name, Logf ...) are the real test's.
type fakeTB struct {
	testing.TB

	mu       sync.Mutex
	failures []string
	skipped  string
	cleanups []func()
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) fail(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, msg)
}

func (f *fakeTB) Errorf(format string, args ...any) { f.fail(fmt.Sprintf(format, args...)) }
func (f *fakeTB) Error(args ...any)                 { f.fail(fmt.Sprint(args...)) }
func (f *fakeTB) Fail()                             { f.fail("Fail") }

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fail("fatal: " + fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) {
	f.fail("fatal: " + fmt.Sprint(args...))
	runtime.Goexit()
}

func (f *fakeTB) FailNow() {
	f.fail("FailNow")
	runtime.Goexit()
}

func (f *fakeTB) Failed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.failures) > 0
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Skip(args ...any) { f.Skipf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) SkipNow()         { f.Skipf("SkipNow") }

func (f *fakeTB) Skipped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.skipped != ""
}

func (f *fakeTB) Cleanup(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cleanups = append(f.cleanups, fn)
}

// runClause runs the clause named name against newDriver, reporting to a fakeTB, and returns it
// once the clause and its cleanups are done.
func runClause(t *testing.T, name string, newDriver func() driver.Driver) *fakeTB {
	t.Helper()
	i := slices.IndexFunc(clauses, func(c clause) bool { return c.name == name })
	require.GreaterOrEqual(t, i, 0, "no clause %s", name)
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		clauses[i].run(f, func(testing.TB) driver.Driver { return newDriver() })
	}()
	<-done
	for _, fn := range slices.Backward(f.cleanups) {
		fn()
	}
	return f
}

func TestFakeTB(t *testing.T) {
	f := &fakeTB{TB: t}
	reached := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.Errorf("first %d", 1)
		f.Fatalf("stop %s", "here")
		reached = true
	}()
	<-done
	assert.False(t, reached, "Fatalf must stop the goroutine")
	assert.Equal(t, []string{"first 1", "fatal: stop here"}, f.failures)
	assert.True(t, f.Failed())
}

// --- Broken drivers: the suite must catch them ---

// breakage is one way a driver can break the contract.
type breakage int

const (
	intact breakage = iota
	// noVersionCheck makes updates and deletes expect whatever version is stored: the
	// compare-and-set never fails, so concurrent updates are lost.
	noVersionCheck
	// dropMessages commits no outbox message.
	dropMessages
	// noRowLocks makes ForUpdate loads take no lock.
	noRowLocks
	// halfCommit commits each write in a transaction of its own: a failing commit keeps the
	// writes before the failing one.
	halfCommit
	// inboxNoConflict silently drops inbox marks that already exist instead of failing.
	inboxNoConflict
	// findFirstFieldOnly ignores every filter field but the first.
	findFirstFieldOnly
	// claimPastHeads makes Claim return, besides the key heads, the message after each head:
	// per-key order is lost.
	claimPastHeads
	// halfLease makes Claim lease messages for half the time asked.
	halfLease
	// oneOwner makes Claim, Ack and Release take every owner for one: relays take each other's
	// messages.
	oneOwner
	// pendingUnparked makes Pending leave out the parked messages.
	pendingUnparked
	// insertOverwrites makes an insert of a stored ID overwrite it (an upsert) instead of
	// failing with ErrDuplicate: a lost race to add an ID goes unnoticed.
	insertOverwrites
)

func (b breakage) String() string {
	return [...]string{"intact", "noVersionCheck", "dropMessages", "noRowLocks", "halfCommit",
		"inboxNoConflict", "findFirstFieldOnly", "claimPastHeads", "halfLease", "oneOwner", "pendingUnparked", "insertOverwrites"}[b]
}

// brokenDriver is memuow with one breakage.
type brokenDriver struct {
	*memuow.Driver
	breakage breakage
}

func (d *brokenDriver) Begin(ctx context.Context) (driver.Tx, error) {
	tx, err := d.Driver.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &brokenTx{Tx: tx.(*memuow.Tx), d: d}, nil
}

type brokenTx struct {
	*memuow.Tx
	d *brokenDriver
}

var (
	_ driver.Driver      = (*brokenDriver)(nil)
	_ driver.InboxPurger = (*brokenDriver)(nil)
	_ driver.Outbox      = (*brokenDriver)(nil)
	_ driver.Operator    = (*brokenDriver)(nil)
	_ driver.Querier     = (*brokenTx)(nil)
	_ driver.KeyLocker   = (*brokenTx)(nil)
	_ driver.InboxReader = (*brokenTx)(nil)
)

func (d *brokenDriver) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]driver.Claimed, error) {
	switch d.breakage {
	case halfLease:
		lease /= 2
	case oneOwner:
		if owner != "" {
			owner = "owner"
		}
	case claimPastHeads:
		// memuow's Claim takes the heads; claiming again takes what follows the ones now
		// leased to owner.
		heads, err := d.Driver.Claim(ctx, owner, now, lease, limit)
		if err != nil {
			return nil, err
		}
		more, err := d.Driver.Claim(ctx, owner, now, lease, limit)
		if err != nil {
			return nil, err
		}
		for _, c := range more {
			if !slices.ContainsFunc(heads, func(h driver.Claimed) bool { return h.ID == c.ID }) {
				heads = append(heads, c)
			}
		}
		return heads, nil
	}
	return d.Driver.Claim(ctx, owner, now, lease, limit)
}

func (d *brokenDriver) Pending(ctx context.Context, limit int) ([]driver.Claimed, error) {
	pending, err := d.Driver.Pending(ctx, limit)
	if err != nil || d.breakage != pendingUnparked {
		return pending, err
	}
	parked, err := d.Driver.Parked(ctx, limit)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(pending, func(c driver.Claimed) bool {
		return slices.ContainsFunc(parked, func(p driver.Parked) bool { return p.ID == c.ID })
	}), nil
}

func (d *brokenDriver) Ack(ctx context.Context, owner string, ids []string) error {
	if d.breakage == oneOwner && owner != "" {
		owner = "owner"
	}
	return d.Driver.Ack(ctx, owner, ids)
}

func (d *brokenDriver) Release(ctx context.Context, owner string, fs []driver.Failure) error {
	if d.breakage == oneOwner && owner != "" {
		owner = "owner"
	}
	return d.Driver.Release(ctx, owner, fs)
}

func (tx *brokenTx) Load(ctx context.Context, kind string, ids []string, lock uow.Lock) ([]driver.Record, error) {
	if tx.d.breakage == noRowLocks {
		lock = uow.Optimistic
	}
	return tx.Tx.Load(ctx, kind, ids, lock)
}

func (tx *brokenTx) Find(ctx context.Context, kind string, where []uow.Field) ([]driver.Record, error) {
	if tx.d.breakage == findFirstFieldOnly {
		where = where[:min(1, len(where))]
	}
	return tx.Tx.Find(ctx, kind, where)
}

func (tx *brokenTx) Commit(ctx context.Context, c *driver.Changes) error {
	if c == nil {
		c = &driver.Changes{}
	}
	broken := *c
	switch tx.d.breakage {
	case noVersionCheck:
		broken.Writes = slices.Clone(c.Writes)
		for i, w := range broken.Writes {
			if r, ok := tx.d.Get(w.Record.Kind, w.Record.ID); ok && w.Op != driver.Insert {
				broken.Writes[i].Record.Version = r.Version
			}
		}
	case insertOverwrites:
		broken.Writes = slices.Clone(c.Writes)
		for i, w := range broken.Writes {
			if r, ok := tx.d.Get(w.Record.Kind, w.Record.ID); ok && w.Op == driver.Insert {
				broken.Writes[i].Op, broken.Writes[i].Record.Version = driver.Update, r.Version
			}
		}
	case dropMessages:
		broken.Messages = nil
	case halfCommit:
		for _, w := range c.Writes {
			single, err := tx.d.Driver.Begin(ctx)
			if err != nil {
				return err
			}
			if err := single.Commit(ctx, &driver.Changes{Writes: []driver.Write{w}}); err != nil {
				_ = tx.Tx.Rollback(ctx)
				return err
			}
		}
		broken.Writes = nil
	case inboxNoConflict:
		broken.Inbox = slices.DeleteFunc(slices.Clone(c.Inbox), func(m driver.InboxMark) bool {
			done, err := tx.Processed(ctx, m.Consumer, m.MessageID)
			return err == nil && done
		})
	}
	return tx.Tx.Commit(ctx, &broken)
}

func TestSuiteCatchesBrokenDrivers(t *testing.T) {
	for _, c := range []struct {
		breakage breakage
		clause   string
	}{
		{noVersionCheck, "Conflict"},
		{noVersionCheck, "Stress"},
		{dropMessages, "Events"},
		{dropMessages, "TxRecords"},
		{noRowLocks, "Pessimistic"},
		{halfCommit, "CommitAtomicity"},
		{inboxNoConflict, "Inbox"},
		{findFirstFieldOnly, "Find"},
		{claimPastHeads, "OutboxPerKeyOrder"},
		{halfLease, "OutboxLeaseExpiry"},
		{oneOwner, "OutboxConcurrentRelays"},
		{oneOwner, "OutboxLeaseExpiry"},
		{pendingUnparked, "OutboxPending"},
		{insertOverwrites, "Duplicate"},
		{insertOverwrites, "GetOrAdd"},
	} {
		t.Run(c.breakage.String()+"/"+c.clause, func(t *testing.T) {
			t.Parallel()
			// The wrapper itself is sound: intact, the clause passes.
			f := runClause(t, c.clause, func() driver.Driver { return &brokenDriver{Driver: memuow.New(nil), breakage: intact} })
			require.Empty(t, f.failures, "the intact wrapper must pass %s", c.clause)
			require.False(t, f.Skipped(), "skipped: %s", f.skipped)

			f = runClause(t, c.clause, func() driver.Driver { return &brokenDriver{Driver: memuow.New(nil), breakage: c.breakage} })
			require.NotEmpty(t, f.failures, "%s did not catch %s", c.clause, c.breakage)
			require.False(t, f.Skipped(), "skipped: %s", f.skipped)
			t.Logf("%s caught %s:\n\t%s", c.clause, c.breakage, strings.Join(f.failures, "\n\t"))
		})
	}
}

// hiddenOutbox is memuow with Begin and the relay side only: no driver.Operator.
type hiddenOutbox struct {
	driver.Outbox
	d *memuow.Driver
}

func (h hiddenOutbox) Begin(ctx context.Context) (driver.Tx, error) { return h.d.Begin(ctx) }

func TestDriverWithoutOperatorFails(t *testing.T) {
	// The suite reads the outbox through driver.Operator: the clauses that look at it fail,
	// rather than skip, without one, and so do the operator's own.
	for _, clause := range []string{"Events", "OutboxPark", "OutboxOldestDue", "OutboxPending"} {
		f := runClause(t, clause, func() driver.Driver { d := memuow.New(nil); return hiddenOutbox{d, d} })
		require.False(t, f.Skipped(), "%s: a driver without driver.Operator must fail the suite, not skip it", clause)
		require.Len(t, f.failures, 1, clause)
		assert.Contains(t, f.failures[0], "driver.Operator", clause)
	}
}

func TestOptionalCapabilitiesSkip(t *testing.T) {
	// A Tx with nothing but the driver.Tx methods: the clauses of optional interfaces skip.
	newDriver := func() driver.Driver { return bareDriver{memuow.New(nil)} }
	for _, name := range []string{"Find", "KeyedLocks", "Inbox", "InboxPurge"} {
		f := runClause(t, name, newDriver)
		assert.Empty(t, f.failures, name)
		assert.True(t, f.Skipped(), "%s must skip on a driver without the capability", name)
	}
	// The others pass without them.
	for _, name := range []string{"CommitAtomicity", "Rollback", "Pessimistic", "TxRecords", "IdentityMap"} {
		f := runClause(t, name, newDriver)
		assert.Empty(t, f.failures, name)
		assert.False(t, f.Skipped(), name)
	}
}

// bareDriver is memuow whose transactions have only the methods of driver.Tx.
type bareDriver struct{ *memuow.Driver }

type bareTx struct{ tx driver.Tx }

func (d bareDriver) Begin(ctx context.Context) (driver.Tx, error) {
	tx, err := d.Driver.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return bareTx{tx}, nil
}

// PurgeInbox hides the Driver's: bareDriver is no driver.InboxPurger.
func (bareDriver) PurgeInbox() {}

func (b bareTx) Load(ctx context.Context, kind string, ids []string, lock uow.Lock) ([]driver.Record, error) {
	return b.tx.Load(ctx, kind, ids, lock)
}
func (b bareTx) Commit(ctx context.Context, c *driver.Changes) error { return b.tx.Commit(ctx, c) }
func (b bareTx) Rollback(ctx context.Context) error                  { return b.tx.Rollback(ctx) }
func (b bareTx) Native() any                                         { return b.tx.Native() }

package uowtest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// NativeTxs is implemented by a driver under test that implements [driver.Joiner], so that the
// Join clauses can begin the native transactions they join units to and run statements of the
// caller's own in them: the suite knows neither the native type nor the driver's SQL. The Join
// clauses are skipped for a Joiner without it. A driver that does not want it in its API
// declares it in an internal test file, as for [CommitPauser]. [SQLNativeTxs] implements it for
// a driver on database/sql.
type NativeTxs interface {
	// BeginNative begins a transaction of the type the driver's Join takes, on the driver's
	// database, as an application would.
	BeginNative(ctx context.Context) (NativeTx, error)
	// CallerValue returns the committed value of key in the test's own table (see
	// NativeTx.Put), and false when none is committed. It reads outside any transaction and
	// does not wait for one.
	CallerValue(ctx context.Context, key string) (value string, ok bool, err error)
}

// NativeTx is a native transaction a test began for the Join clauses.
type NativeTx interface {
	// Tx returns the transaction itself, what the driver's Join takes.
	Tx() any
	// Put sets key to value in a table of the test's own, in the transaction: a statement of
	// the caller's own, visible to others when, and only if, the transaction commits.
	Put(ctx context.Context, key, value string) error
	// Commit commits the transaction.
	Commit(ctx context.Context) error
	// Rollback rolls the transaction back; after the end it may return an error.
	Rollback(ctx context.Context) error
}

// natives returns the driver's NativeTxs, skipping the test when the driver cannot join.
func (e *env) natives() NativeTxs {
	e.t.Helper()
	if _, ok := e.d.(driver.Joiner); !ok {
		e.t.Skipf("driver %T does not implement driver.Joiner: no transaction of the caller's to join", e.d)
	}
	n, ok := e.d.(NativeTxs)
	if !ok {
		e.t.Skipf("driver %T implements driver.Joiner but not uowtest.NativeTxs: no way to begin the native "+
			"transactions to join (see the package documentation)", e.d)
	}
	return n
}

// beginNative begins a native transaction, rolled back when the test ends unless it ended.
func (e *env) beginNative(n NativeTxs) NativeTx {
	e.t.Helper()
	tx, err := n.BeginNative(e.ctx)
	if err != nil {
		e.t.Fatalf("BeginNative: %v", err)
	}
	e.t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// put runs the caller's own statement in tx and fails the test if that fails.
func (e *env) put(tx NativeTx, key, value, why string) {
	e.t.Helper()
	if err := tx.Put(e.ctx, key, value); err != nil {
		e.t.Fatalf("%s: the caller's own statement in its transaction: %v", why, err)
	}
}

// endNative commits (commit true) or rolls back tx and fails the test if that fails.
func (e *env) endNative(tx NativeTx, commit bool, why string) {
	e.t.Helper()
	end, what := tx.Rollback, "Rollback"
	if commit {
		end, what = tx.Commit, "Commit"
	}
	if err := end(e.ctx); err != nil {
		e.t.Fatalf("%s: %s of the caller's transaction: %v", why, what, err)
	}
}

// wantCaller checks the committed value of the caller's row key ("" for none).
func (e *env) wantCaller(n NativeTxs, key, value, why string) {
	e.t.Helper()
	got, ok, err := n.CallerValue(e.ctx, key)
	switch {
	case err != nil:
		e.t.Fatalf("%s: CallerValue(%q): %v", why, key, err)
	case value == "" && ok:
		e.t.Errorf("%s: the caller's row %s is committed (%q), want none", why, key, got)
	case value != "" && (!ok || got != value):
		e.t.Errorf("%s: the caller's row %s is %q (committed: %v), want %q committed", why, key, got, ok, value)
	}
}

// work returns a unit's work for the Join clauses: increment counter inc (if not ""), add counter
// add at N = 0 (if not ""), emit msg (if it has a topic) and, when the driver keeps an inbox and
// mark is not "", mark message mark processed by consumer "c".
func (e *env) work(inc, add counterID, msg uow.Message, mark string) func(context.Context, *uow.Unit) error {
	inbox := mark != "" && e.caps().inbox
	return func(ctx context.Context, u *uow.Unit) error {
		repo := uow.Repo[counter, counterID](u)
		if inc != "" {
			c, err := repo.Get(ctx, inc)
			if err != nil {
				return err
			}
			c.Inc()
		}
		if add != "" {
			root, err := aggregate.NewRoot(counterID(add))
			if err != nil {
				return err
			}
			if err := repo.Add(ctx, &counter{Root: root}); err != nil {
				return err
			}
		}
		if msg.Topic != "" {
			if err := u.Emit(msg); err != nil {
				return err
			}
		}
		if inbox {
			if _, err := u.MarkProcessed(ctx, "c", mark); err != nil {
				return err
			}
		}
		return nil
	}
}

// joinMessage returns a message to emit with the given key and number, with an ID (see relayed).
func joinMessage(key string, n int) uow.Message {
	m := relayed(key, n)
	m.ID = uuid.Must(uuid.NewV7()).String()
	return m
}

// wantProcessed checks whether the inbox mark (c, messageID) is committed, when the driver keeps
// an inbox.
func (e *env) wantProcessed(messageID string, want bool, why string) {
	e.t.Helper()
	if e.caps().inbox && e.processed("c", messageID) != want {
		e.t.Errorf("%s: the inbox mark of %s is committed: %v, want %v", why, messageID, !want, want)
	}
}

// testJoin: a unit joined to a transaction the caller began (Store.Join, DoIn) writes its
// records, messages and inbox marks in that transaction: none is visible to others before the
// caller commits, all are, with the caller's own statements, once it commits, and a relay can
// claim the messages. The unit reads in the caller's transaction (a later unit joined to it sees
// what an earlier one wrote), and TxOf returns the caller's transaction. Join of a value of
// another type fails with ErrInvalid.
func testJoin(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	n := e.natives()
	e.seed("a")
	for _, bad := range []any{nil, "not a transaction", e.store} {
		_, err := e.store.Join(e.ctx, bad)
		wantErr(t, err, uow.ErrInvalid, "Join of a value that is not the driver's native transaction")
	}

	tx := e.beginNative(n)
	e.put(tx, "k1", "before", "before the units")
	msg := joinMessage("j", 1)
	noErr(t, uow.DoIn(e.ctx, e.store, tx.Tx(), func(ctx context.Context, u *uow.Unit) error {
		if got, err := uow.TxOf[any](u); err != nil || got != tx.Tx() {
			t.Errorf("TxOf of a joined unit = %v (error %v), want the caller's transaction", got, err)
		}
		return e.work("a", "b", msg, "m1")(ctx, u)
	}), "DoIn of a unit that increments a, adds b, emits a message and marks one processed")
	noErr(t, uow.DoIn(e.ctx, e.store, tx.Tx(), e.work("b", "", uow.Message{}, "")),
		"DoIn of a unit that increments b, added by an earlier unit joined to the same transaction")
	e.put(tx, "k2", "after", "after the units")

	why := "before the caller commits"
	e.wantState("a", 0, 1, why)
	e.wantGone("b", why)
	e.wantInOutbox([]uow.Message{msg}, false, why)
	e.wantProcessed("m1", false, why)
	e.wantCaller(n, "k1", "", why)

	e.endNative(tx, true, "after joined units committed")
	why = "after the caller committed"
	e.wantState("a", 1, 2, why)
	e.wantState("b", 1, 2, why)
	e.wantInOutbox([]uow.Message{msg}, true, why)
	e.wantProcessed("m1", true, why)
	e.wantCaller(n, "k1", "before", why)
	e.wantCaller(n, "k2", "after", why)
	claimed := claimedMessages(e.claim("relay", e.clock.Now(), relayLease, 10))
	if !slices.Contains(idsOf(claimed), msg.ID) {
		t.Errorf("%s: a relay claimed %v, want the joined unit's message %s among them", why, describe(claimed), msg.ID)
	}
}

// testJoinRollback: the caller's rollback discards what the units joined to its transaction
// committed; a joined unit that rolls back (Unit.Rollback, DoIn on an error or a panic) undoes
// its own writes, and the statements run in the transaction while it was open, and leaves the
// caller's transaction usable and committable, with the caller's earlier statements.
func testJoinRollback(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	n := e.natives()
	e.seed("a")

	tx := e.beginNative(n)
	e.put(tx, "k1", "v", "before the unit")
	msg := joinMessage("j", 1)
	noErr(t, uow.DoIn(e.ctx, e.store, tx.Tx(), e.work("a", "b", msg, "m1")), "DoIn")
	e.endNative(tx, false, "after a joined unit committed")
	why := "after the caller rolled back"
	e.wantState("a", 0, 1, why)
	e.wantGone("b", why)
	e.wantInOutbox([]uow.Message{msg}, false, why)
	e.wantProcessed("m1", false, why)
	e.wantCaller(n, "k1", "", why)

	tx = e.beginNative(n)
	e.put(tx, "k2", "kept", "before the units")
	undone := []uow.Message{joinMessage("j", 2), joinMessage("j", 3), joinMessage("j", 4)}
	u, err := e.store.Join(e.ctx, tx.Tx())
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	noErr(t, e.work("a", "c", undone[0], "m2")(e.ctx, u), "a joined unit's work")
	e.put(tx, "u1", "undone", "while a joined unit is open")
	e.rollback(u)
	work := e.work("a", "c", undone[1], "m2")
	err = uow.DoIn(e.ctx, e.store, tx.Tx(), func(ctx context.Context, u *uow.Unit) error {
		if err := work(ctx, u); err != nil {
			return err
		}
		e.put(tx, "u2", "undone", "while a joined unit is open")
		return errRule
	})
	wantErr(t, err, errRule, "DoIn whose function fails")
	work = e.work("a", "c", undone[2], "m2")
	recovered := func() (p any) {
		defer func() { p = recover() }()
		_ = uow.DoIn(e.ctx, e.store, tx.Tx(), func(ctx context.Context, u *uow.Unit) error {
			if err := work(ctx, u); err != nil {
				return err
			}
			e.put(tx, "u3", "undone", "while a joined unit is open")
			panic("the function panicked")
		})
		return nil
	}()
	if recovered != "the function panicked" {
		t.Errorf("DoIn whose function panics: recovered %v, want the function's panic value", recovered)
	}
	e.put(tx, "k3", "later", "after three joined units rolled back")
	kept := joinMessage("j", 5)
	noErr(t, uow.DoIn(e.ctx, e.store, tx.Tx(), e.work("a", "", kept, "")),
		"DoIn after three joined units rolled back (a must be as before them: N=0, version 1)")
	e.endNative(tx, true, "after three joined units rolled back and one committed")
	why = "after joined units rolled back and the caller committed"
	e.wantState("a", 1, 2, why)
	e.wantGone("c", why)
	e.wantInOutbox(undone, false, why)
	e.wantInOutbox([]uow.Message{kept}, true, why)
	e.wantProcessed("m2", false, why)
	e.wantCaller(n, "k2", "kept", why)
	e.wantCaller(n, "k3", "later", why)
	for _, k := range []string{"u1", "u2", "u3"} {
		e.wantCaller(n, k, "", why+" (a statement run in the transaction while a joined unit was open is undone with the unit)")
	}
}

// testJoinFailure: a joined unit whose commit fails, on an insert that meets a record the
// caller's transaction holds (a unique violation in the database, which aborts a PostgreSQL
// transaction until it rolls back to a savepoint) or on a stale version, returns an error
// wrapping ErrConflict, undoes its writes, and leaves the caller's transaction usable and
// committable with the caller's earlier statements. Joined units nest: a unit joined while
// another is open is undone with it.
func testJoinFailure(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	n := e.natives()
	e.seed("a")
	tx := e.beginNative(n)
	e.put(tx, "k1", "v1", "before the units")

	outer, err := e.store.Join(e.ctx, tx.Tx())
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	lost := joinMessage("j", 1)
	noErr(t, e.work("", "d", lost, "m1")(e.ctx, outer), "adding d in a joined unit (d is not stored)")
	noErr(t, uow.DoIn(e.ctx, e.store, tx.Tx(), e.work("", "d", uow.Message{}, "")),
		"DoIn of a unit adding d, joined while another unit adding d is open")
	err = outer.Commit(e.ctx)
	if wantErr(t, err, uow.ErrConflict, "Commit of a joined unit whose insert meets a record the transaction holds") {
		wantErr(t, err, uow.ErrDuplicate, "Commit of a joined unit whose insert meets a record the transaction holds")
	}
	e.put(tx, "k2", "v2", "after a joined unit's insert failed")
	noErr(t, uow.DoIn(e.ctx, e.store, tx.Tx(), func(ctx context.Context, u *uow.Unit) error {
		_, err := uow.Repo[counter, counterID](u).Get(ctx, "d")
		if !errors.Is(err, uow.ErrNotFound) {
			t.Errorf("after the joined unit's insert failed, Get(d) in the transaction: %v, want ErrNotFound "+
				"(the unit joined inside it is undone with it)", err)
		}
		return nil
	}), "DoIn after a joined unit's insert failed")

	err = uow.DoIn(e.ctx, e.store, tx.Tx(), func(ctx context.Context, u *uow.Unit) error {
		if err := e.work("a", "", uow.Message{}, "")(ctx, u); err != nil {
			return err
		}
		return uow.DoIn(ctx, e.store, tx.Tx(), e.work("a", "", uow.Message{}, "")) // a at version 2
	})
	wantErr(t, err, uow.ErrConflict, "DoIn of a joined unit that updates a from a stale version")
	e.put(tx, "k3", "v3", "after a joined unit's update failed")
	e.endNative(tx, true, "after two joined units failed")

	why := "after two joined units failed and the caller committed"
	e.wantState("a", 0, 1, why)
	e.wantGone("d", why)
	e.wantInOutbox([]uow.Message{lost}, false, why)
	e.wantProcessed("m1", false, why)
	for _, k := range []string{"k1", "k2", "k3"} {
		e.wantCaller(n, k, "v"+k[1:], why)
	}
}

// testJoinLocks: what a joined unit committed stays locked until the caller's transaction ends:
// a unit that updates one of its records, and one that commits a message of one of its keys,
// wait for the caller's commit, lose no update, and the key's messages are stored in the order
// of the commits (the joined unit's first).
func testJoinLocks(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	n := e.natives()
	e.seed("a")
	tx := e.beginNative(n)
	first := joinMessage("k", 1)
	noErr(t, uow.DoIn(e.ctx, e.store, tx.Tx(), e.work("a", "", first, "")), "DoIn")

	second := joinMessage("k", 2)
	update := e.wantBlocked(async(func() error {
		return uow.Do(e.ctx, e.store, e.work("a", "", uow.Message{}, ""), nil)
	}), "a unit updating a record that a joined unit updated in a transaction still open")
	emit := e.wantBlocked(async(func() error {
		return uow.Do(e.ctx, e.store, e.work("", "", second, ""), nil)
	}), "a unit storing a message of a key that a joined unit stored one of in a transaction still open")
	e.endNative(tx, true, "with units waiting")
	noErr(t, await(t, update, "the unit updating a"), "the unit updating a, after the caller committed")
	noErr(t, await(t, emit, "the unit storing a message"), "the unit storing a message, after the caller committed")

	e.wantState("a", 2, 3, "after the joined unit's and another unit's increments")
	var keyed []uow.Message
	for _, m := range e.messages() {
		if m.Key == "k" {
			keyed = append(keyed, m)
		}
	}
	if !slices.Equal(idsOf(keyed), idsOf([]uow.Message{first, second})) {
		t.Errorf("messages of key k in the outbox: %s, want %s (commit order: the caller's transaction first)",
			names(keyed), names([]uow.Message{first, second}))
	}
}

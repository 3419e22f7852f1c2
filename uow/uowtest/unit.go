package uowtest

import (
	"slices"
	"testing"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// testRoundTrip: an added aggregate is stored at version 1 with every field; each committed
// change moves the version on by one; after Commit the aggregate in memory has the new version
// and no recorded events.
func testRoundTrip(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	u := e.begin()
	c := e.add(u, "x", 5)
	c.Inc()
	note := "a note"
	a := newAccount(t, "acc")
	a.Owner, a.Status, a.Balance, a.Rate, a.Frozen, a.Note = "ann", "open", -42, 0.25, true, &note
	if err := uow.Repo[account, accountID](u).Add(e.ctx, a); err != nil {
		t.Fatalf("Add account: %v", err)
	}
	e.commit(u, "adding")
	if c.Version() != 1 || len(c.Recorded()) != 0 {
		t.Errorf("after Commit the added counter is at version %d with %d recorded events, want 1 and 0", c.Version(), len(c.Recorded()))
	}
	e.wantState("x", 6, 1, "added counter")

	u = e.begin()
	got, err := uow.Repo[account, accountID](u).Get(e.ctx, "acc")
	if err != nil {
		t.Fatalf("Get account: %v", err)
	}
	if got.ID() != "acc" || got.Version() != 1 || got.Owner != "ann" || got.Status != "open" || got.Balance != -42 ||
		got.Rate != 0.25 || !got.Frozen || got.Note == nil || *got.Note != note {
		t.Errorf("account read back as %+v (ID %q, version %d), want it as added", *got, got.ID(), got.Version())
	}
	c = e.get(u, "x")
	if c.ID() != "x" {
		t.Errorf("counter x read back with ID %q", c.ID())
	}
	c.Inc()
	got.Note = nil
	e.commit(u, "changing")
	if c.Version() != 2 || len(c.Recorded()) != 0 {
		t.Errorf("after Commit the changed counter is at version %d with %d recorded events, want 2 and 0", c.Version(), len(c.Recorded()))
	}
	e.wantState("x", 7, 2, "changed counter")

	u = e.begin()
	got, err = uow.Repo[account, accountID](u).Get(e.ctx, "acc")
	if err != nil {
		t.Fatalf("Get account: %v", err)
	}
	if got.Version() != 2 || got.Note != nil {
		t.Errorf("account after setting Note to nil: version %d, note %v; want 2, nil", got.Version(), got.Note)
	}
	e.rollback(u)
}

// testReadCommitted: what a unit changes is invisible to other units until it commits, and
// visible to units begun after.
func testReadCommitted(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")

	a := e.begin()
	e.get(a, "x").Inc()
	e.add(a, "new", 1)
	if err := a.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.note"}); err != nil {
		t.Fatalf("Emit: %v", err)
	}
	b := e.begin()
	if c := e.get(b, "x"); c.N != 0 || c.Version() != 1 {
		t.Errorf("another unit sees counter x at N=%d version %d before the change committed, want N=0 version 1", c.N, c.Version())
	}
	_, err := uow.Repo[counter, counterID](b).Get(e.ctx, "new")
	wantErr(t, err, uow.ErrNotFound, "another unit's Get of an aggregate added but not committed")
	e.rollback(b)

	e.commit(a, "the changing unit")
	e.wantState("x", 1, 2, "after the commit")
	e.wantState("new", 1, 1, "after the commit")
}

// testIdentityMap: within a unit, every way of loading an ID returns the same pointer: Get twice,
// GetForUpdate after Get, GetMany, Find, and Get after Add. Different kinds with one ID are
// different aggregates.
func testIdentityMap(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("a", "b")
	u := e.begin()
	if err := uow.Repo[account, accountID](u).Add(e.ctx, newAccount(t, "a")); err != nil {
		t.Fatalf("Add account a: %v", err)
	}
	e.commit(u, "seeding account a")

	u = e.begin()
	counters, accounts := uow.Repo[counter, counterID](u), uow.Repo[account, accountID](u)
	a1 := e.get(u, "a")
	a2 := e.get(u, "a")
	if a1 != a2 {
		t.Errorf("Get(a) twice returned two pointers, want the same one")
	}
	a1.Inc() // the unit's copy changes; every later load must return it, not the stored one
	a3, err := counters.GetForUpdate(e.ctx, "a")
	if noErr(t, err, "GetForUpdate(a) after Get(a)") && a3 != a1 {
		t.Errorf("GetForUpdate(a) after Get(a) returned another pointer")
	}
	many, err := counters.GetMany(e.ctx, "b", "a")
	if noErr(t, err, "GetMany(b, a)") {
		if len(many) != 2 || many[0].AggregateID() != "b" || many[1] != a1 {
			t.Errorf("GetMany(b, a) returned %v, want [b, the tracked a]", ids(many))
		}
		if b := e.get(u, "b"); len(many) == 2 && many[0] != b {
			t.Errorf("Get(b) after GetMany(b, a) returned another pointer than GetMany")
		}
	}
	added := e.add(u, "c", 3)
	if got := e.get(u, "c"); got != added {
		t.Errorf("Get(c) after Add(c) in the same unit returned another pointer than the added one")
	}
	many, err = counters.GetMany(e.ctx, "c", "a")
	if noErr(t, err, "GetMany(c, a)") && (len(many) != 2 || many[0] != added || many[1] != a1) {
		t.Errorf("GetMany(c, a) did not return the added c and the tracked a")
	}
	acc, err := accounts.Get(e.ctx, "a")
	if noErr(t, err, "Get account a") && (acc.ID() != "a" || acc.Version() != 1) {
		t.Errorf("Get account a returned ID %q at version %d, want a at 1", acc.ID(), acc.Version())
	}
	if e.caps().querier {
		found, err := counters.Find(e.ctx)
		if noErr(t, err, "Find()") {
			if i := slices.IndexFunc(found, func(c *counter) bool { return c.ID() == "a" }); i < 0 || found[i] != a1 {
				t.Errorf("Find() did not return the tracked counter a")
			}
		}
		found2, err := counters.FindFunc(e.ctx, func(*counter) bool { return true })
		if noErr(t, err, "FindFunc") && len(found) == len(found2) {
			for i := range found {
				if found[i] != found2[i] {
					t.Errorf("Find and FindFunc returned different pointers for %s", found[i].ID())
				}
			}
		}
	}
	e.rollback(u)
}

// testNotFound: a missing ID is ErrNotFound for Get, GetForUpdate and GetMany (and another kind's
// aggregate with that ID does not count).
func testNotFound(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")
	u := e.begin()
	counters := uow.Repo[counter, counterID](u)
	_, err := counters.Get(e.ctx, "missing")
	wantErr(t, err, uow.ErrNotFound, "Get of a missing ID")
	_, err = counters.GetForUpdate(e.ctx, "missing")
	wantErr(t, err, uow.ErrNotFound, "GetForUpdate of a missing ID")
	_, err = counters.GetMany(e.ctx, "x", "missing")
	wantErr(t, err, uow.ErrNotFound, "GetMany with a missing ID")
	_, err = uow.Repo[account, accountID](u).Get(e.ctx, "x")
	wantErr(t, err, uow.ErrNotFound, "Get of an account with the ID of a stored counter")
	many, err := counters.GetMany(e.ctx, "x")
	if noErr(t, err, "GetMany of a stored ID") && len(many) != 1 {
		t.Errorf("GetMany(x) returned %d aggregates, want 1", len(many))
	}
	e.rollback(u)
}

// testDuplicate: Add of a stored ID fails at once with ErrDuplicate; of two units adding one new
// ID, the first commit wins and the second fails with ErrConflict, a lost race that Do retries
// (wrapping ErrDuplicate as well: the driver's insert found the ID taken).
func testDuplicate(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")
	u := e.begin()
	counters := uow.Repo[counter, counterID](u)
	wantErr(t, counters.Add(e.ctx, newCounter(t, "x")), uow.ErrDuplicate, "Add of a stored ID")
	e.add(u, "y", 1)
	wantErr(t, counters.Add(e.ctx, newCounter(t, "y")), uow.ErrDuplicate, "Add of an ID added in the same unit")
	e.rollback(u)

	a, b := e.begin(), e.begin()
	e.add(a, "new", 1)
	e.add(b, "new", 2)
	e.commit(a, "the first unit adding new")
	err := b.Commit(e.ctx)
	wantErr(t, err, uow.ErrConflict, "Commit of the second unit adding new")
	wantErr(t, err, uow.ErrDuplicate, "Commit of the second unit adding new")
	e.wantState("new", 1, 1, "the first unit's insert")
}

// testRemove: a removed aggregate is gone for the unit at once and for everyone after commit; its
// ID can be added again; added then removed in one unit, it is never stored.
func testRemove(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x", "keep")

	u := e.begin()
	counters := uow.Repo[counter, counterID](u)
	x := e.get(u, "x")
	noErr(t, counters.Remove(e.ctx, x), "Remove")
	_, err := counters.Get(e.ctx, "x")
	wantErr(t, err, uow.ErrNotFound, "Get after Remove in the same unit")
	_, err = counters.GetMany(e.ctx, "keep", "x")
	wantErr(t, err, uow.ErrNotFound, "GetMany after Remove in the same unit")
	e.commit(u, "removing x")
	e.wantGone("x", "after the removal committed")
	e.wantState("keep", 0, 1, "a counter the removing unit did not touch")

	u = e.begin()
	e.add(u, "x", 9)
	e.commit(u, "adding x again")
	e.wantState("x", 9, 1, "a removed ID added again")

	before := len(e.messages())
	u = e.begin()
	counters = uow.Repo[counter, counterID](u)
	tmp := e.add(u, "tmp", 1)
	tmp.Inc()
	noErr(t, counters.Remove(e.ctx, tmp), "Remove of an aggregate added in the unit")
	_, err = counters.Get(e.ctx, "tmp")
	wantErr(t, err, uow.ErrNotFound, "Get after Add and Remove in the same unit")
	e.commit(u, "adding and removing tmp")
	e.wantGone("tmp", "added and removed in one unit")
	if after := len(e.messages()); after != before {
		t.Errorf("a unit that added and removed an aggregate stored %d outbox messages, want 0", after-before)
	}
}

// unitMethods calls every method of u that must fail once u ended, and checks they return
// ErrUnitDone.
func unitMethods(e *env, u *uow.Unit, state string) {
	e.t.Helper()
	counters := uow.Repo[counter, counterID](u)
	check := func(err error, method string) {
		e.t.Helper()
		wantErr(e.t, err, uow.ErrUnitDone, method+" "+state)
	}
	_, err := counters.Get(e.ctx, "x")
	check(err, "Get")
	_, err = counters.GetForUpdate(e.ctx, "x")
	check(err, "GetForUpdate")
	_, err = counters.GetMany(e.ctx, "x")
	check(err, "GetMany")
	_, err = counters.Find(e.ctx)
	check(err, "Find")
	check(counters.Add(e.ctx, newCounter(e.t, "late")), "Add")
	_, err = counters.GetOrAdd(e.ctx, "late", func(id counterID) (*counter, error) {
		e.t.Errorf("GetOrAdd %s called create", state)
		return newCounter(e.t, "late"), nil
	})
	check(err, "GetOrAdd")
	check(u.Emit(uow.Message{Topic: "t", Name: "n"}), "Emit")
	_, err = u.MarkProcessed(e.ctx, "c", "m")
	check(err, "MarkProcessed")
	check(u.Lock(e.ctx, "k"), "Lock")
	check(u.Commit(e.ctx), "Commit")
	noErr(e.t, u.Rollback(e.ctx), "Rollback "+state)
}

// testUnitDone: after Commit (successful or failed) or Rollback, every method of the unit
// returns ErrUnitDone, and Rollback returns nil.
func testUnitDone(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")

	u := e.begin()
	e.get(u, "x")
	e.rollback(u)
	unitMethods(e, u, "after Rollback")

	u = e.begin()
	e.get(u, "x").Inc()
	e.commit(u, "a change")
	unitMethods(e, u, "after Commit")

	u, other := e.begin(), e.begin()
	e.get(u, "x").Inc()
	e.get(other, "x").Inc()
	e.commit(other, "a concurrent change")
	wantErr(t, u.Commit(e.ctx), uow.ErrConflict, "Commit of a stale change")
	unitMethods(e, u, "after a failed Commit")
}

// testRollback: a rolled-back unit leaves nothing: no inserted, changed or removed aggregate, no
// outbox message, no inbox mark.
func testRollback(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x", "y")
	inbox := e.caps().inbox
	before := len(e.messages())

	u := e.begin()
	e.get(u, "x").Inc()
	noErr(t, uow.Repo[counter, counterID](u).Remove(e.ctx, e.get(u, "y")), "Remove")
	e.add(u, "z", 1).Inc()
	noErr(t, u.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.rolledBack"}), "Emit")
	if inbox {
		_, err := u.MarkProcessed(e.ctx, "rollback-consumer", "m1")
		noErr(t, err, "MarkProcessed")
	}
	e.rollback(u)

	e.wantState("x", 0, 1, "a change rolled back")
	e.wantState("y", 0, 1, "a removal rolled back")
	e.wantGone("z", "an insert rolled back")
	if after := len(e.messages()); after != before {
		t.Errorf("a rolled-back unit stored %d outbox messages, want 0", after-before)
	}
	if inbox && e.processed("rollback-consumer", "m1") {
		t.Errorf("a rolled-back unit's inbox mark is stored")
	}
}

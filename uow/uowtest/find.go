package uowtest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// testFind: Find selects the committed aggregates of the repository's kind whose top-level
// fields equal every filter value, compared as JSON values (numbers as numbers, whatever their
// Go type; a string never equals a number; null), in ID order; FindFunc filters by predicate.
// The unit tracks what they return; an aggregate removed in the unit is left out, one added is
// not found before commit.
func testFind(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	if !e.caps().querier {
		t.Skipf("the driver's Tx does not implement driver.Querier: no queries to check")
	}
	x, y := "x", "y"
	seed := []account{ // inserted out of ID order
		{Owner: "cid", Status: "open", Balance: 250, Rate: 0.5},
		{Owner: "ann", Status: "open", Balance: 100, Rate: 0.5},
		{Owner: "dan", Status: "open", Balance: 10, Rate: 2, Note: &y},
		{Owner: "bob", Status: "closed", Balance: 100, Rate: 1.25, Frozen: true, Note: &x},
	}
	u := e.begin()
	for _, s := range seed {
		a := newAccount(t, s.Owner[:1])
		a.Owner, a.Status, a.Balance, a.Rate, a.Frozen, a.Note = s.Owner, s.Status, s.Balance, s.Rate, s.Frozen, s.Note
		if err := uow.Repo[account, accountID](u).Add(e.ctx, a); err != nil {
			t.Fatalf("Add account %s: %v", a.ID(), err)
		}
	}
	e.add(u, "a", 100) // a counter: another kind, with an ID an account has
	e.commit(u, "seeding accounts")

	u = e.begin()
	accounts := uow.Repo[account, accountID](u)
	f := func(name string, v any) uow.Field { return uow.Field{Name: name, Value: v} }
	for _, c := range []struct {
		where []uow.Field
		want  string
	}{
		{nil, "a,b,c,d"},
		{[]uow.Field{f("status", "open")}, "a,c,d"},
		{[]uow.Field{f("status", "open"), f("balance", 100)}, "a"},
		{[]uow.Field{f("status", "nope")}, ""},
		{[]uow.Field{f("owner", "bob")}, "b"},
		{[]uow.Field{f("balance", 100)}, "a,b"},
		{[]uow.Field{f("balance", int64(100))}, "a,b"},
		{[]uow.Field{f("balance", uint8(100))}, "a,b"},
		{[]uow.Field{f("balance", 100.0)}, "a,b"},
		{[]uow.Field{f("balance", 10)}, "d"},
		{[]uow.Field{f("balance", "100")}, ""},
		{[]uow.Field{f("balance", 1e2), f("rate", 0.5)}, "a"},
		{[]uow.Field{f("rate", 0.5)}, "a,c"},
		{[]uow.Field{f("rate", 2)}, "d"},
		{[]uow.Field{f("rate", float32(1.25))}, "b"},
		{[]uow.Field{f("frozen", true)}, "b"},
		{[]uow.Field{f("frozen", false)}, "a,c,d"},
		{[]uow.Field{f("frozen", "true")}, ""},
		{[]uow.Field{f("note", nil)}, "a,c"},
		{[]uow.Field{f("note", "x")}, "b"},
		{[]uow.Field{f("n", 100)}, ""},
		{[]uow.Field{f("nosuchfield", "open")}, ""},
	} {
		got, err := accounts.Find(e.ctx, c.where...)
		what := fmt.Sprintf("Find(%s)", describeFields(c.where))
		if noErr(t, err, what) && strings.Join(ids(got), ",") != c.want {
			t.Errorf("%s returned [%s], want [%s]", what, strings.Join(ids(got), ","), c.want)
		}
	}

	rich, err := accounts.FindFunc(e.ctx, func(a *account) bool { return a.Balance >= 100 })
	if noErr(t, err, "FindFunc(balance >= 100)") && strings.Join(ids(rich), ",") != "a,b,c" {
		t.Errorf("FindFunc(balance >= 100) returned [%s], want [a,b,c]", strings.Join(ids(rich), ","))
	}
	open, err := accounts.Find(e.ctx, f("status", "open"))
	if noErr(t, err, "Find(status=open)") && len(open) == 3 {
		if got, err := accounts.Get(e.ctx, "a"); noErr(t, err, "Get(a) after Find") && got != open[0] {
			t.Errorf("Get(a) after Find returned another pointer than Find")
		}
	}
	e.rollback(u)

	u = e.begin()
	accounts = uow.Repo[account, accountID](u)
	b, err := accounts.Get(e.ctx, "b")
	if err != nil {
		t.Fatalf("Get(b): %v", err)
	}
	noErr(t, accounts.Remove(e.ctx, b), "Remove(b)")
	fresh := newAccount(t, "e")
	fresh.Balance = 100
	noErr(t, accounts.Add(e.ctx, fresh), "Add(e)")
	got, err := accounts.Find(e.ctx, f("balance", 100))
	if noErr(t, err, "Find(balance=100) after Remove(b) and Add(e)") && strings.Join(ids(got), ",") != "a" {
		t.Errorf("Find(balance=100) in a unit that removed b and added e returned [%s], want [a]", strings.Join(ids(got), ","))
	}
	e.commit(u, "removing b, adding e")
	u = e.begin()
	got, err = uow.Repo[account, accountID](u).Find(e.ctx, f("balance", 100))
	if noErr(t, err, "Find(balance=100) after the commit") && strings.Join(ids(got), ",") != "a,e" {
		t.Errorf("Find(balance=100) after committing the removal of b and the insert of e returned [%s], want [a,e]", strings.Join(ids(got), ","))
	}
	e.rollback(u)
}

func describeFields(where []uow.Field) string {
	parts := make([]string, len(where))
	for i, f := range where {
		parts[i] = fmt.Sprintf("%s=%#v", f.Name, f.Value)
	}
	return strings.Join(parts, ", ")
}

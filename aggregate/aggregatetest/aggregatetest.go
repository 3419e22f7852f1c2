// Package aggregatetest is a given-when-then fixture for testing aggregates: given an aggregate in
// a known state (built by a function, or from prior events), when a command runs, then it records
// exactly the expected events, or fails with the expected error and changes nothing.
//
//	func TestDebitNeedsFunds(t *testing.T) {
//		aggregatetest.Given(t, func() (*Account, error) { return Open("000000000001", usd(10)) }).
//			When(func(a *Account) error { return a.Debit(usd(25)) }).
//			ThenError(ErrInsufficientFunds)
//	}
//
// It uses only the standard library's testing package, so any test can use it.
package aggregatetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/internal/rootaccess"
)

// Scenario is the "given" part: an aggregate in a known state. Make one with [Given] or
// [GivenEvents] and finish it with When and Then.
type Scenario[A aggregate.Aggregate] struct {
	t     testing.TB
	build func() A
}

// Outcome is the "when" part: the aggregate after the command and the command's error.
type Outcome[A aggregate.Aggregate] struct {
	t      testing.TB
	before A // a second build of the given state, for "changes nothing"
	after  A
	err    error
}

// Given starts a scenario from the aggregate that build returns. Events build records (a
// constructor recording AccountOpened, say) are history: they are not expected in Then. build is
// called twice, once to run the command and once to compare against, so it must be
// deterministic: fixed IDs, a fixed clock. An error from build fails the test.
func Given[A aggregate.Aggregate](t testing.TB, build func() (A, error)) *Scenario[A] {
	t.Helper()
	return &Scenario[A]{t: t, build: func() A {
		t.Helper()
		a, err := build()
		if err != nil {
			t.Fatalf("aggregatetest: Given: %v", err)
		}
		settle(t, a)
		return a
	}}
}

// Applier is an aggregate that can be rebuilt from its events, for [GivenEvents].
type Applier interface {
	aggregate.Aggregate
	// Apply changes state as the event says, without recording it.
	Apply(aggregate.Event) error
}

// GivenEvents starts a scenario from the aggregate that fresh returns, after applying history to
// it in order. An error from Apply fails the test.
func GivenEvents[A Applier](t testing.TB, fresh func() A, history ...aggregate.Event) *Scenario[A] {
	t.Helper()
	return &Scenario[A]{t: t, build: func() A {
		t.Helper()
		a := fresh()
		for i, e := range history {
			if err := a.Apply(e); err != nil {
				t.Fatalf("aggregatetest: GivenEvents: applying history[%d] %s: %v", i, e.EventName(), err)
			}
		}
		settle(t, a)
		return a
	}}
}

// settle marks the given state's recorded events as history.
func settle(t testing.TB, a aggregate.Aggregate) {
	t.Helper()
	if err := rootaccess.Committed(a, a.Version()); err != nil {
		t.Fatalf("aggregatetest: %v", err)
	}
}

// When runs cmd on the given aggregate.
func (s *Scenario[A]) When(cmd func(A) error) *Outcome[A] {
	s.t.Helper()
	before, after := s.build(), s.build()
	if !reflect.DeepEqual(before, after) {
		s.t.Fatalf("aggregatetest: Given built two different aggregates; make it deterministic (fixed IDs and clock):\n%s",
			describe(before))
	}
	return &Outcome[A]{t: s.t, before: before, after: after, err: cmd(after)}
}

// Then asserts that the command succeeded and recorded exactly want, in order (compared with
// reflect.DeepEqual), and returns the aggregate for further checks of its state.
func (o *Outcome[A]) Then(want ...aggregate.Event) A {
	o.t.Helper()
	if o.err != nil {
		o.t.Fatalf("aggregatetest: want events %s, got error: %v", names(want), o.err)
	}
	got := o.after.Recorded()
	if len(got) != len(want) {
		o.t.Errorf("aggregatetest: want %d events %s, got %d %s\nwant: %s\ngot:  %s",
			len(want), names(want), len(got), names(got), describe(want), describe(got))
		return o.after
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			o.t.Errorf("aggregatetest: event %d differs\nwant: %T %s\ngot:  %T %s", i, want[i], describe(want[i]), got[i], describe(got[i]))
		}
	}
	return o.after
}

// ThenError asserts that the command failed with an error matching target (errors.Is), recorded
// no event and left the aggregate exactly as given (reflect.DeepEqual with a fresh build of the
// given state). It returns the aggregate.
func (o *Outcome[A]) ThenError(target error) A {
	o.t.Helper()
	if o.err == nil {
		o.t.Fatalf("aggregatetest: want error %v, got success with events %s", target, names(o.after.Recorded()))
	}
	if !errors.Is(o.err, target) {
		o.t.Errorf("aggregatetest: want error %v, got %v", target, o.err)
	}
	if got := o.after.Recorded(); len(got) > 0 {
		o.t.Errorf("aggregatetest: a failed command recorded events %s", names(got))
	}
	if !reflect.DeepEqual(o.before, o.after) {
		o.t.Errorf("aggregatetest: a failed command changed the aggregate\nbefore: %s\nafter:  %s", describe(o.before), describe(o.after))
	}
	return o.after
}

func names[E aggregate.Event](events []E) string {
	n := make([]string, len(events))
	for i, e := range events {
		n[i] = e.EventName()
	}
	return "[" + strings.Join(n, ", ") + "]"
}

// describe renders v for a failure message: its JSON when it has one, %+v otherwise.
func describe(v any) string {
	if b, err := json.Marshal(v); err == nil && string(b) != "{}" {
		return string(b)
	}
	return fmt.Sprintf("%+v", v)
}

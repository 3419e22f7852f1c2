package uowtest

import (
	"sync"
	"testing"
	"time"

	"github.com/dddkit/ddd/aggregate"
)

// The aggregates the clauses store, of kinds (AggregateType) "counter" and "account".

type counterID string

// counter is the aggregate most clauses change: Inc records an incremented event per change.
type counter struct {
	aggregate.Root[counterID]
	N int `json:"n"`
}

func (*counter) AggregateType() string { return "counter" }

// incremented is counter's event: N is the value after the increment.
type incremented struct {
	N int `json:"n"`
}

func (incremented) EventName() string { return "uowtest.incremented" }

func newCounter(t testing.TB, id string) *counter {
	t.Helper()
	root, err := aggregate.NewRoot(counterID(id))
	if err != nil {
		t.Fatalf("aggregate.NewRoot(%q): %v", id, err)
	}
	return &counter{Root: root}
}

// Inc adds one to N and records the change.
func (c *counter) Inc() {
	c.N++
	c.Record(incremented{N: c.N})
}

type accountID string

// account has fields of every JSON scalar type, for queries.
type account struct {
	aggregate.Root[accountID]
	Owner   string  `json:"owner"`
	Status  string  `json:"status"`
	Balance int64   `json:"balance"`
	Rate    float64 `json:"rate"`
	Frozen  bool    `json:"frozen"`
	Note    *string `json:"note"`
}

func (*account) AggregateType() string { return "account" }

func newAccount(t testing.TB, id string) *account {
	t.Helper()
	root, err := aggregate.NewRoot(accountID(id))
	if err != nil {
		t.Fatalf("aggregate.NewRoot(%q): %v", id, err)
	}
	return &account{Root: root}
}

// errRule is the business rule the Do clauses break.
var errRule = aggregate.NewRule("uowtest_rule", "uowtest: business rule broken")

// fakeClock is the store's clock: a fixed time, whole seconds in UTC so that every driver stores
// it exactly, moved only by advance. It is safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

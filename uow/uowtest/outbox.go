package uowtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// testEvents: a commit stores the events each aggregate recorded as outbox messages, in recorded
// order and aggregates in the order the unit tracked them, with the name, the aggregate's ID as
// key, its type as topic, the version the commit stored as header and the event as JSON payload;
// then the messages emitted on the unit, as given; with the unit's correlation and causation
// IDs on all of them.
func testEvents(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	at := e.clock.Now()

	u := e.begin()
	x := e.add(u, "x", 0)
	x.Inc()
	x.Inc()
	e.add(u, "y", 0)
	e.commit(u, "adding x with two events")

	u = e.begin()
	u.SetCausation("corr-1", "cause-1")
	e.get(u, "x").Inc()
	e.get(u, "y").Inc()
	emitted := uow.Message{
		Topic:        "uowtest.commands",
		Key:          "k-1",
		Name:         "uowtest.ping",
		Payload:      []byte(`{"ping":true}`),
		Headers:      map[string]string{"x-custom": "v", uow.HeaderCausationID: "own-cause"},
		DeliverAfter: at.Add(time.Hour),
	}
	noErr(t, u.Emit(emitted), "Emit")
	e.commit(u, "changing x and y and emitting")

	msgs := e.messages()
	want := []struct {
		key, version, payload string
		correlated            bool
	}{
		{"x", "1", `{"n":1}`, false},
		{"x", "1", `{"n":2}`, false},
		{"x", "2", `{"n":3}`, true},
		{"y", "2", `{"n":1}`, true},
	}
	if len(msgs) != len(want)+1 {
		t.Fatalf("the outbox holds %v, want the 4 events of x and y then the emitted message", describe(msgs))
	}
	seen := make(map[string]bool)
	for i, m := range msgs {
		if m.ID == "" || seen[m.ID] {
			t.Errorf("message %d has ID %q: want a unique one", i, m.ID)
		}
		seen[m.ID] = true
	}
	for i, w := range want {
		m := msgs[i]
		what := fmt.Sprintf("outbox message %d (event %s of %s)", i, w.payload, w.key)
		headers := map[string]string{
			uow.HeaderAggregateType: "counter",
			uow.HeaderAggregateID:   w.key,
			uow.HeaderVersion:       w.version,
		}
		if w.correlated {
			headers[uow.HeaderCorrelationID] = "corr-1"
			headers[uow.HeaderCausationID] = "cause-1"
		}
		wantMessage(t, m, uow.Message{
			ID:        m.ID,
			Topic:     "counter",
			Key:       w.key,
			Name:      "uowtest.incremented",
			Payload:   []byte(w.payload),
			Headers:   headers,
			CreatedAt: at,
		}, what)
	}
	m := msgs[len(want)]
	emitted.ID = m.ID
	emitted.CreatedAt = at
	emitted.Headers = map[string]string{"x-custom": "v", uow.HeaderCausationID: "own-cause", uow.HeaderCorrelationID: "corr-1"}
	wantMessage(t, m, emitted, "the emitted message, stored after the events")
}

// testOutboxVisibility: messages are in the outbox only once their unit commits: not while it is
// open, not after a rollback.
func testOutboxVisibility(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	e.seed("x")
	if n := len(e.messages()); n != 0 {
		t.Fatalf("after adding a counter that recorded no event the outbox holds %d messages, want 0", n)
	}

	u := e.begin()
	e.get(u, "x").Inc()
	noErr(t, u.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.note"}), "Emit")
	other := e.begin()
	e.get(other, "x") // another unit reading meanwhile changes nothing
	e.rollback(other)
	if msgs := e.messages(); len(msgs) != 0 {
		t.Errorf("while a unit is open the outbox holds %v, want nothing", describe(msgs))
	}
	e.rollback(u)
	if msgs := e.messages(); len(msgs) != 0 {
		t.Errorf("after a rollback the outbox holds %v, want nothing", describe(msgs))
	}

	u = e.begin()
	e.get(u, "x").Inc()
	noErr(t, u.Emit(uow.Message{Topic: "uowtest.commands", Name: "uowtest.note"}), "Emit")
	e.commit(u, "the change")
	if msgs := e.messages(); len(msgs) != 2 {
		t.Errorf("after a commit with one event and one emitted message the outbox holds %v, want both", describe(msgs))
	}
}

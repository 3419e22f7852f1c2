package pguow_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/pguow"
)

// TestHeldClaimsProperties: random interleavings of commits and of two relays' held claims on
// PostgreSQL (key lanes). A relay holds a batch, then either finishes it as outbox.Relay does
// (publishing a prefix of each key's run, perhaps failing the next message, for now or for an
// hour) or dies after publishing (nothing recorded). Whatever the interleaving: no two open
// claims hold messages of one key; a claim holds each of its keys from the key's earliest
// message left, in commit order; and draining afterwards publishes every committed message,
// the first publications of each key in commit order.
func TestHeldClaimsProperties(t *testing.T) {
	d := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	table := `"` + schemaOf(t, d) + `".ddd_outbox`
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		if _, err := d.Pool().Exec(ctx, "DELETE FROM "+table); err != nil {
			rt.Fatalf("emptying the outbox: %v", err)
		}
		m := &heldModel{d: d, s: s, now: time.Now(), committed: map[string][]string{}, left: map[string][]string{},
			first: map[string][]string{}, published: map[string]bool{}, keyOf: map[string]string{}}
		defer m.abandon()
		rt.Repeat(map[string]func(*rapid.T){
			"commit": m.commit,
			"hold":   func(t *rapid.T) { m.hold(t, rapid.IntRange(0, 1).Draw(t, "relay")) },
			"finish": func(t *rapid.T) { m.finish(t, rapid.IntRange(0, 1).Draw(t, "relay"), true) },
			"die":    func(t *rapid.T) { m.finish(t, rapid.IntRange(0, 1).Draw(t, "relay"), false) },
			"handover": func(t *rapid.T) {
				r := rapid.IntRange(0, 1).Draw(t, "relay")
				m.handover(t, r, rapid.Bool().Draw(t, "record"))
			},
		})
		m.drain(rt)
	})
}

// heldModel is the state of one interleaving: what was committed and is left, per key in commit
// order; what was published; and each relay's open claim.
type heldModel struct {
	d         *pguow.Driver
	s         *uow.Store
	now       time.Time
	committed map[string][]string // key -> message IDs in commit order
	left      map[string][]string // key -> IDs not deleted yet, in commit order
	first     map[string][]string // key -> IDs in the order of their first publication
	published map[string]bool
	keyOf     map[string]string
	open      [2]driver.Held
}

func (m *heldModel) commit(t *rapid.T) {
	keys := rapid.SliceOfN(rapid.SampledFrom([]string{"k0", "k1", "k2", "k3", "k4", "k5"}), 1, 4).Draw(t, "keys")
	var msgs []uow.Message
	for _, k := range keys {
		msgs = append(msgs, uow.Message{ID: uuid.Must(uuid.NewV7()).String(), Topic: "t", Key: k, Name: "n", Payload: []byte(`{}`)})
	}
	err := uow.Do(context.Background(), m.s, func(_ context.Context, u *uow.Unit) error {
		for _, msg := range msgs {
			if err := u.Emit(msg); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	for _, msg := range msgs {
		m.committed[msg.Key] = append(m.committed[msg.Key], msg.ID)
		m.left[msg.Key] = append(m.left[msg.Key], msg.ID)
		m.keyOf[msg.ID] = msg.Key
	}
}

// hold has relay r hold a batch, when it holds none, and checks it against the model.
func (m *heldModel) hold(t *rapid.T, r int) {
	if m.open[r] != nil {
		t.Skip("relay holds a claim")
	}
	limit := rapid.IntRange(1, 6).Draw(t, "limit")
	h, err := m.d.Hold(context.Background(), m.now, time.Minute, limit)
	if err != nil {
		t.Fatalf("Hold: %v", err)
	}
	m.check(t, r, h, limit)
}

// check records h as relay r's open claim and checks it against the model and the other relay's
// claim.
func (m *heldModel) check(t *rapid.T, r int, h driver.Held, limit int) {
	msgs := h.Messages()
	if len(msgs) > limit {
		t.Fatalf("Hold(limit %d) held %d messages", limit, len(msgs))
	}
	m.open[r] = h
	other := map[string]bool{}
	if o := m.open[1-r]; o != nil {
		for _, c := range o.Messages() {
			other[c.Key] = true
		}
	}
	byKey := runs(msgs)
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		ids := byKey[key]
		if other[key] {
			t.Fatalf("both relays hold messages of key %s", key)
		}
		if left := m.left[key]; len(left) < len(ids) || !slices.Equal(left[:len(ids)], ids) {
			t.Fatalf("held %v of key %s, whose messages left are %v: not its earliest, in commit order", ids, key, left)
		}
	}
}

// handover has the other relay hold while relay r finishes its claim: the other's claim waits
// for a lane that r holds (as a second busy relay's claim does) and gets it when r's claim ends,
// after which both relays' claims take half the lanes for a while.
func (m *heldModel) handover(t *rapid.T, r int, record bool) {
	if m.open[r] == nil || m.open[1-r] != nil {
		t.Skip("needs relay r holding a claim and the other none")
	}
	type result struct {
		h   driver.Held
		err error
	}
	done := make(chan result, 1)
	go func() {
		h, err := m.d.Hold(context.Background(), m.now, time.Minute, 6)
		done <- result{h, err}
	}()
	time.Sleep(5 * time.Millisecond) // the other's claim is waiting for a lane (or, late, gets them all)
	m.finish(t, r, record)
	res := <-done
	if res.err != nil {
		t.Fatalf("Hold during a handover: %v", res.err)
	}
	m.check(t, 1-r, res.h, 6)
}

// finish has relay r finish its claim as outbox.Relay does, or die after publishing (record
// nothing) when record is false.
func (m *heldModel) finish(t *rapid.T, r int, record bool) {
	h := m.open[r]
	if h == nil {
		t.Skip("relay holds no claim")
	}
	m.open[r] = nil
	var published []string
	var failures []driver.Failure
	byKey := runs(h.Messages())
	for _, key := range slices.Sorted(maps.Keys(byKey)) { // draws in a fixed order
		ids := byKey[key]
		n := rapid.IntRange(0, len(ids)).Draw(t, "published of "+key)
		for _, id := range ids[:n] {
			m.publish(id)
		}
		published = append(published, ids[:n]...)
		if n < len(ids) && rapid.Bool().Draw(t, "fail the next") {
			f := driver.Failure{ID: ids[n], Reason: "broker refused"}
			if rapid.Bool().Draw(t, "retry in an hour") {
				f.RetryAt = m.now.Add(time.Hour)
			}
			failures = append(failures, f)
		}
	}
	if !record {
		published, failures = nil, nil
	}
	if err := h.Finish(context.Background(), published, failures); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	for _, id := range published {
		k := m.keyOf[id]
		m.left[k] = slices.DeleteFunc(m.left[k], func(x string) bool { return x == id })
	}
}

// publish records a publication of id.
func (m *heldModel) publish(id string) {
	if !m.published[id] {
		m.published[id] = true
		m.first[m.keyOf[id]] = append(m.first[m.keyOf[id]], id)
	}
}

// drain releases the open claims, then holds and publishes everything due two hours later, one
// relay, and checks that every committed message was published, first in commit order per key.
func (m *heldModel) drain(t *rapid.T) {
	m.abandon()
	for i := 0; ; i++ {
		if i > 200 {
			t.Fatalf("the outbox does not drain: %v left", m.left)
		}
		h, err := m.d.Hold(context.Background(), m.now.Add(2*time.Hour), time.Minute, 10)
		if err != nil {
			t.Fatalf("Hold: %v", err)
		}
		msgs := h.Messages()
		if len(msgs) == 0 {
			break
		}
		ids := make([]string, len(msgs))
		for i, c := range msgs {
			ids[i] = c.ID
			m.publish(c.ID)
		}
		if err := h.Finish(context.Background(), ids, nil); err != nil {
			t.Fatalf("Finish: %v", err)
		}
	}
	for key, ids := range m.committed {
		if !slices.Equal(m.first[key], ids) {
			t.Fatalf("key %s: first publications %v, committed %v", key, m.first[key], ids)
		}
	}
}

// abandon releases the open claims, recording nothing.
func (m *heldModel) abandon() {
	for r, h := range m.open {
		if h != nil {
			_ = h.Finish(context.Background(), nil, nil)
			m.open[r] = nil
		}
	}
}

// runs groups held messages by key, each key's in the order held.
func runs(msgs []driver.Claimed) map[string][]string {
	out := map[string][]string{}
	for _, c := range msgs {
		out[c.Key] = append(out[c.Key], c.ID)
	}
	return out
}

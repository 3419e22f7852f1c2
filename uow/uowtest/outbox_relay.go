package uowtest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// The clauses of the relay side of the outbox ([driver.Outbox], [driver.Operator]). Messages are
// committed through units (uow.Do and Unit.Emit); the times passed to Claim and OldestDue are
// the store's fake clock's, so "now" is the messages' CreatedAt unless a clause moves it.

// relayLease is the lease of the claims, unless a clause says otherwise.
const relayLease = time.Minute

// publishFor is how long the relays of OutboxConcurrentRelays take to publish a batch.
const publishFor = 200 * time.Microsecond

// tick is less than any time step the clauses take: drivers keep times to the microsecond.
const tick = time.Microsecond

// relay returns the driver's driver.Outbox; a driver without one fails the test.
func (e *env) relay() driver.Outbox {
	e.t.Helper()
	s, ok := e.d.(driver.Outbox)
	if !ok {
		e.t.Fatalf("driver %T does not implement driver.Outbox (Claim, Ack, Release), the relay side of "+
			"the outbox that every driver implements (see the package documentation)", e.d)
	}
	return s
}

// operator returns the driver's driver.Operator; a driver without one fails the test.
func (e *env) operator() driver.Operator {
	e.t.Helper()
	o, ok := e.d.(driver.Operator)
	if !ok {
		e.t.Fatalf("driver %T does not implement driver.Operator (Pending, Parked, Unpark, PurgeParked, OldestDue), "+
			"the operator side of the outbox that every driver implements and through which the suite "+
			"reads the outbox (see the package documentation)", e.d)
	}
	return o
}

// relayed returns a message to emit with the given key, numbered n in its payload and headers.
func relayed(key string, n int) uow.Message {
	return uow.Message{
		Topic:   "uowtest.relay",
		Key:     key,
		Name:    "uowtest.relayed",
		Payload: []byte(`{"n":` + strconv.Itoa(n) + `}`),
		Headers: map[string]string{"n": strconv.Itoa(n)},
	}
}

// emit commits one unit, through uow.Do, that emits msgs in order, and returns them as
// committed: with an ID and the clock's time as CreatedAt where they had none.
func (e *env) emit(msgs ...uow.Message) []uow.Message {
	e.t.Helper()
	out := make([]uow.Message, len(msgs))
	for i, m := range msgs {
		if m.ID == "" {
			m.ID = uuid.Must(uuid.NewV7()).String()
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = e.clock.Now()
		}
		out[i] = m
	}
	err := uow.Do(e.ctx, e.store, func(_ context.Context, u *uow.Unit) error {
		for _, m := range out {
			if err := u.Emit(m); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		e.t.Fatalf("committing a unit that emits %d messages: %v", len(msgs), err)
	}
	return out
}

// claim claims and fails the test on an error.
func (e *env) claim(owner string, now time.Time, lease time.Duration, limit int) []driver.Claimed {
	e.t.Helper()
	got, err := e.relay().Claim(e.ctx, owner, now, lease, limit)
	if err != nil {
		e.t.Fatalf("Claim(%q, now, %v, %d): %v", owner, lease, limit, err)
	}
	return got
}

// ack acks and fails the test on an error.
func (e *env) ack(owner string, msgs ...uow.Message) {
	e.t.Helper()
	if err := e.relay().Ack(e.ctx, owner, idsOf(msgs)); err != nil {
		e.t.Fatalf("Ack(%q, %v): %v", owner, idsOf(msgs), err)
	}
}

// release releases and fails the test on an error.
func (e *env) release(owner string, fs ...driver.Failure) {
	e.t.Helper()
	if err := e.relay().Release(e.ctx, owner, fs); err != nil {
		e.t.Fatalf("Release(%q, %d failures): %v", owner, len(fs), err)
	}
}

func idsOf(msgs []uow.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// names describes messages emitted by relayed: key and number, as "a1".
func names(msgs []uow.Message) string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Key + m.Headers["n"]
	}
	return "[" + strings.Join(out, " ") + "]"
}

func claimedMessages(cs []driver.Claimed) []uow.Message {
	out := make([]uow.Message, len(cs))
	for i, c := range cs {
		out[i] = c.Message
	}
	return out
}

// wantClaimed checks that a claim returned exactly want, in order, with every field as
// committed and sequence numbers rising; it reports whether the IDs matched.
func wantClaimed(t testing.TB, got []driver.Claimed, want []uow.Message, what string) bool {
	t.Helper()
	if !slices.Equal(idsOf(claimedMessages(got)), idsOf(want)) {
		t.Errorf("%s: claimed %s, want %s", what, names(claimedMessages(got)), names(want))
		return false
	}
	for i, c := range got {
		wantMessage(t, c.Message, want[i], fmt.Sprintf("%s: claimed message %s", what, names(want[i:i+1])))
		if i > 0 && c.Seq <= got[i-1].Seq {
			t.Errorf("%s: claimed %s with seq %d after seq %d: want commit order", what, names(want[i:i+1]), c.Seq, got[i-1].Seq)
		}
	}
	return true
}

// wantInOutbox checks which of msgs are still in the outbox (not acknowledged, not purged).
func (e *env) wantInOutbox(msgs []uow.Message, in bool, what string) {
	e.t.Helper()
	stored := make(map[string]bool)
	for _, m := range e.messages() {
		stored[m.ID] = true
	}
	for _, m := range msgs {
		if stored[m.ID] != in {
			state := map[bool]string{true: "is still in the outbox", false: "is gone from the outbox"}
			e.t.Errorf("%s: message %s %s", what, names([]uow.Message{m}), state[stored[m.ID]])
		}
	}
}

// testOutboxClaim: Claim returns due messages in commit order, at most limit of them, only
// key heads (a message whose key has an earlier one not leased to the claimer waits), and
// again those leased to the claimer, each with the fields its unit committed, its seq and no
// attempts; bad arguments wrap outbox.ErrInvalid.
func testOutboxClaim(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	r := e.relay()
	now := e.clock.Now()

	for _, c := range []struct {
		name  string
		owner string
		lease time.Duration
		limit int
	}{
		{"an empty owner", "", relayLease, 1},
		{"limit 0", "r", relayLease, 0},
		{"a zero lease", "r", 0, 1},
		{"a negative lease", "r", -time.Second, 1},
	} {
		_, err := r.Claim(e.ctx, c.owner, now, c.lease, c.limit)
		wantErr(t, err, outbox.ErrInvalid, "Claim with "+c.name)
	}
	if got := e.claim("r1", now, relayLease, 10); len(got) != 0 {
		t.Errorf("Claim on an empty outbox returned %s", names(claimedMessages(got)))
	}

	first := e.emit(relayed("a", 1), relayed("b", 1))
	second := e.emit(relayed("a", 2),
		uow.Message{Topic: "uowtest.other", Key: "c", Name: "uowtest.other", Payload: []byte(`"other"`),
			Headers: map[string]string{"n": "1", uow.HeaderCorrelationID: "corr"}})
	a1, b1, a2, c1 := first[0], first[1], second[0], second[1]

	got := e.claim("r1", now, relayLease, 2)
	if wantClaimed(t, got, []uow.Message{a1, b1}, "r1 claiming 2 of a1 b1 a2 c1") {
		for _, c := range got {
			if c.Attempts != 0 {
				t.Errorf("claimed %s with %d attempts, want 0", names([]uow.Message{c.Message}), c.Attempts)
			}
		}
	}
	wantClaimed(t, e.claim("r2", now, relayLease, 10), []uow.Message{c1},
		"r2 claiming while r1 holds a1 and b1 (a2 waits behind a1)")
	wantClaimed(t, e.claim("r1", now, relayLease, 10), []uow.Message{a1, b1, a2},
		"r1 claiming again: what it holds, and a2, which follows a1 leased to r1")
}

// testOutboxAck: Ack deletes the messages leased to the owner and leaves the others (leased to
// another owner, not leased, unknown IDs); the key's next message becomes claimable.
func testOutboxAck(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	now := e.clock.Now()
	msgs := e.emit(relayed("a", 1), relayed("a", 2), relayed("b", 1))
	a1, a2, b1 := msgs[0], msgs[1], msgs[2]

	wantErr(t, e.relay().Ack(e.ctx, "", idsOf(msgs)), outbox.ErrInvalid, "Ack with an empty owner")
	noErr(t, e.relay().Ack(e.ctx, "r1", nil), "Ack of no IDs")
	wantClaimed(t, e.claim("r1", now, relayLease, 10), []uow.Message{a1, b1}, "r1 claiming")

	e.ack("r2", a1, a2, b1)
	e.wantInOutbox(msgs, true, "after r2 acked messages it does not hold")
	wantClaimed(t, e.claim("r2", now, relayLease, 10), nil, "r2 claiming while r1 holds the heads")

	e.ack("r1", a1, a2, uow.Message{ID: uuid.Must(uuid.NewV7()).String()})
	e.wantInOutbox([]uow.Message{a1}, false, "after r1 acked a1")
	e.wantInOutbox([]uow.Message{a2, b1}, true, "after r1 acked a1 and a2 (not claimed) and an unknown ID")
	wantClaimed(t, e.claim("r2", now, relayLease, 10), []uow.Message{a2}, "r2 claiming after a1 was acked")

	e.ack("r1", b1)
	e.ack("r2", a2)
	e.wantInOutbox(msgs, false, "after everything was acked")
	wantClaimed(t, e.claim("r3", now.Add(time.Hour), relayLease, 10), nil, "claiming after everything was acked")
}

// testOutboxRelease: a released message loses its lease, counts one more attempt, and is
// claimable again at its retry time, not before, holding its key back meanwhile; a release by
// another owner than the lease holder is ignored.
func testOutboxRelease(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	now := e.clock.Now()
	msgs := e.emit(relayed("a", 1), relayed("b", 1))
	a1, b1 := msgs[0], msgs[1]

	wantErr(t, e.relay().Release(e.ctx, "", []driver.Failure{{ID: a1.ID}}), outbox.ErrInvalid, "Release with an empty owner")
	wantClaimed(t, e.claim("r1", now, relayLease, 10), []uow.Message{a1, b1}, "r1 claiming")

	retry := now.Add(10 * time.Second) // before r1's lease ends
	e.release("r2", driver.Failure{ID: b1.ID, RetryAt: now, Reason: "not mine"})
	e.release("r1", driver.Failure{ID: a1.ID, RetryAt: retry, Reason: "broker down"})
	e.ack("r1", b1)
	e.wantInOutbox([]uow.Message{b1}, false, "after r1 acked b1, which r2 tried to release")
	a2 := e.emit(relayed("a", 2))[0]

	wantClaimed(t, e.claim("r2", retry.Add(-tick), relayLease, 10), nil,
		"claiming just before a1's retry time (a2 waits behind a1)")
	got := e.claim("r2", retry, relayLease, 10)
	if wantClaimed(t, got, []uow.Message{a1}, "r2 claiming at a1's retry time, within r1's former lease") && got[0].Attempts != 1 {
		t.Errorf("a1 claimed after one failure with %d attempts, want 1", got[0].Attempts)
	}

	retry2 := retry.Add(time.Minute)
	e.release("r2", driver.Failure{ID: a1.ID, RetryAt: retry2, Reason: "broker down again"})
	wantClaimed(t, e.claim("r3", retry2.Add(-tick), relayLease, 10), nil, "claiming just before a1's second retry time")
	got = e.claim("r3", retry2, relayLease, 10)
	if wantClaimed(t, got, []uow.Message{a1}, "claiming at a1's second retry time") && got[0].Attempts != 2 {
		t.Errorf("a1 claimed after two failures with %d attempts, want 2", got[0].Attempts)
	}
	e.ack("r3", a1)
	got = e.claim("r3", retry2, relayLease, 10)
	if wantClaimed(t, got, []uow.Message{a2}, "claiming after a1 was acked") && got[0].Attempts != 0 {
		t.Errorf("a2 claimed with %d attempts, want 0: a1's failures are its own", got[0].Attempts)
	}
}

// testOutboxPark: a parked message is never claimed and holds back the later messages of its
// key while every other key flows; Parked lists it with its attempts, reason and parked time;
// Unpark makes it claimable with no attempts; PurgeParked deletes it, which unblocks the key.
func testOutboxPark(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	op := e.operator()
	now := e.clock.Now()
	msgs := e.emit(relayed("a", 1), relayed("b", 1), relayed("a", 2), relayed("b", 2))
	a1, b1, a2, b2 := msgs[0], msgs[1], msgs[2], msgs[3]

	wantClaimed(t, e.claim("r", now, relayLease, 10), []uow.Message{a1, b1}, "claiming")
	parkedFrom := time.Now()
	e.release("r", driver.Failure{ID: a1.ID, RetryAt: now, Park: true, Reason: "poison: cannot publish"})
	e.ack("r", b1)
	later := now.Add(24 * time.Hour)
	wantClaimed(t, e.claim("r", later, relayLease, 10), []uow.Message{b2}, "claiming with a1 parked (a2 waits, b flows)")
	e.ack("r", b2)
	wantClaimed(t, e.claim("r", later, relayLease, 10), nil, "claiming with only a1 (parked) and a2 left")

	_, err := op.Parked(e.ctx, 0)
	wantErr(t, err, outbox.ErrInvalid, "Parked with limit 0")
	parked, err := op.Parked(e.ctx, 10)
	if err != nil {
		t.Fatalf("Parked: %v", err)
	}
	if len(parked) != 1 || parked[0].ID != a1.ID {
		t.Fatalf("Parked returned %d messages, want a1 alone", len(parked))
	}
	p := parked[0]
	wantMessage(t, p.Message, a1, "the parked message")
	if p.Attempts != 1 || p.Reason != "poison: cannot publish" {
		t.Errorf("a1 parked with %d attempts and reason %q, want 1 and the release's reason", p.Attempts, p.Reason)
	}
	if p.ParkedAt.Before(parkedFrom.Add(-time.Hour)) || p.ParkedAt.After(time.Now().Add(time.Hour)) {
		t.Errorf("a1 parked at %v, want the time of the release (about %v)", p.ParkedAt, parkedFrom)
	}

	if n, err := op.Unpark(e.ctx, []string{a2.ID, b1.ID}); noErr(t, err, "Unpark of messages not parked") && n != 0 {
		t.Errorf("Unpark of a2 (waiting) and b1 (acked) unparked %d, want 0", n)
	}
	if n, err := op.Unpark(e.ctx, []string{a1.ID}); noErr(t, err, "Unpark(a1)") && n != 1 {
		t.Errorf("Unpark(a1) unparked %d, want 1", n)
	}
	if parked, err := op.Parked(e.ctx, 10); noErr(t, err, "Parked after Unpark") && len(parked) != 0 {
		t.Errorf("Parked after unparking a1 returned %d messages, want none", len(parked))
	}
	got := e.claim("r", now, relayLease, 10)
	if wantClaimed(t, got, []uow.Message{a1}, "claiming after a1 was unparked") && got[0].Attempts != 0 {
		t.Errorf("a1 claimed after Unpark with %d attempts, want 0", got[0].Attempts)
	}

	e.release("r", driver.Failure{ID: a1.ID, Park: true, Reason: "poison again"})
	if n, err := op.PurgeParked(e.ctx, time.Now().Add(-time.Hour)); noErr(t, err, "PurgeParked of those parked an hour ago") && n != 0 {
		t.Errorf("PurgeParked(an hour ago) deleted %d messages, want 0: a1 was parked just now", n)
	}
	e.wantInOutbox([]uow.Message{a1}, true, "after purging the messages parked an hour ago")
	if n, err := op.PurgeParked(e.ctx, time.Now().Add(time.Hour)); noErr(t, err, "PurgeParked") && n != 1 {
		t.Errorf("PurgeParked(in an hour) deleted %d messages, want 1 (a1)", n)
	}
	e.wantInOutbox([]uow.Message{a1}, false, "after purging a1")
	e.wantInOutbox([]uow.Message{a2}, true, "after purging a1")
	wantClaimed(t, e.claim("r", now, relayLease, 10), []uow.Message{a2}, "claiming after a1 was purged")
}

// testOutboxDelayed: a message is claimable from its DeliverAfter, not before, and holds back
// the later messages of its key meanwhile.
func testOutboxDelayed(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	now := e.clock.Now()
	at := func(m uow.Message, d time.Duration) uow.Message {
		m.DeliverAfter = now.Add(d)
		return m
	}
	msgs := e.emit(at(relayed("a", 1), time.Hour), relayed("a", 2), at(relayed("b", 1), 30*time.Minute), relayed("c", 1))
	a1, a2, b1, c1 := msgs[0], msgs[1], msgs[2], msgs[3]

	for _, step := range []struct {
		at   time.Duration
		want []uow.Message
		what string
	}{
		{0, []uow.Message{c1}, "claiming at once: a1 (and a2 behind it) and b1 are delayed"},
		{30*time.Minute - tick, nil, "claiming just before b1's DeliverAfter"},
		{30 * time.Minute, []uow.Message{b1}, "claiming at b1's DeliverAfter"},
		{time.Hour - tick, nil, "claiming just before a1's DeliverAfter"},
		{time.Hour, []uow.Message{a1}, "claiming at a1's DeliverAfter"},
		{time.Hour, []uow.Message{a2}, "claiming after a1 was acked"},
	} {
		got := e.claim("r", now.Add(step.at), relayLease, 10)
		wantClaimed(t, got, step.want, step.what)
		e.ack("r", claimedMessages(got)...)
	}
}

// testOutboxPerKeyOrder: the messages of a key are claimable strictly one after another: each
// claim (by whichever relay) takes at most the head of each key, the next only after the head
// is acknowledged, in commit order, while the other keys interleave.
func testOutboxPerKeyOrder(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	now := e.clock.Now()
	want := make(map[string][]uow.Message) // key -> its messages not yet claimed, in commit order
	total := 0
	for i := range 6 {
		var batch []uow.Message
		for _, key := range []string{"a", "b", "c"}[:1+i%3] {
			batch = append(batch, relayed(key, i))
		}
		for _, m := range e.emit(batch...) {
			want[m.Key] = append(want[m.Key], m)
			total++
		}
	}
	for round := 0; total > 0; round++ {
		owner := fmt.Sprint("r", round%2+1)
		got := claimedMessages(e.claim(owner, now, relayLease, 100))
		var heads []uow.Message
		for _, key := range []string{"a", "b", "c"} {
			if len(want[key]) > 0 {
				heads = append(heads, want[key][0])
			}
		}
		if !sameSet(idsOf(got), idsOf(heads)) {
			t.Fatalf("round %d: %s claimed %s, want the head of each key: %s", round, owner, names(got), names(heads))
		}
		for _, m := range got {
			want[m.Key] = want[m.Key][1:]
			total--
		}
		e.ack(owner, got...)
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// testOutboxConcurrentRelays: four relays (owners) claim, publish and ack concurrently while
// units commit messages: no message is claimed by one relay while another holds it, every
// message is published exactly once (leases never expire here), and the messages of each key
// in commit order.
func testOutboxConcurrentRelays(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	r := e.relay()
	now := e.clock.Now()
	concurrentRelays(e, func(ctx context.Context, owner string, limit int) ([]driver.Claimed, func([]string) error, error) {
		batch, err := r.Claim(ctx, owner, now, time.Hour, limit)
		if err != nil {
			return nil, nil, fmt.Errorf("driver.Outbox.Claim: %w", err)
		}
		return batch, func(ids []string) error {
			if err := r.Ack(ctx, owner, ids); err != nil {
				return fmt.Errorf("driver.Outbox.Ack: %w", err)
			}
			return nil
		}, nil
	})
}

// claimFunc claims a batch for owner and returns it with the function that acknowledges the
// published IDs of it.
type claimFunc func(ctx context.Context, owner string, limit int) (batch []driver.Claimed, ack func(ids []string) error, err error)

// concurrentRelays runs 4 relays claiming with claim, publishing (a short sleep) and acking
// while a producer commits 200 messages over 10 keys, and checks that each message was published
// once, by one relay at a time, in commit order per key, and that the outbox ends empty.
func concurrentRelays(e *env, claim claimFunc) {
	const total, keys, limit = 200, 10, 5
	t := e.t
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()

	var (
		mu        sync.Mutex
		holder    = make(map[string]string) // message ID -> owner while claimed and not acked
		published = make(map[string][]int)  // key -> numbers of its messages, in publish order
		count     = make(map[string]int)    // message ID -> publications
		acked     atomic.Int64
	)
	worker := func(owner string) error {
		for acked.Load() < total {
			batch, ack, err := claim(ctx, owner, limit)
			if err != nil {
				return err
			}
			if len(batch) == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			ids := make([]string, len(batch))
			mu.Lock()
			for i, c := range batch {
				if h, ok := holder[c.ID]; ok {
					mu.Unlock()
					return fmt.Errorf("claimed message %s (key %s) that %s holds", c.Headers["n"], c.Key, h)
				}
				holder[c.ID] = owner
				n, _ := strconv.Atoi(c.Headers["n"])
				published[c.Key] = append(published[c.Key], n)
				count[c.ID]++
				ids[i] = c.ID
			}
			mu.Unlock()
			time.Sleep(publishFor) // publishing: other relays claim meanwhile
			if err := ack(ids); err != nil {
				return err
			}
			mu.Lock()
			for _, id := range ids {
				delete(holder, id)
			}
			mu.Unlock()
			acked.Add(int64(len(ids)))
		}
		return nil
	}
	produce := func() error {
		for i := 0; i < total; {
			err := uow.Do(ctx, e.store, func(_ context.Context, u *uow.Unit) error {
				for j := i; j < min(i+1+i%3, total); j++ {
					if err := u.Emit(relayed(fmt.Sprint("k", j%keys), j)); err != nil {
						return err
					}
				}
				return nil
			}, nil)
			if err != nil {
				return fmt.Errorf("committing messages from %d: %w", i, err)
			}
			i = min(i+1+i%3, total)
		}
		return nil
	}

	var wg sync.WaitGroup
	errs := make(chan error, 5)
	wg.Go(func() {
		if err := produce(); err != nil {
			errs <- err
		}
	})
	for _, owner := range []string{"relay-1/a", "relay-1/b", "relay-2/a", "relay-2/b"} {
		wg.Go(func() {
			if err := worker(owner); err != nil {
				errs <- fmt.Errorf("%s: %w", owner, err)
				cancel()
			}
		})
	}
	done := make(chan error, 1)
	go func() { wg.Wait(); close(errs); done <- nil }()
	if _, ok := wait(done, 6*returnsWithin); !ok {
		cancel()
		<-done
		t.Errorf("4 relays did not deliver %d messages within %v: %d acked", total, 6*returnsWithin, acked.Load())
	}
	for err := range errs {
		t.Errorf("%v", err)
	}
	if t.Failed() {
		return
	}

	if len(count) != total {
		t.Errorf("%d messages committed, %d published", total, len(count))
	}
	for _, n := range count {
		if n != 1 {
			t.Errorf("a message was published %d times, want once", n)
			break
		}
	}
	for key, ns := range published {
		if !slices.IsSorted(ns) || len(slices.Compact(slices.Clone(ns))) != len(ns) {
			t.Errorf("the messages of key %s were published in the order %v, want commit order", key, ns)
		}
	}
	if msgs := e.messages(); len(msgs) != 0 {
		t.Errorf("%d messages left in the outbox after every message was acked", len(msgs))
	}
}

// testOutboxLeaseExpiry: a relay that claims and crashes (never acks) keeps its messages until
// its lease ends; then another relay claims them, and the late ack or release of the first
// changes nothing.
func testOutboxLeaseExpiry(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	now := e.clock.Now()
	msgs := e.emit(relayed("a", 1), relayed("a", 2))
	a1, a2 := msgs[0], msgs[1]

	wantClaimed(t, e.claim("crashed", now, relayLease, 10), []uow.Message{a1}, "the relay that will crash claiming")
	wantClaimed(t, e.claim("r2", now.Add(relayLease-tick), relayLease, 10), nil, "r2 claiming just before the lease ends")
	expired := now.Add(relayLease)
	got := e.claim("r2", expired, relayLease, 10)
	if wantClaimed(t, got, []uow.Message{a1}, "r2 claiming when the lease ends") && got[0].Attempts != 0 {
		t.Errorf("a1 taken over with %d attempts, want 0: an expired lease is no failed publication", got[0].Attempts)
	}

	e.ack("crashed", a1)
	e.release("crashed", driver.Failure{ID: a1.ID, Park: true, Reason: "late"})
	e.wantInOutbox([]uow.Message{a1}, true, "after the crashed relay's late ack and release")
	wantClaimed(t, e.claim("r3", expired.Add(relayLease/2), relayLease, 10), nil,
		"r3 claiming while r2 holds a1, after the crashed relay's late release")
	e.ack("r2", a1)
	wantClaimed(t, e.claim("r3", expired, relayLease, 10), []uow.Message{a2}, "claiming after r2 acked a1")
}

// testOutboxOldestDue: OldestDue returns the earliest creation time of the messages due at now
// and not parked, leased ones included, and nothing when there is none.
func testOutboxOldestDue(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	op := e.operator()
	check := func(now time.Time, want *uow.Message, what string) {
		t.Helper()
		got, ok, err := op.OldestDue(e.ctx, now)
		switch {
		case err != nil:
			t.Errorf("OldestDue %s: %v", what, err)
		case want == nil && ok:
			t.Errorf("OldestDue %s: %v, want none", what, got)
		case want != nil && !ok:
			t.Errorf("OldestDue %s: none, want %v (%s)", what, want.CreatedAt, names([]uow.Message{*want}))
		case want != nil && !got.Equal(want.CreatedAt):
			t.Errorf("OldestDue %s: %v, want %v (%s)", what, got, want.CreatedAt, names([]uow.Message{*want}))
		}
	}
	t0 := e.clock.Now()
	check(t0, nil, "of an empty outbox")

	delayed := relayed("a", 1)
	delayed.DeliverAfter = t0.Add(time.Hour)
	a1 := e.emit(delayed)[0]
	e.clock.advance(time.Minute)
	b1 := e.emit(relayed("b", 1))[0]
	e.clock.advance(time.Minute)
	c1 := e.emit(relayed("c", 1))[0]
	now := e.clock.Now()

	check(now, &b1, "with a1 delayed")
	check(t0.Add(time.Hour), &a1, "once a1 is due")
	wantClaimed(t, e.claim("r", now, relayLease, 10), []uow.Message{b1, c1}, "claiming")
	check(now, &b1, "with b1 leased")
	e.release("r", driver.Failure{ID: b1.ID, RetryAt: now.Add(time.Minute)})
	check(now, &c1, "with b1 retrying later")
	check(now.Add(time.Minute), &b1, "at b1's retry time")
	e.release("r", driver.Failure{ID: c1.ID, Park: true})
	check(now, nil, "with b1 retrying later and c1 parked")
}

// testOutboxPending: Pending lists the messages not acknowledged, whatever their state (due,
// delayed, leased, retrying, parked), in commit order, with the fields their units committed,
// rising seqs and their failed attempts; acknowledged and purged messages and those of a unit
// rolled back are not in it; the limit keeps the oldest; a limit below 1 wraps ErrInvalid.
func testOutboxPending(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	op := e.operator()
	now := e.clock.Now()
	pending := func(limit int, want []uow.Message, attempts []int, what string) {
		t.Helper()
		got, err := op.Pending(e.ctx, limit)
		if err != nil {
			t.Fatalf("Pending(%d) %s: %v", limit, what, err)
		}
		if !wantClaimed(t, got, want, fmt.Sprintf("Pending(%d) %s", limit, what)) {
			return
		}
		for i, c := range got {
			if c.Attempts != attempts[i] {
				t.Errorf("Pending(%d) %s: %s with %d attempts, want %d", limit, what, names(want[i:i+1]), c.Attempts, attempts[i])
			}
		}
	}
	for _, limit := range []int{0, -1} {
		_, err := op.Pending(e.ctx, limit)
		wantErr(t, err, outbox.ErrInvalid, fmt.Sprintf("Pending with limit %d", limit))
	}
	pending(10, nil, nil, "of an empty outbox")

	delayed := relayed("d", 1)
	delayed.DeliverAfter = now.Add(time.Hour)
	msgs := e.emit(relayed("a", 1), relayed("b", 1), relayed("c", 1), delayed)
	a1, b1, c1, d1 := msgs[0], msgs[1], msgs[2], msgs[3]
	u := e.begin()
	noErr(t, u.Emit(relayed("x", 1)), "Emit in a unit rolled back")
	e.rollback(u)
	a2 := e.emit(relayed("a", 2))[0]
	pending(10, []uow.Message{a1, b1, c1, d1, a2}, []int{0, 0, 0, 0, 0}, "of two committed units")

	wantClaimed(t, e.claim("r", now, relayLease, 10), []uow.Message{a1, b1, c1}, "claiming")
	e.ack("r", a1)
	e.release("r", driver.Failure{ID: b1.ID, RetryAt: now.Add(time.Minute), Reason: "broker down"},
		driver.Failure{ID: c1.ID, Park: true, Reason: "poison"})
	wantClaimed(t, e.claim("r", now, relayLease, 10), []uow.Message{a2}, "claiming after a1 was acked")
	state := "with a1 acked, b1 retrying, c1 parked, d1 delayed and a2 leased"
	pending(10, []uow.Message{b1, c1, d1, a2}, []int{1, 1, 0, 0}, state)
	pending(2, []uow.Message{b1, c1}, []int{1, 1}, state)

	if n, err := op.PurgeParked(e.ctx, time.Now().Add(time.Hour)); noErr(t, err, "PurgeParked") && n != 1 {
		t.Errorf("PurgeParked(in an hour) deleted %d messages, want 1 (c1)", n)
	}
	pending(10, []uow.Message{b1, d1, a2}, []int{1, 0, 0}, "after c1 was purged")
}

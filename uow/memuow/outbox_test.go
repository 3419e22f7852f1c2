package memuow_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// t0 is the relay's "now" in these tests, unless a test moves it.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const lease = time.Minute

// keyed returns a message with the given ID and key, created at t0.
func keyed(id, key string) uow.Message {
	return uow.Message{ID: id, Topic: "t", Key: key, Name: "n", Payload: []byte(`{"id":"` + id + `"}`),
		Headers: map[string]string{"h": id}, CreatedAt: t0}
}

// publish commits msgs, one commit each, in order.
func publish(t testing.TB, d *memuow.Driver, msgs ...uow.Message) {
	t.Helper()
	for _, m := range msgs {
		require.NoError(t, commit(t, d, &driver.Changes{Messages: []uow.Message{m}}))
	}
}

func claim(t testing.TB, d *memuow.Driver, owner string, now time.Time, limit int) []driver.Claimed {
	t.Helper()
	got, err := d.Claim(t.Context(), owner, now, lease, limit)
	require.NoError(t, err)
	return got
}

func claimedIDs(cs []driver.Claimed) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func messageIDs(ms []uow.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func ack(t testing.TB, d *memuow.Driver, owner string, ids ...string) {
	t.Helper()
	require.NoError(t, d.Ack(t.Context(), owner, ids))
}

func release(t testing.TB, d *memuow.Driver, owner string, fs ...driver.Failure) {
	t.Helper()
	require.NoError(t, d.Release(t.Context(), owner, fs))
}

func TestClaimOrderAndFields(t *testing.T) {
	d := memuow.New(nil)
	require.Empty(t, claim(t, d, "a", t0, 10), "an empty outbox")
	publish(t, d, keyed("a1", "a"), keyed("b1", "b"), keyed("a2", "a"), keyed("c1", "c"))

	got := claim(t, d, "r", t0, 2)
	require.Equal(t, []string{"a1", "b1"}, claimedIDs(got), "the limit, in commit order")
	assert.Equal(t, driver.Claimed{Message: keyed("a1", "a"), Seq: 1}, got[0])
	assert.Equal(t, driver.Claimed{Message: keyed("b1", "b"), Seq: 2}, got[1])

	got = claim(t, d, "r2", t0, 10)
	require.Equal(t, []string{"c1"}, claimedIDs(got), "a1 and b1 are leased to r, a2 waits behind a1")
	assert.Equal(t, int64(4), got[0].Seq)

	// r claims again: what it holds, and a2, which follows a1 leased to r.
	got = claim(t, d, "r", t0, 10)
	require.Equal(t, []string{"a1", "b1", "a2"}, claimedIDs(got))
	assert.Equal(t, int64(3), got[2].Seq)

	// The claimed messages are copies.
	got[0].Payload[0] = 'X'
	got[0].Headers["h"] = "changed"
	assert.Equal(t, keyed("a1", "a"), d.Messages()[0])
}

func TestClaimKeyHeadsOnly(t *testing.T) {
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"), keyed("a2", "a"), keyed("b1", "b"), keyed("a3", "a"), keyed("b2", "b"))

	require.Equal(t, []string{"a1", "b1"}, claimedIDs(claim(t, d, "r1", t0, 10)), "one message per key: its head")
	ack(t, d, "r1", "b1")
	require.Equal(t, []string{"b2"}, claimedIDs(claim(t, d, "r2", t0, 10)), "a waits behind a1, leased to r1")
	require.Empty(t, claim(t, d, "r3", t0, 10))

	ack(t, d, "r1", "a1")
	require.Equal(t, []string{"a2"}, claimedIDs(claim(t, d, "r3", t0, 10)), "a's new head")
	require.Equal(t, []string{"a2", "a3"}, claimedIDs(claim(t, d, "r3", t0, 10)), "a3 follows a2, leased to r3")
}

func TestClaimDelayed(t *testing.T) {
	d := memuow.New(nil)
	later := keyed("a1", "a")
	later.DeliverAfter = t0.Add(time.Hour)
	publish(t, d, later, keyed("a2", "a"), keyed("b1", "b"))

	require.Equal(t, []string{"b1"}, claimedIDs(claim(t, d, "r", t0, 10)), "a1 is not due and holds a2 back")
	ack(t, d, "r", "b1")
	require.Empty(t, claim(t, d, "r", t0.Add(time.Hour-time.Nanosecond), 10))
	require.Equal(t, []string{"a1"}, claimedIDs(claim(t, d, "r", t0.Add(time.Hour), 10)), "due at DeliverAfter")
	ack(t, d, "r", "a1")
	require.Equal(t, []string{"a2"}, claimedIDs(claim(t, d, "r", t0.Add(time.Hour), 10)))
}

func TestClaimLease(t *testing.T) {
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"), keyed("a2", "a"))

	require.Equal(t, []string{"a1"}, claimedIDs(claim(t, d, "r1", t0, 10)))
	require.Empty(t, claim(t, d, "r2", t0.Add(lease-time.Nanosecond), 10), "the lease runs until now+lease")

	// r1 "crashed": at the end of its lease r2 takes a1 over.
	got := claim(t, d, "r2", t0.Add(lease), 10)
	require.Equal(t, []string{"a1"}, claimedIDs(got))
	assert.Zero(t, got[0].Attempts, "an expired lease is no failed attempt")

	// r1 lost its lease: its ack does nothing; r2's deletes.
	ack(t, d, "r1", "a1", "a2")
	require.Equal(t, []string{"a1", "a2"}, messageIDs(d.Messages()))
	ack(t, d, "r2", "a1", "unknown")
	require.Equal(t, []string{"a2"}, messageIDs(d.Messages()), "acked messages are deleted")
}

func TestClaimAgainExtendsLease(t *testing.T) {
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"))
	claim(t, d, "r1", t0, 10)
	require.Equal(t, []string{"a1"}, claimedIDs(claim(t, d, "r1", t0.Add(lease/2), 10)), "owner's own lease")
	require.Empty(t, claim(t, d, "r2", t0.Add(lease), 10), "the lease runs from the second claim")
	require.Equal(t, []string{"a1"}, claimedIDs(claim(t, d, "r2", t0.Add(lease/2+lease), 10)))
}

func TestAckExpiredLeaseNotTakenOver(t *testing.T) {
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"))
	claim(t, d, "r1", t0, 1)
	ack(t, d, "r1", "a1") // late, but nobody claimed it since
	require.Empty(t, d.Messages())
}

func TestAckUnclaimed(t *testing.T) {
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"))
	ack(t, d, "r1", "a1")
	require.Len(t, d.Messages(), 1, "a message not leased to the owner stays")
	ack(t, d, "r1")
}

func TestRelease(t *testing.T) {
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"), keyed("b1", "b"))
	require.Len(t, claim(t, d, "r", t0, 10), 2)

	retry := t0.Add(10 * time.Second)
	release(t, d, "other", driver.Failure{ID: "b1", RetryAt: retry}) // not its lease: ignored
	release(t, d, "r", driver.Failure{ID: "a1", RetryAt: retry, Reason: "broker down"})
	ack(t, d, "r", "b1")
	require.Equal(t, []string{"a1"}, messageIDs(d.Messages()), "b1 acked despite the other owner's release")

	publish(t, d, keyed("a2", "a"))
	require.Empty(t, claim(t, d, "r", retry.Add(-time.Nanosecond), 10), "a1 waits for its retry time, a2 behind it")
	got := claim(t, d, "r", retry, 10)
	require.Equal(t, []string{"a1"}, claimedIDs(got))
	assert.Equal(t, 1, got[0].Attempts)

	retry2 := retry.Add(30 * time.Second)
	release(t, d, "r", driver.Failure{ID: "a1", RetryAt: retry2})
	release(t, d, "r", driver.Failure{ID: "a1", RetryAt: retry}) // no longer leased: ignored
	require.Empty(t, claim(t, d, "r2", retry, 10))
	got = claim(t, d, "r2", retry2, 10)
	require.Equal(t, []string{"a1"}, claimedIDs(got))
	assert.Equal(t, 2, got[0].Attempts)
}

func TestParkAndUnpark(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"), keyed("b1", "b"), keyed("a2", "a"))
	require.Equal(t, []string{"a1"}, claimedIDs(claim(t, d, "r", t0, 1)))

	before := time.Now()
	release(t, d, "r", driver.Failure{ID: "a1", RetryAt: t0, Reason: "poison", Park: true})
	after := time.Now()

	later := t0.Add(24 * time.Hour)
	require.Equal(t, []string{"b1"}, claimedIDs(claim(t, d, "r", later, 10)), "a1 parks key a only")
	ack(t, d, "r", "b1")
	require.Empty(t, claim(t, d, "r", later, 10))

	parked, err := d.Parked(ctx, 10)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	p := parked[0]
	assert.Equal(t, keyed("a1", "a"), p.Message)
	assert.Equal(t, int64(1), p.Seq)
	assert.Equal(t, 1, p.Attempts)
	assert.Equal(t, "poison", p.Reason)
	assert.False(t, p.ParkedAt.Before(before) || p.ParkedAt.After(after), "parked at %v, want the system time between %v and %v", p.ParkedAt, before, after)

	n, err := d.Unpark(ctx, []string{"a2", "b1", "missing"})
	require.NoError(t, err)
	assert.Zero(t, n, "none of them is parked")
	n, err = d.Unpark(ctx, []string{"a1", "a1"})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	parked, err = d.Parked(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, parked)

	got := claim(t, d, "r", t0, 10)
	require.Equal(t, []string{"a1"}, claimedIDs(got), "claimable at once")
	assert.Zero(t, got[0].Attempts, "unparking resets the attempts")
	ack(t, d, "r", "a1")
	require.Equal(t, []string{"a2"}, claimedIDs(claim(t, d, "r", t0, 10)), "the key flows again")
}

func TestParkedLimitAndOrder(t *testing.T) {
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"), keyed("b1", "b"), keyed("c1", "c"))
	claim(t, d, "r", t0, 10)
	release(t, d, "r",
		driver.Failure{ID: "c1", Park: true, Reason: "c"},
		driver.Failure{ID: "a1", Park: true, Reason: "a"},
		driver.Failure{ID: "b1", Park: true, Reason: "b"})
	parked, err := d.Parked(t.Context(), 2)
	require.NoError(t, err)
	require.Len(t, parked, 2)
	assert.Equal(t, []string{"a1", "b1"}, []string{parked[0].ID, parked[1].ID})
	assert.Equal(t, []string{"a", "b"}, []string{parked[0].Reason, parked[1].Reason})
}

func TestPurgeParked(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	publish(t, d, keyed("a1", "a"), keyed("a2", "a"), keyed("b1", "b"))
	claim(t, d, "r", t0, 1)
	before := time.Now()
	release(t, d, "r", driver.Failure{ID: "a1", Park: true})

	n, err := d.PurgeParked(ctx, before)
	require.NoError(t, err)
	assert.Zero(t, n, "parked after before")
	n, err = d.PurgeParked(ctx, time.Now().Add(time.Second))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{"a2", "b1"}, messageIDs(d.Messages()), "only the parked message is deleted")
	assert.Equal(t, []string{"a2", "b1"}, claimedIDs(claim(t, d, "r", t0, 10)), "the key flows again")
}

func TestOldestDue(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	oldest := func(now time.Time) (time.Time, bool) {
		t.Helper()
		at, ok, err := d.OldestDue(ctx, now)
		require.NoError(t, err)
		return at, ok
	}
	_, ok := oldest(t0)
	require.False(t, ok, "an empty outbox")

	delayed := keyed("a1", "a")
	delayed.CreatedAt = t0.Add(-time.Hour)
	delayed.DeliverAfter = t0.Add(time.Hour)
	publish(t, d, delayed)
	_, ok = oldest(t0)
	require.False(t, ok, "nothing due")
	at, ok := oldest(t0.Add(time.Hour))
	require.True(t, ok)
	require.Equal(t, delayed.CreatedAt, at)

	b1, c1 := keyed("b1", "b"), keyed("c1", "c")
	b1.CreatedAt, c1.CreatedAt = t0.Add(-time.Minute), t0.Add(-2*time.Minute)
	publish(t, d, b1, c1)
	at, ok = oldest(t0)
	require.True(t, ok)
	require.Equal(t, c1.CreatedAt, at, "the earliest creation time, not the first in the outbox")

	claim(t, d, "r", t0, 10) // b1 and c1
	at, _ = oldest(t0)
	require.Equal(t, c1.CreatedAt, at, "leased messages are not published yet")
	release(t, d, "r", driver.Failure{ID: "c1", RetryAt: t0.Add(time.Minute)}, driver.Failure{ID: "b1", Park: true})
	_, ok = oldest(t0)
	require.False(t, ok, "c1 retries later and b1 is parked")
	at, _ = oldest(t0.Add(time.Minute))
	require.Equal(t, c1.CreatedAt, at)
}

func TestRelayValidation(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	for _, c := range []struct {
		name string
		err  error
	}{
		{"claim with an empty owner", func() error { _, err := d.Claim(ctx, "", t0, lease, 1); return err }()},
		{"claim with a zero lease", func() error { _, err := d.Claim(ctx, "r", t0, 0, 1); return err }()},
		{"claim with a negative lease", func() error { _, err := d.Claim(ctx, "r", t0, -time.Second, 1); return err }()},
		{"claim with limit 0", func() error { _, err := d.Claim(ctx, "r", t0, lease, 0); return err }()},
		{"ack with an empty owner", d.Ack(ctx, "", []string{"x"})},
		{"release with an empty owner", d.Release(ctx, "", []driver.Failure{{ID: "x"}})},
		{"parked with limit 0", func() error { _, err := d.Parked(ctx, 0); return err }()},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorIs(t, c.err, outbox.ErrInvalid)
		})
	}
}

func TestRelayContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	d := memuow.New(nil)
	_, err := d.Claim(ctx, "r", t0, lease, 1)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, d.Ack(ctx, "r", nil), context.Canceled)
	require.ErrorIs(t, d.Release(ctx, "r", nil), context.Canceled)
	_, err = d.Parked(ctx, 1)
	require.ErrorIs(t, err, context.Canceled)
	_, err = d.Unpark(ctx, nil)
	require.ErrorIs(t, err, context.Canceled)
	_, err = d.PurgeParked(ctx, t0)
	require.ErrorIs(t, err, context.Canceled)
	_, _, err = d.OldestDue(ctx, t0)
	require.ErrorIs(t, err, context.Canceled)
}

// TestRelaysConcurrent runs two relay processes of two workers each while a producer commits
// 500 messages over 20 keys. Each worker is an owner of its own (the claims of one owner must
// not overlap) that claims a batch, publishes it and acks it. Leases never expire, so every
// message is published exactly once, and the messages of each key in the order committed.
func TestRelaysConcurrent(t *testing.T) {
	const total, keys = 500, 20
	ctx := t.Context()
	d := memuow.New(nil)

	var (
		mu        sync.Mutex
		published = make(map[string][]int) // key -> the numbers of its messages, in publish order
		count     = make(map[string]int)   // message ID -> publications
		by        = make(map[string]int)   // owner -> publications
		acked     atomic.Int64
	)
	worker := func(owner string) error {
		for acked.Load() < total {
			batch, err := d.Claim(ctx, owner, t0, time.Hour, 7)
			if err != nil {
				return err
			}
			if len(batch) == 0 {
				time.Sleep(20 * time.Microsecond)
				continue
			}
			ids := make([]string, len(batch))
			mu.Lock()
			for i, c := range batch {
				n, err := strconv.Atoi(c.Headers["n"])
				if err != nil {
					mu.Unlock()
					return err
				}
				published[c.Key] = append(published[c.Key], n)
				count[c.ID]++
				by[owner]++
				ids[i] = c.ID
			}
			mu.Unlock()
			if err := d.Ack(ctx, owner, ids); err != nil {
				return err
			}
			acked.Add(int64(len(ids)))
		}
		return nil
	}

	var wg sync.WaitGroup
	errs := make(chan error, 5)
	wg.Go(func() { // the producer, committing 1 to 3 messages at a time
		for i := 0; i < total; {
			var c driver.Changes
			for n := 1 + i%3; n > 0 && i < total; n-- {
				m := keyed(fmt.Sprint("m", i), fmt.Sprint("k", i%keys))
				m.Headers = map[string]string{"n": strconv.Itoa(i)}
				c.Messages = append(c.Messages, m)
				i++
			}
			tx, err := d.Begin(ctx)
			if err == nil {
				err = tx.Commit(ctx, &c)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	})
	for _, owner := range []string{"relay-1/a", "relay-1/b", "relay-2/a", "relay-2/b"} {
		wg.Go(func() {
			if err := worker(owner); err != nil {
				errs <- fmt.Errorf("%s: %w", owner, err)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the relays did not drain the outbox: %d of %d acked", acked.Load(), total)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	t.Logf("publications by owner: %v", by)
	require.Len(t, count, total, "every message published")
	for id, n := range count {
		require.Equal(t, 1, n, "message %s published %d times", id, n)
	}
	for key, ns := range published {
		for i := 1; i < len(ns); i++ {
			require.Less(t, ns[i-1], ns[i], "key %s published out of order: %v", key, ns)
		}
	}
	require.Empty(t, d.Messages(), "every message acked")
}

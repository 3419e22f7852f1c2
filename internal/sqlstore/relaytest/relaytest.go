// Package relaytest is the SQL drivers' own test of their relay side (driver.Outbox and
// driver.Operator, implemented once in internal/sqlstore): each driver's tests call [Run] with a
// constructor of fresh, migrated drivers. The exported conformance suite (uow/uowtest) checks
// the contract on every driver; this one also checks what only the SQL implementation promises
// (the columns of migration 0002, concurrent claims under FOR UPDATE SKIP LOCKED).
package relaytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow/driver"
)

// Store is a driver under test: it commits messages as a driver.Driver and relays them.
type Store interface {
	driver.Driver
	driver.Outbox
	driver.Operator
}

// Run runs every test, each on a driver of its own from newStore.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"Invalid", testInvalid},
		{"ClaimInSeqOrder", testClaimInSeqOrder},
		{"HeadOfKeyOnly", testHeadOfKeyOnly},
		{"OwnLeasedEarlierLetsLaterThrough", testOwnLeased},
		{"Delayed", testDelayed},
		{"LeaseExcludesOthersUntilItExpires", testLease},
		{"AckOnlyOwnLease", testAck},
		{"ReleaseRetries", testReleaseRetries},
		{"ParkBlocksKeyOnlyAndUnpark", testPark},
		{"PurgeParked", testPurgeParked},
		{"OldestDue", testOldestDue},
		{"ConcurrentRelays", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// base is the tests' clock: claims pass times relative to it, so no test sleeps.
var base = time.Now().UTC().Truncate(time.Microsecond)

// msg is a message of key k whose ID is id.
func msg(id, key string) driver.Message {
	return driver.Message{
		ID: id, Topic: "test.topic", Key: key, Name: "test.Happened",
		Payload:   []byte(`{"id":"` + id + `"}`),
		Headers:   map[string]string{"correlation-id": "c-" + id},
		CreatedAt: base,
	}
}

// commit commits the messages in one transaction, in order.
func commit(t *testing.T, s Store, msgs ...driver.Message) {
	t.Helper()
	ctx := t.Context()
	tx, err := s.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx, &driver.Changes{Messages: msgs}))
}

// claim claims and returns the IDs in the order returned, checking seq order.
func claim(t *testing.T, s Store, owner string, now time.Time, lease time.Duration, limit int) []string {
	t.Helper()
	got, err := s.Claim(t.Context(), owner, now, lease, limit)
	require.NoError(t, err)
	require.True(t, slices.IsSortedFunc(got, func(a, b driver.Claimed) int { return int(a.Seq - b.Seq) }), "claim not in seq order")
	ids := []string{}
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	return ids
}

func ack(t *testing.T, s Store, owner string, ids ...string) {
	t.Helper()
	require.NoError(t, s.Ack(t.Context(), owner, ids))
}

// pending returns the messages in the outbox, in seq order.
func pending(t *testing.T, s Store) []driver.Message {
	t.Helper()
	got, err := s.Pending(t.Context(), 1000)
	require.NoError(t, err)
	msgs := []driver.Message{}
	for _, c := range got {
		msgs = append(msgs, c.Message)
	}
	return msgs
}

// ids returns the IDs of the messages in the outbox, in seq order.
func ids(t *testing.T, s Store) []string {
	t.Helper()
	out := []string{}
	for _, m := range pending(t, s) {
		out = append(out, m.ID)
	}
	return out
}

const hour = time.Hour

func testInvalid(t *testing.T, s Store) {
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"empty owner": func() error { _, err := s.Claim(ctx, "", base, hour, 1); return err },
		"zero limit":  func() error { _, err := s.Claim(ctx, "a", base, hour, 0); return err },
		"zero lease":  func() error { _, err := s.Claim(ctx, "a", base, 0, 1); return err },
		"ack owner":   func() error { return s.Ack(ctx, "", []string{"x"}) },
		"release":     func() error { return s.Release(ctx, "", []driver.Failure{{ID: "x"}}) },
		"parked":      func() error { _, err := s.Parked(ctx, 0); return err },
	} {
		require.ErrorIs(t, call(), driver.ErrInvalid, name)
	}
	// Empty batches do nothing.
	require.NoError(t, s.Ack(ctx, "a", nil))
	require.NoError(t, s.Release(ctx, "a", nil))
	n, err := s.Unpark(ctx, nil)
	require.NoError(t, err)
	require.Zero(t, n)
}

func testClaimInSeqOrder(t *testing.T, s Store) {
	// Distinct keys: every message is a head. Two commits, so seq order is commit order.
	commit(t, s, msg("m1", "k1"), msg("m2", "k2"), msg("m3", "k3"))
	commit(t, s, msg("m4", "k4"), msg("m5", "k5"))
	got, err := s.Claim(t.Context(), "a", base, hour, 2)
	require.NoError(t, err)
	require.Len(t, got, 2, "the limit bounds the claim")
	want := msg("m1", "k1")
	require.Equal(t, want, got[0].Message, "the claimed message is the committed one")
	require.Zero(t, got[0].Attempts)
	require.Less(t, got[0].Seq, got[1].Seq)
	require.Equal(t, []string{"m3", "m4", "m5"}, claim(t, s, "b", base, hour, 10))
	// Pending keeps returning the messages as committed, leases and all.
	require.Equal(t, []string{"m1", "m2", "m3", "m4", "m5"}, ids(t, s))
	require.Equal(t, want, pending(t, s)[0])
}

func testHeadOfKeyOnly(t *testing.T, s Store) {
	commit(t, s, msg("a1", "a"), msg("a2", "a"), msg("b1", "b"), msg("a3", "a"), msg("b2", "b"))
	require.Equal(t, []string{"a1", "b1"}, claim(t, s, "r", base, hour, 10))
	require.Empty(t, claim(t, s, "other", base, hour, 10), "the heads are leased, the rest wait")
	ack(t, s, "r", "a1")
	require.Equal(t, []string{"a2"}, claim(t, s, "other", base, hour, 10))
	ack(t, s, "r", "b1")
	require.Equal(t, []string{"b2"}, claim(t, s, "third", base, hour, 10), "a3 waits behind a2, leased to other")
}

func testOwnLeased(t *testing.T, s Store) {
	commit(t, s, msg("a1", "a"), msg("a2", "a"), msg("a3", "a"))
	require.Equal(t, []string{"a1"}, claim(t, s, "r", base, hour, 10))
	// a1 is leased to r: r's next claim gets it again (extending its lease) and a2 behind it.
	require.Equal(t, []string{"a1", "a2"}, claim(t, s, "r", base, hour, 10))
	require.Equal(t, []string{"a1", "a2", "a3"}, claim(t, s, "r", base, hour, 10))
	require.Empty(t, claim(t, s, "other", base, hour, 10))
}

func testDelayed(t *testing.T, s Store) {
	later := msg("d1", "d")
	later.DeliverAfter = base.Add(hour)
	commit(t, s, later, msg("d2", "d"), msg("e1", "e"))
	require.Equal(t, []string{"e1"}, claim(t, s, "r", base, hour, 10), "d1 is not due and d2 waits behind it")
	ack(t, s, "r", "e1")
	require.Empty(t, claim(t, s, "r", base.Add(hour-time.Microsecond), hour, 10))
	got, err := s.Claim(t.Context(), "r", base.Add(hour), hour, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, later, got[0].Message)
}

func testLease(t *testing.T, s Store) {
	commit(t, s, msg("m1", "k"), msg("m2", "k"))
	const lease = time.Minute
	require.Equal(t, []string{"m1"}, claim(t, s, "a", base, lease, 10))
	require.Empty(t, claim(t, s, "b", base.Add(lease-time.Microsecond), lease, 10), "a's lease runs")
	// a crashed: its lease expires and b takes over, m1 first.
	takeover := base.Add(lease)
	require.Equal(t, []string{"m1"}, claim(t, s, "b", takeover, lease, 10))
	require.Empty(t, claim(t, s, "a", takeover, lease, 10), "now b holds the lease")
	ack(t, s, "a", "m1") // a's lease is lost: its ack does nothing
	require.Equal(t, []string{"m1", "m2"}, ids(t, s))
	ack(t, s, "b", "m1")
	require.Equal(t, []string{"m2"}, claim(t, s, "a", takeover, lease, 10))
}

func testAck(t *testing.T, s Store) {
	commit(t, s, msg("m1", "k1"), msg("m2", "k2"), msg("m3", "k3"))
	require.Equal(t, []string{"m1", "m2"}, claim(t, s, "a", base, hour, 2))
	ack(t, s, "b", "m1", "m2", "m3") // none is leased to b
	require.Equal(t, []string{"m1", "m2", "m3"}, ids(t, s))
	ack(t, s, "a", "m1", "m2", "m3") // m3 is not leased to a
	require.Equal(t, []string{"m3"}, ids(t, s))
	ack(t, s, "a", "m1", "unknown")
	require.Equal(t, []string{"m3"}, ids(t, s))
}

func testReleaseRetries(t *testing.T, s Store) {
	ctx := t.Context()
	commit(t, s, msg("m1", "k"), msg("m2", "k"), msg("o1", "other"))
	require.Equal(t, []string{"m1", "o1"}, claim(t, s, "a", base, hour, 10))
	retry := base.Add(time.Minute)
	require.NoError(t, s.Release(ctx, "b", []driver.Failure{{ID: "o1", RetryAt: retry.Add(hour), Reason: "not b's"}}))
	require.NoError(t, s.Release(ctx, "a", []driver.Failure{{ID: "m1", RetryAt: retry, Reason: "broker down"}}))
	ack(t, s, "a", "o1") // o1 was still a's: b's release did nothing
	require.Equal(t, []string{"m1", "m2"}, ids(t, s))
	require.Empty(t, claim(t, s, "a", retry.Add(-time.Microsecond), hour, 10), "m1 waits for its retry time, m2 behind it")
	got, err := s.Claim(ctx, "b", retry, hour, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "m1", got[0].ID)
	require.Equal(t, 1, got[0].Attempts)
	// A zero RetryAt retries at once; attempts add up.
	require.NoError(t, s.Release(ctx, "b", []driver.Failure{{ID: "m1", Reason: "again"}}))
	got, err = s.Claim(ctx, "a", retry, hour, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, 2, got[0].Attempts)
}

func testPark(t *testing.T, s Store) {
	ctx := t.Context()
	commit(t, s, msg("p1", "poison"), msg("p2", "poison"), msg("k1", "k"), msg("k2", "k"))
	require.Equal(t, []string{"p1", "k1"}, claim(t, s, "a", base, hour, 10))
	before := time.Now()
	long := string(make([]byte, 5000)) // NULs and too long: kept valid and short
	require.NoError(t, s.Release(ctx, "a", []driver.Failure{{ID: "p1", RetryAt: base, Park: true, Reason: "poison " + long}}))
	after := time.Now()
	ack(t, s, "a", "k1")
	// The poison key is blocked at any time; the other key flows.
	require.Equal(t, []string{"k2"}, claim(t, s, "a", base.Add(24*hour), hour, 10))

	parked, err := s.Parked(ctx, 10)
	require.NoError(t, err)
	require.Len(t, parked, 1)
	p := parked[0]
	require.Equal(t, msg("p1", "poison"), p.Message)
	require.Equal(t, 1, p.Attempts)
	require.Equal(t, "poison ", p.Reason)
	require.NotZero(t, p.Seq)
	require.False(t, p.ParkedAt.Before(before.Truncate(time.Microsecond)) || p.ParkedAt.After(after), "parked at %v, not within [%v, %v]", p.ParkedAt, before, after)

	n, err := s.Unpark(ctx, []string{"p1", "k2", "unknown"})
	require.NoError(t, err)
	require.Equal(t, 1, n, "only p1 was parked")
	parked, err = s.Parked(ctx, 10)
	require.NoError(t, err)
	require.Empty(t, parked)
	got, err := s.Claim(ctx, "b", base, hour, 10)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, "p1", got[0].ID)
	require.Zero(t, got[0].Attempts, "unparking forgets the attempts")
}

func testPurgeParked(t *testing.T, s Store) {
	ctx := t.Context()
	commit(t, s, msg("p1", "a"), msg("p2", "b"), msg("p3", "c"), msg("q1", "a"))
	require.Equal(t, []string{"p1", "p2", "p3"}, claim(t, s, "r", base, hour, 3))
	require.NoError(t, s.Release(ctx, "r", []driver.Failure{{ID: "p1", Park: true}, {ID: "p2", Park: true}, {ID: "p3", RetryAt: base}}))
	parked, err := s.Parked(ctx, 1)
	require.NoError(t, err)
	require.Len(t, parked, 1, "the limit bounds the list")
	require.Equal(t, "p1", parked[0].ID)

	n, err := s.PurgeParked(ctx, time.Now().Add(-hour))
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = s.PurgeParked(ctx, time.Now().Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, []string{"p3", "q1"}, ids(t, s))
	require.Equal(t, []string{"p3", "q1"}, claim(t, s, "r", base, hour, 10), "purging p1 lets q1 through")
}

func testOldestDue(t *testing.T, s Store) {
	ctx := t.Context()
	_, ok, err := s.OldestDue(ctx, base)
	require.NoError(t, err)
	require.False(t, ok, "empty outbox")

	at := func(id, key string, created time.Time, after time.Time) driver.Message {
		m := msg(id, key)
		m.CreatedAt, m.DeliverAfter = created, after
		return m
	}
	commit(t, s,
		at("delayed", "d", base.Add(-3*hour), base.Add(hour)),
		at("parked", "p", base.Add(-2*hour), time.Time{}),
		at("due", "x", base.Add(-hour), time.Time{}),
		at("newer", "y", base.Add(-time.Minute), time.Time{}),
	)
	require.Equal(t, []string{"parked", "due", "newer"}, claim(t, s, "r", base, hour, 10))
	require.NoError(t, s.Release(ctx, "r", []driver.Failure{{ID: "parked", Park: true}}))
	oldest, ok, err := s.OldestDue(ctx, base)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, base.Add(-hour), oldest, "leased messages count; delayed and parked ones do not")
	oldest, ok, err = s.OldestDue(ctx, base.Add(hour))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, base.Add(-3*hour), oldest, "the delayed message is due")
}

// testConcurrent runs relays claiming and acknowledging at once, each goroutine an owner of its
// own (a relay claims from one goroutine at a time: a claim returns the owner's own leased
// messages again). No lease expires, so every message is published exactly once, and the
// messages of each key in seq order.
func testConcurrent(t *testing.T, s Store) {
	const (
		messages = 500
		keys     = 20
		relays   = 4
	)
	var batch []driver.Message
	for i := range messages {
		batch = append(batch, msg(fmt.Sprintf("m%03d", i), fmt.Sprintf("k%02d", i%keys)))
		if len(batch) == 50 { // several commits
			commit(t, s, batch...)
			batch = nil
		}
	}
	var (
		mu        sync.Mutex
		published = map[string][]int64{} // per key, the seqs in publish order
		seen      = map[string]int{}
		remaining atomic.Int64
		wg        sync.WaitGroup
	)
	remaining.Store(messages)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	errs := make(chan error, relays)
	for r := range relays {
		owner := fmt.Sprintf("relay-%d", r)
		wg.Go(func() {
			for remaining.Load() > 0 && ctx.Err() == nil {
				got, err := s.Claim(ctx, owner, time.Now(), hour, 1+r*3)
				if errors.Is(err, driver.ErrConflict) {
					continue // SQLite: the write lock's wait timed out
				}
				if err != nil {
					errs <- fmt.Errorf("%s: claim: %w", owner, err)
					return
				}
				if len(got) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				ids := make([]string, len(got))
				mu.Lock() // "publish"
				for i, c := range got {
					published[c.Key] = append(published[c.Key], c.Seq)
					seen[c.ID]++
					ids[i] = c.ID
				}
				mu.Unlock()
				for {
					err := s.Ack(ctx, owner, ids)
					if errors.Is(err, driver.ErrConflict) {
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("%s: ack: %w", owner, err)
						return
					}
					break
				}
				remaining.Add(-int64(len(got)))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, ctx.Err(), "the relays did not drain the outbox in time")
	require.Len(t, seen, messages)
	for id, n := range seen {
		require.Equal(t, 1, n, "message %s published %d times", id, n)
	}
	require.Len(t, published, keys)
	for k, seqs := range published {
		require.True(t, slices.IsSorted(seqs) && len(slices.Compact(slices.Clone(seqs))) == len(seqs), "key %s published out of order: %v", k, seqs)
	}
	require.Empty(t, ids(t, s))
}

package uowtest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// CommitPauser is implemented by a driver under test that can hold a commit after it has written
// the commit's changes and before the transaction commits. The clause OutboxCommitOrder needs it
// to make two units commit in the reverse of the order they inserted their messages in, and is
// skipped for a driver without it. A driver that does not want it in its API declares it in an
// internal test file (package mydriver, file mydriver_test.go), or returns from newDriver a test
// wrapper that embeds the driver and adds the method. memuow's *Driver implements it.
type CommitPauser interface {
	// PauseCommits makes every later commit call pause, with the commit's context and changes,
	// after its writes and before it commits, and go on when pause returns; nil removes it. It
	// must be safe to call while other goroutines commit.
	PauseCommits(pause func(ctx context.Context, c *driver.Changes))
}

// commitOrderWait is how long the second unit of OutboxCommitOrder is given to commit while the
// first is held: a driver that lets it commit does so well within it.
const commitOrderWait = 200 * time.Millisecond

// testOutboxCommitOrder: the messages of one key are stored, and claimed, in the order their
// units commit, whatever order the units inserted them in. Unit A writes its message of key k
// and is held before it commits (CommitPauser); unit B then commits a message of k. A driver
// may let B commit first (B's message then comes first) or make B wait until A has committed
// (A's first), but a relay must see the messages of k in the order the units committed: with
// the relay stopped until both committed, and with a relay claiming all along.
func testOutboxCommitOrder(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	for _, running := range []bool{false, true} {
		e := start(t, newDriver)
		p, ok := e.d.(CommitPauser)
		if !ok {
			t.Skipf("driver %T does not implement uowtest.CommitPauser: no way to hold a commit between its writes and its commit", e.d)
		}
		commitOrder(e, p, running)
	}
}

// commitOrder runs one round of OutboxCommitOrder on a fresh driver.
func commitOrder(e *env, p CommitPauser, running bool) {
	t := e.t
	what := map[bool]string{false: "relay stopped", true: "relay running"}[running]
	a := relayed("k", 1)
	a.ID = uuid.Must(uuid.NewV7()).String()
	b := relayed("k", 2)
	b.ID = uuid.Must(uuid.NewV7()).String()

	held, release := make(chan struct{}), make(chan struct{})
	var holdOnce sync.Once
	p.PauseCommits(func(ctx context.Context, c *driver.Changes) {
		if !slices.ContainsFunc(c.Messages, func(m uow.Message) bool { return m.ID == a.ID }) {
			return
		}
		holdOnce.Do(func() { close(held) })
		select {
		case <-release:
		case <-ctx.Done():
		case <-time.After(returnsWithin):
		}
	})
	defer p.PauseCommits(nil)
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var (
		mu        sync.Mutex
		published []uow.Message
		relayErr  error
	)
	relayDone := make(chan struct{})
	if running {
		go func() {
			defer close(relayDone)
			r := e.relay()
			for ctx.Err() == nil {
				batch, err := r.Claim(ctx, "running", e.clock.Now(), relayLease, 10)
				if err == nil && len(batch) > 0 {
					err = r.Ack(ctx, "running", idsOf(claimedMessages(batch)))
				}
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						relayErr = err
						mu.Unlock()
					}
					return
				}
				mu.Lock()
				published = append(published, claimedMessages(batch)...)
				mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		}()
	} else {
		close(relayDone)
	}

	emit := func(m uow.Message) <-chan error {
		return async(func() error {
			return e.inUnit(ctx, func(u *uow.Unit) error { return u.Emit(m) })
		})
	}
	aDone := emit(a)
	select {
	case <-held:
	case err := <-aDone:
		t.Fatalf("%s: unit A's commit returned (error: %v) without reaching the pause", what, err)
	case <-time.After(returnsWithin):
		t.Fatalf("%s: unit A's commit did not reach the pause within %v", what, returnsWithin)
	}
	bDone := emit(b)
	order := []uow.Message{a, b} // B waits for A, unless it commits while A is held
	if err, returned := wait(bDone, commitOrderWait); returned {
		if err != nil {
			t.Fatalf("%s: unit B's commit while unit A was held: %v", what, err)
		}
		order = []uow.Message{b, a}
		bDone = nil
	}
	releaseOnce()
	if err := await(t, aDone, what+": unit A's commit"); err != nil {
		t.Fatalf("%s: unit A's commit: %v", what, err)
	}
	if bDone != nil {
		if err := await(t, bDone, what+": unit B's commit"); err != nil {
			t.Fatalf("%s: unit B's commit: %v", what, err)
		}
	}

	var got []uow.Message
	if running {
		for deadline := time.Now().Add(returnsWithin); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			n, err := len(published), relayErr
			mu.Unlock()
			if err != nil {
				t.Fatalf("%s: the running relay: %v", what, err)
			}
			if n >= 2 || time.Now().After(deadline) {
				break
			}
		}
		cancel()
		<-relayDone
		got = published
	} else {
		for range 3 { // a claim takes a key's head; the next one after the head is acknowledged
			batch := claimedMessages(e.claim("stopped", e.clock.Now(), relayLease, 10))
			e.ack("stopped", batch...)
			got = append(got, batch...)
		}
	}
	if !slices.Equal(idsOf(got), idsOf(order)) {
		t.Errorf("%s: unit A (message %s) held between its writes and its commit, unit B (message %s) committing meanwhile: "+
			"the relay got %s, want the order the units committed in, %s", what, names([]uow.Message{a}), names([]uow.Message{b}),
			names(got), names(order))
	}
}

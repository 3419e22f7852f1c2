package outbox

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// Publisher sends messages to a broker or bus. Publish returns nil only when the broker accepted
// (confirmed) every message. An error that is (or wraps) a [*PublishError] with one entry per
// message says which messages failed: the relay acknowledges the others. On any other error the
// relay publishes the messages one by one to find the failing ones, so a message may be
// published more than once: delivery is at least once, and consumers deduplicate on Message.ID.
// Implementations are safe for concurrent use.
type Publisher interface {
	Publish(ctx context.Context, msgs []uow.Message) error
}

// RelayOptions tune a [Relay]. The zero value (or nil) means the defaults.
type RelayOptions struct {
	// ID names the relay in leases and logs; "" means host-pid-random.
	ID string
	// BatchSize is how many messages one claim takes; 0 means 100. Memory stays bounded by it
	// whatever the backlog.
	BatchSize int
	// Lease is how long claimed messages stay reserved to this relay; a relay that crashed
	// loses its claim after it, and another relay takes over. With a [driver.Holder] store it bounds
	// how long a batch's transaction stays open (a relay that crashed loses its claim at once,
	// with its connection). 0 means 30s. Keep it well above the time a batch takes to publish.
	Lease time.Duration
	// PollInterval is how long an idle relay waits before it looks for due messages again;
	// 0 means 1s. A Wake signal (PostgreSQL's NOTIFY) shortens the wait.
	PollInterval time.Duration
	// Wake, when set, wakes an idle relay at once: pguow turns its NOTIFY into it. Polling
	// stays the fallback.
	Wake <-chan struct{}
	// MaxAttempts is how many failed publications park a message (dead letter); 0 means 10.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before a failed message is retried:
	// min(MaxBackoff, MinBackoff×2^(attempts-1)), jittered by up to a fifth. 0 means 1s and 5m.
	MinBackoff, MaxBackoff time.Duration
	// Clock gives "now" for due times and leases; nil means the system clock.
	Clock uow.Clock
	// Logger receives Debug records for batches and Warn records for failures and parked
	// messages; nil means slog.Default().
	Logger *slog.Logger
	// Observe, if set, is called after every batch: the metrics hook. It must be quick and safe
	// for concurrent use.
	Observe func(BatchStats)
}

// BatchStats describes one relay batch, for metrics.
type BatchStats struct {
	// Claimed, Published, Failed and Parked count the batch's messages (Parked ones are among
	// the Failed).
	Claimed, Published, Failed, Parked int
	// Lag is the age of the oldest due message when the batch was claimed, when the store
	// implements [driver.Operator] and Observe is set (0 otherwise, or with no backlog). It is
	// measured at most every 5s, since stores scan their due backlog to answer it.
	Lag time.Duration
	// Duration is the time the batch took, claim to ack.
	Duration time.Duration
}

// Relay publishes the messages committed to a store's outbox: it claims batches of due messages,
// publishes them, and acknowledges (deletes) the published ones. A message that fails is retried
// with exponential backoff and parked after MaxAttempts. Order is kept per key (the store hands
// out a key's messages in commit order, and the relay publishes a key's next message only once
// the earlier one was confirmed), so one poison message holds back only its own key.
// Several relays, in one process or many, can run on one store, each with its own ID. A store
// that is a [driver.Holder] (PostgreSQL) is claimed with row locks held while the batch publishes; other
// stores are claimed with leases written to the claimed rows. One Relay runs one batch at a
// time: its ID owns the leases, and the store hands an owner's leased messages back to its next
// claim, so Run and Step must not run concurrently on one Relay.
type Relay struct {
	store driver.Outbox
	pub   Publisher
	o     RelayOptions

	contended bool // the last claim was empty by Contention: claim again at once

	mu      sync.Mutex // guards the lag cache
	lagAt   time.Time
	lastLag time.Duration
}

// NewRelay returns a relay from store to pub; nil opts means the defaults.
func NewRelay(store driver.Outbox, pub Publisher, opts *RelayOptions) *Relay {
	r := &Relay{store: store, pub: pub}
	if opts != nil {
		r.o = *opts
	}
	if r.o.ID == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = crand.Read(b)
		r.o.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if r.o.BatchSize <= 0 {
		r.o.BatchSize = 100
	}
	if r.o.Lease <= 0 {
		r.o.Lease = 30 * time.Second
	}
	if r.o.PollInterval <= 0 {
		r.o.PollInterval = time.Second
	}
	if r.o.MaxAttempts <= 0 {
		r.o.MaxAttempts = 10
	}
	if r.o.MinBackoff <= 0 {
		r.o.MinBackoff = time.Second
	}
	if r.o.MaxBackoff <= 0 {
		r.o.MaxBackoff = 5 * time.Minute
	}
	if r.o.Clock == nil {
		r.o.Clock = systemClock{}
	}
	if r.o.Logger == nil {
		r.o.Logger = slog.Default()
	}
	return r
}

// ID returns the relay's name in leases.
func (r *Relay) ID() string { return r.o.ID }

// Run relays until ctx is done, then finishes the batch in flight (publishing and acknowledging
// what it claimed) and returns nil. Errors of the store or the publisher are logged and retried
// after PollInterval; they do not stop the relay.
func (r *Relay) Run(ctx context.Context) error {
	for {
		n, err := r.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.o.Logger.WarnContext(ctx, "outbox relay: batch failed", slog.String("relay", r.o.ID), slog.String("error", err.Error()))
		}
		if err == nil && (n > 0 || r.contended) {
			// More may be due: a leased claim takes at most the head of each key, so even a
			// batch that is not full can leave a backlog behind it; and a held claim that found
			// everything taken by other relays' claims tries again at once (Contention).
			continue
		}
		wait := time.NewTimer(r.o.PollInterval)
		select {
		case <-ctx.Done():
			wait.Stop()
			return nil
		case <-r.o.Wake:
			wait.Stop()
		case <-wait.C:
		}
	}
}

// Step runs one batch: claim, publish, acknowledge or release. It returns how many messages it
// claimed. Once messages are claimed, the batch completes even if ctx is cancelled meanwhile
// (bounded by the lease), so stopping a relay never strands a claim until its lease expires.
func (r *Relay) Step(ctx context.Context) (int, error) {
	start := time.Now()
	now := r.o.Clock.Now()
	stats := BatchStats{Lag: r.lag(ctx, now)}
	claimed, finish, err := r.claim(ctx, now)
	if err != nil {
		return 0, err
	}
	stats.Claimed = len(claimed)
	if len(claimed) == 0 {
		r.observe(stats, start)
		return 0, nil
	}
	// The claim is ours until the lease ends: finish it whatever happens to ctx.
	work, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.Lease)
	defer cancel()

	published, failed := r.publish(work, claimed)
	failures := make([]driver.Failure, len(failed))
	for i, f := range failed {
		failures[i] = r.failure(f.msg, f.err, now)
		if failures[i].Park {
			stats.Parked++
			r.o.Logger.WarnContext(ctx, "outbox relay: message parked", slog.String("relay", r.o.ID),
				slog.String("id", f.msg.ID), slog.String("key", f.msg.Key), slog.String("name", f.msg.Name),
				slog.Int("attempts", f.msg.Attempts+1), slog.String("error", f.err.Error()))
		}
	}
	err = finish(work, published, failures)
	stats.Published, stats.Failed = len(published), len(failed)
	r.observe(stats, start)
	r.o.Logger.DebugContext(ctx, "outbox relay: batch", slog.String("relay", r.o.ID), slog.Int("claimed", stats.Claimed),
		slog.Int("published", stats.Published), slog.Int("failed", stats.Failed), slog.Int("parked", stats.Parked))
	return len(claimed), err
}

// finishFunc records a batch's outcome: it acknowledges the published messages and releases
// the failed ones.
type finishFunc func(ctx context.Context, published []string, failures []driver.Failure) error

// claim claims a batch: held in a transaction when the store is a [driver.Holder], leased otherwise.
func (r *Relay) claim(ctx context.Context, now time.Time) ([]driver.Claimed, finishFunc, error) {
	r.contended = false
	if h, ok := r.store.(driver.Holder); ok {
		held, err := h.Hold(ctx, now, r.o.Lease, r.o.BatchSize)
		if err != nil {
			return nil, nil, fmt.Errorf("outbox: claim: %w", err)
		}
		if c, ok := held.(driver.Contention); ok {
			r.contended = c.Contended()
		}
		return held.Messages(), func(ctx context.Context, published []string, failures []driver.Failure) error {
			if err := held.Finish(ctx, published, failures); err != nil {
				return fmt.Errorf("outbox: finish: %w", err)
			}
			return nil
		}, nil
	}
	claimed, err := r.store.Claim(ctx, r.o.ID, now, r.o.Lease, r.o.BatchSize)
	if err != nil {
		return nil, nil, fmt.Errorf("outbox: claim: %w", err)
	}
	return claimed, r.settle, nil
}

// settle is the finishFunc of a leased batch: Ack, then Release.
func (r *Relay) settle(ctx context.Context, published []string, failures []driver.Failure) error {
	var errs []error
	if len(published) > 0 {
		if err := r.store.Ack(ctx, r.o.ID, published); err != nil {
			errs = append(errs, fmt.Errorf("outbox: ack: %w", err))
		}
	}
	if len(failures) > 0 {
		if err := r.store.Release(ctx, r.o.ID, failures); err != nil {
			errs = append(errs, fmt.Errorf("outbox: release: %w", err))
		}
	}
	return errors.Join(errs...)
}

type failedMessage struct {
	msg driver.Claimed
	err error
}

// publish publishes the batch in rounds: the first message of each key, then the second, and so
// on, so that a key's later message is handed to the publisher only once its earlier one was
// confirmed (a broker may accept a later message of a batch whose earlier one failed). A key
// with a failed message publishes nothing more of the batch: its later messages are neither
// acked nor released, and stay behind the failed one (unlocked with a held claim, leased to
// this relay otherwise), which the store hands out first.
func (r *Relay) publish(ctx context.Context, claimed []driver.Claimed) (published []string, failed []failedMessage) {
	msgs := make([]uow.Message, len(claimed))
	for i := range claimed {
		msgs[i] = claimed[i].Message
	}
	// round[i] is claimed[i]'s place among its key's messages: the round it goes in.
	round := make([]int, len(claimed))
	seen := make(map[string]int, len(claimed))
	sizes := []int{0} // messages per round
	for i := range claimed {
		k := claimed[i].Key
		round[i] = seen[k]
		seen[k] = round[i] + 1
		if round[i] == len(sizes) {
			sizes = append(sizes, 0)
		}
		sizes[round[i]]++
	}
	published = make([]string, 0, len(claimed))
	if len(sizes) == 1 {
		return r.publishRound(ctx, claimed, msgs, published)
	}
	held := map[string]bool{} // keys with a failed message
	for n, size := range sizes {
		batch := make([]driver.Claimed, 0, size)
		batchMsgs := make([]uow.Message, 0, size) // a publisher may keep the slice it was given
		for i := range claimed {
			if round[i] == n && !held[claimed[i].Key] {
				batch = append(batch, claimed[i])
				batchMsgs = append(batchMsgs, msgs[i])
			}
		}
		var f []failedMessage
		published, f = r.publishRound(ctx, batch, batchMsgs, published)
		for _, m := range f {
			held[m.msg.Key] = true
		}
		failed = append(failed, f...)
	}
	return published, failed
}

// publishRound publishes msgs, the messages of round, of distinct keys, appending the IDs
// published to published. When that fails, a [*PublishError] with an entry per message says
// which ones failed; without one, it publishes them one by one, so that a poison message fails
// alone.
func (r *Relay) publishRound(ctx context.Context, round []driver.Claimed, msgs []uow.Message, published []string) ([]string, []failedMessage) {
	if len(round) == 0 {
		return published, nil
	}
	err := r.pub.Publish(ctx, msgs)
	var perMessage *PublishError
	switch {
	case err == nil:
		for i := range round {
			published = append(published, round[i].ID)
		}
		return published, nil
	case errors.As(err, &perMessage) && len(perMessage.Errs) == len(round):
		return sortOut(round, perMessage.Errs, published)
	case len(round) == 1:
		return published, []failedMessage{{msg: round[0], err: err}}
	}
	errs := make([]error, len(round))
	for i := range round {
		errs[i] = r.pub.Publish(ctx, msgs[i:i+1])
	}
	return sortOut(round, errs, published)
}

// sortOut appends to published the IDs of the messages of round whose error in errs is nil, and
// returns the others as failed.
func sortOut(round []driver.Claimed, errs []error, published []string) ([]string, []failedMessage) {
	var failed []failedMessage
	for i := range round {
		if errs[i] != nil {
			failed = append(failed, failedMessage{msg: round[i], err: errs[i]})
			continue
		}
		published = append(published, round[i].ID)
	}
	return published, failed
}

// failure decides what happens to a message whose publication failed: a retry after backoff, or
// parking after MaxAttempts.
func (r *Relay) failure(c driver.Claimed, err error, now time.Time) driver.Failure {
	attempts := c.Attempts + 1
	f := driver.Failure{ID: c.ID, Reason: err.Error()}
	if attempts >= r.o.MaxAttempts {
		f.Park = true
		f.RetryAt = now
		return f
	}
	backoff := r.o.MinBackoff << min(attempts-1, 30)
	if backoff > r.o.MaxBackoff || backoff <= 0 {
		backoff = r.o.MaxBackoff
	}
	backoff += rand.N(backoff/5 + 1)
	f.RetryAt = now.Add(backoff)
	return f
}

// lag returns the age of the oldest due message, measured at most once per lagInterval and only
// when someone observes it: stores answer it by scanning the due backlog.
func (r *Relay) lag(ctx context.Context, now time.Time) time.Duration {
	op, ok := r.store.(driver.Operator)
	if !ok || r.o.Observe == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.lagAt.IsZero() && now.Sub(r.lagAt) < lagInterval {
		return r.lastLag
	}
	r.lagAt, r.lastLag = now, 0
	if oldest, ok, err := op.OldestDue(ctx, now); err == nil && ok {
		r.lastLag = max(now.Sub(oldest), 0)
	}
	return r.lastLag
}

// lagInterval is how often a relay measures its lag.
const lagInterval = 5 * time.Second

func (r *Relay) observe(s BatchStats, start time.Time) {
	if r.o.Observe != nil {
		s.Duration = time.Since(start)
		r.o.Observe(s)
	}
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/pguow"
)

// relayConfig is what the -relay mode measures: (a) draining a seeded outbox at each batch size
// and number of relays, the library's outbox.Relay beside a hand-written FOR UPDATE SKIP LOCKED
// loop; (b) commit-to-publish latency at a steady commit rate, woken by NOTIFY or polling.
type relayConfig struct {
	messages  int             // seeded per drain
	rounds    int             // alternating rounds per drain level; the medians are reported
	keys      int             // the seeded messages cycle through this many keys
	batches   []int           // batch sizes to drain with
	workers   []int           // relays (and hand-written workers) at once
	drainPoll time.Duration   // the relays' PollInterval while draining; 0 means the library's default
	rate      int             // commits per second for the latency runs
	latency   time.Duration   // how long the latency runs commit
	polls     []time.Duration // polling-only latency runs, one per interval
	skipDrain bool
	skipLat   bool
}

const (
	relayLibName  = "ddd outbox.Relay"
	relayHandName = "hand-written"
)

// drainResult is one drain of a seeded outbox.
type drainResult struct {
	impl           string
	workers, batch int
	messages       int
	elapsed        time.Duration
}

func (r drainResult) perSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.messages) / r.elapsed.Seconds()
}

// latencyResult is one commit-to-publish latency run.
type latencyResult struct {
	mode          string
	rate          int
	messages      int
	p50, p99, max time.Duration
}

// runRelayBench runs the -relay mode against the PostgreSQL server at dsn and prints its tables to
// w.
func runRelayBench(ctx context.Context, w io.Writer, dsn string, cfg relayConfig) error {
	poolDSN, err := withPoolSize(dsn, 8)
	if err != nil {
		return err
	}
	if !cfg.skipDrain {
		var results []drainResult
		for _, n := range cfg.workers {
			for _, b := range cfg.batches {
				// Alternating rounds, so that the machine's noise hits both alike; the
				// median round of each is kept.
				rounds := map[string][]drainResult{}
				for round := range max(cfg.rounds, 1) {
					for _, impl := range []string{relayLibName, relayHandName} {
						fmt.Fprintf(os.Stderr, "%s: %d worker(s), batch %d, round %d: seeding %d messages\n", impl, n, b, round+1, cfg.messages)
						r, err := drainOnce(ctx, poolDSN, impl, n, b, cfg)
						if err != nil {
							return err
						}
						fmt.Fprintf(os.Stderr, "  %.0f msgs/s\n", r.perSecond())
						rounds[impl] = append(rounds[impl], r)
					}
				}
				for _, impl := range []string{relayLibName, relayHandName} {
					results = append(results, medianDrain(rounds[impl]))
				}
			}
		}
		drainReport(w, results)
	}
	if !cfg.skipLat {
		if !cfg.skipDrain {
			fmt.Fprintln(w)
		}
		modes := []time.Duration{0} // 0: NOTIFY, with the default poll as the fallback
		modes = append(modes, cfg.polls...)
		var results []latencyResult
		for _, poll := range modes {
			r, err := latencyOnce(ctx, poolDSN, poll, cfg)
			if err != nil {
				return err
			}
			results = append(results, r)
		}
		latencyReport(w, results)
	}
	return nil
}

// relaySchema is a fresh schema migrated by the driver, dropped by close.
type relaySchema struct {
	drv    *pguow.Driver
	schema string
	table  string // the outbox table, qualified and quoted as the driver names it
}

func newRelaySchema(ctx context.Context, poolDSN string) (*relaySchema, error) {
	drv, schema, err := openSchema(ctx, poolDSN, "relay_")
	if err != nil {
		return nil, err
	}
	return &relaySchema{drv: drv, schema: schema, table: `"` + schema + `"."ddd_outbox"`}, nil
}

func (s *relaySchema) close() {
	_, _ = s.drv.Pool().Exec(context.Background(), "DROP SCHEMA "+s.schema+" CASCADE")
	s.drv.Close()
}

// seedRow returns the i-th seeded message: key i mod keys, so consecutive messages have distinct
// keys and each key's messages are spread over the whole table.
func seedRow(i, keys int, created time.Time) uow.Message {
	return uow.Message{
		ID:      uuid.Must(uuid.NewV7()).String(),
		Topic:   "bench.accounts",
		Key:     fmt.Sprintf("acc-%06d", i%keys),
		Name:    "bench.Transferred",
		Payload: fmt.Appendf(nil, `{"from":"acc-%06d","to":"acc-%06d","amount":1}`, i%keys, (i+1)%keys),
		Headers: map[string]string{
			uow.HeaderCorrelationID: "c-" + strconv.Itoa(i),
			uow.HeaderAggregateType: "account",
		},
		CreatedAt: created,
	}
}

// seedOutbox inserts n messages with COPY into the driver's outbox table (the columns a commit
// writes; the relay's columns keep their defaults), then ANALYZEs it.
func seedOutbox(ctx context.Context, s *relaySchema, n, keys int) error {
	created := time.Now()
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		m := seedRow(i, keys, created)
		i++
		headers, err := json.Marshal(m.Headers)
		if err != nil {
			return nil, err
		}
		return []any{m.ID, m.Topic, m.Key, m.Name, string(m.Payload), string(headers), m.CreatedAt.UnixMicro(), nil}, nil
	})
	cols := []string{"id", "topic", "msg_key", "name", "payload", "headers", "created_at", "deliver_after"}
	if _, err := s.drv.Pool().CopyFrom(ctx, pgx.Identifier{s.schema, "ddd_outbox"}, cols, src); err != nil {
		return fmt.Errorf("bench: seeding the outbox: %w", err)
	}
	if _, err := s.drv.Pool().Exec(ctx, "ANALYZE "+s.table); err != nil {
		return fmt.Errorf("bench: analyze: %w", err)
	}
	return nil
}

// countingPublisher counts what it is given and closes done once the count reaches target.
type countingPublisher struct {
	n      atomic.Int64
	target int64
	once   sync.Once
	done   chan struct{}
}

var _ outbox.Publisher = (*countingPublisher)(nil)

func newCountingPublisher(target int) *countingPublisher {
	return &countingPublisher{target: int64(target), done: make(chan struct{})}
}

// Publish implements outbox.Publisher.
func (p *countingPublisher) Publish(_ context.Context, msgs []uow.Message) error {
	if p.n.Add(int64(len(msgs))) >= p.target {
		p.once.Do(func() { close(p.done) })
	}
	return nil
}

// drainOnce seeds a fresh outbox with cfg.messages messages and times impl draining it with
// workers workers at batch size batch; it checks that every message was published once and the
// outbox is empty afterwards.
func drainOnce(ctx context.Context, poolDSN, impl string, workers, batch int, cfg relayConfig) (drainResult, error) {
	s, err := newRelaySchema(ctx, poolDSN)
	if err != nil {
		return drainResult{}, err
	}
	defer s.close()
	if err := seedOutbox(ctx, s, cfg.messages, cfg.keys); err != nil {
		return drainResult{}, err
	}
	pub := newCountingPublisher(cfg.messages)
	start := time.Now()
	switch impl {
	case relayLibName:
		err = libraryDrain(ctx, s.drv, pub, workers, batch, cfg.drainPoll)
	case relayHandName:
		err = handDrain(ctx, s.drv.Pool(), s.table, pub, workers, batch)
	default:
		err = fmt.Errorf("bench: unknown implementation %q", impl)
	}
	elapsed := time.Since(start)
	if err != nil {
		return drainResult{}, err
	}
	var left int
	if err := s.drv.Pool().QueryRow(ctx, "SELECT count(*) FROM "+s.table).Scan(&left); err != nil {
		return drainResult{}, err
	}
	if got := pub.n.Load(); left != 0 || got != int64(cfg.messages) {
		return drainResult{}, fmt.Errorf("bench: %s drained %d of %d messages (published %d), %d left", impl, int64(cfg.messages)-int64(left), cfg.messages, got, left)
	}
	return drainResult{impl: impl, workers: workers, batch: batch, messages: cfg.messages, elapsed: elapsed}, nil
}

// libraryDrain runs workers relays with distinct IDs until pub has seen every message, then stops
// them; Run returns once each has acknowledged its batch in flight.
func libraryDrain(ctx context.Context, drv *pguow.Driver, pub *countingPublisher, workers, batch int, poll time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var wg sync.WaitGroup
	for i := range workers {
		r := outbox.NewRelay(drv, pub, &outbox.RelayOptions{
			ID: fmt.Sprintf("bench-%d", i), BatchSize: batch, PollInterval: poll, Logger: logger,
		})
		wg.Go(func() { _ = r.Run(ctx) })
	}
	select {
	case <-pub.done:
	case <-ctx.Done():
	}
	cancel()
	wg.Wait()
	return nil
}

// handDrain is the yardstick: workers loops of BEGIN; SELECT ... ORDER BY seq LIMIT batch FOR
// UPDATE SKIP LOCKED; publish; DELETE those; COMMIT, each stopping when its select finds nothing
// (every row left is then locked by another worker, which drains it). Rows become the same
// uow.Message values the library publishes. It keeps no per-key order across workers.
func handDrain(ctx context.Context, pool *pgxpool.Pool, table string, pub outbox.Publisher, workers, batch int) error {
	sel := "SELECT seq, id, topic, msg_key, name, payload, headers, created_at, deliver_after FROM " + table +
		" ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
	del := "DELETE FROM " + table + " WHERE seq = ANY($1)"
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for {
				var n int
				err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
					rows, err := tx.Query(ctx, sel, batch)
					if err != nil {
						return err
					}
					msgs := make([]uow.Message, 0, batch)
					seqs := make([]int64, 0, batch)
					for rows.Next() {
						var (
							m                uow.Message
							seq, created     int64
							after            *int64
							payload, headers []byte
						)
						if err := rows.Scan(&seq, &m.ID, &m.Topic, &m.Key, &m.Name, &payload, &headers, &created, &after); err != nil {
							rows.Close()
							return err
						}
						m.Payload = append([]byte{}, payload...)
						if err := json.Unmarshal(headers, &m.Headers); err != nil {
							rows.Close()
							return err
						}
						m.CreatedAt = time.UnixMicro(created).UTC()
						if after != nil {
							m.DeliverAfter = time.UnixMicro(*after).UTC()
						}
						msgs = append(msgs, m)
						seqs = append(seqs, seq)
					}
					rows.Close()
					if err := rows.Err(); err != nil {
						return err
					}
					n = len(msgs)
					if n == 0 {
						return nil
					}
					if err := pub.Publish(ctx, msgs); err != nil {
						return err
					}
					_, err = tx.Exec(ctx, del, seqs)
					return err
				})
				if err != nil {
					errs[w] = fmt.Errorf("bench: hand-written drain: %w", err)
					return
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// latencyRecorder is a publisher recording each message's age (now - CreatedAt) when published.
type latencyRecorder struct {
	mu  sync.Mutex
	lat []time.Duration
}

var _ outbox.Publisher = (*latencyRecorder)(nil)

// Publish implements outbox.Publisher.
func (l *latencyRecorder) Publish(_ context.Context, msgs []uow.Message) error {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range msgs {
		l.lat = append(l.lat, now.Sub(m.CreatedAt))
	}
	return nil
}

func (l *latencyRecorder) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lat)
}

// latencyOnce commits cfg.rate units a second for cfg.latency, each emitting one message, with one
// relay running; poll 0 means NOTIFY (Wake = driver.Listen) over the default poll, else polling
// only at that interval. It returns the commit-to-publish latency percentiles.
func latencyOnce(ctx context.Context, poolDSN string, poll time.Duration, cfg relayConfig) (latencyResult, error) {
	s, err := newRelaySchema(ctx, poolDSN)
	if err != nil {
		return latencyResult{}, err
	}
	defer s.close()
	mode := "NOTIFY + poll 1s"
	opts := &outbox.RelayOptions{ID: "bench-latency", PollInterval: poll}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	if poll == 0 {
		opts.Wake = s.drv.Listen(rctx)
	} else {
		mode = "poll " + poll.String()
	}
	fmt.Fprintf(os.Stderr, "latency, %s: %d commits/s for %v\n", mode, cfg.rate, cfg.latency)
	rec := &latencyRecorder{}
	relay := outbox.NewRelay(s.drv, rec, opts)
	var relayDone sync.WaitGroup
	relayDone.Go(func() { _ = relay.Run(rctx) })
	time.Sleep(200 * time.Millisecond) // let LISTEN take effect

	store := uow.NewStore(s.drv, nil)
	var (
		wg        sync.WaitGroup
		committed atomic.Int64
		firstErr  error
		errMu     sync.Mutex
	)
	tick := time.NewTicker(time.Second / time.Duration(cfg.rate))
	deadline := time.Now().Add(cfg.latency)
	for i := 0; time.Now().Before(deadline); i++ {
		<-tick.C
		wg.Go(func() {
			err := uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
				m := seedRow(i, 1000, time.Time{})
				m.ID = "" // a UUIDv7 and the unit's time, as in an application
				return u.Emit(m)
			}, nil)
			if err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				errMu.Unlock()
				return
			}
			committed.Add(1)
		})
	}
	tick.Stop()
	wg.Wait()
	if firstErr != nil {
		return latencyResult{}, fmt.Errorf("bench: latency commit: %w", firstErr)
	}
	wait := time.Now().Add(10*time.Second + poll)
	for rec.count() < int(committed.Load()) && time.Now().Before(wait) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	relayDone.Wait()
	if got, want := rec.count(), int(committed.Load()); got != want {
		return latencyResult{}, fmt.Errorf("bench: %s: published %d of %d committed messages", mode, got, want)
	}
	p50, p99, mx := percentiles(rec.lat)
	return latencyResult{mode: mode, rate: cfg.rate, messages: len(rec.lat), p50: p50, p99: p99, max: mx}, nil
}

// percentiles returns the median, 99th percentile and maximum of d (sorting it), zeros for none.
func percentiles(d []time.Duration) (p50, p99, mx time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[len(d)*99/100], d[len(d)-1]
}

// medianDrain returns the round with the median elapsed time (the slower of the middle two for
// an even count).
func medianDrain(rounds []drainResult) drainResult {
	sorted := slices.SortedFunc(slices.Values(rounds), func(a, b drainResult) int { return cmp.Compare(a.elapsed, b.elapsed) })
	return sorted[len(sorted)/2]
}

// drainReport prints one row per drain; the library's rows carry its throughput as a ratio of the
// hand-written drain with the same workers and batch size.
func drainReport(w io.Writer, results []drainResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "driver\timplementation\trelays\tbatch\tmessages\tseconds\tmsgs/s\tratio\t\n")
	type level struct{ workers, batch int }
	hand := map[level]drainResult{}
	for _, r := range results {
		if r.impl == relayHandName {
			hand[level{r.workers, r.batch}] = r
		}
	}
	for _, r := range results {
		ratio := "-"
		if h, ok := hand[level{r.workers, r.batch}]; ok && r.impl != relayHandName && h.perSecond() > 0 {
			ratio = fmt.Sprintf("%.2fx", r.perSecond()/h.perSecond())
		}
		fmt.Fprintf(tw, "postgres\t%s\t%d\t%d\t%d\t%.2f\t%.0f\t%s\t\n", r.impl, r.workers, r.batch, r.messages,
			r.elapsed.Seconds(), r.perSecond(), ratio)
	}
	_ = tw.Flush()
}

// latencyReport prints one row per latency run.
func latencyReport(w io.Writer, results []latencyResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "driver\twake-up\tcommits/s\tmessages\tp50\tp99\tmax\t\n")
	for _, r := range results {
		fmt.Fprintf(tw, "postgres\t%s\t%d\t%d\t%v\t%v\t%v\t\n", r.mode, r.rate, r.messages,
			r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond), r.max.Round(100*time.Microsecond))
	}
	_ = tw.Flush()
}

// parseDurations parses a comma-separated list of positive durations; "" is none.
func parseDurations(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(f))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("bad duration %q", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// Package load drives the bank with concurrent transfers and measures them: the engine of
// `bank demo` and `bank bench`.
package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
)

// Contention is how transfers pick their accounts.
type Contention int

const (
	// Uniform picks both accounts uniformly among all of them.
	Uniform Contention = iota
	// Hot picks both accounts among the first Config.Hot accounts: every transfer competes.
	Hot
)

// String returns "uniform" or "hot".
func (c Contention) String() string {
	if c == Hot {
		return "hot"
	}
	return "uniform"
}

// ParseContention returns the contention named s ("uniform" or "hot").
func ParseContention(s string) (Contention, error) {
	switch s {
	case "uniform":
		return Uniform, nil
	case "hot":
		return Hot, nil
	}
	return 0, fmt.Errorf("load: contention %q: want uniform or hot", s)
}

// Currency is the currency of every account the package opens.
var Currency = money.MustLookup("USD")

// Number returns the number of the i-th account (0-based) that Open opens.
func Number(i int) transfer.AccountNumber { return transfer.AccountNumber(fmt.Sprintf("%012d", i+1)) }

// Open opens n accounts (Number(0) ... Number(n-1)) and deposits balance into each, with
// workers goroutines, calling progress (if set; one call at a time) with the number done so far.
func Open(ctx context.Context, b *transfer.Bank, n, workers int, balance money.Money, progress func(done int)) error {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		finished int
	)
	return Parallel(ctx, workers, func(ctx context.Context) error {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return nil
			}
			if err := b.OpenAccount(ctx, Number(i), balance.Currency()); err != nil {
				return err
			}
			if balance.IsPositive() {
				_, err := b.Deposit(ctx, transfer.DepositRequest{ID: transfer.DepositID(fmt.Sprintf("open-%d", i)),
					Account: Number(i), Amount: balance})
				if err != nil {
					return err
				}
			}
			mu.Lock()
			finished++
			if progress != nil {
				progress(finished)
			}
			mu.Unlock()
		}
	})
}

// Config is a run of transfers.
type Config struct {
	// Accounts is how many accounts Open opened: transfers pick among them.
	Accounts int
	// Contention picks the accounts; Hot is the number of hot accounts (0 means 10).
	Contention Contention
	Hot        int
	// Transfers is how many transfers to make, by Workers goroutines.
	Transfers, Workers int
	// Strategy is the strategy of every transfer (transfer.Default: the bank's).
	Strategy transfer.Strategy
	// Prefix starts every transfer number, so that runs on one store do not collide.
	Prefix string
	// Seed makes the accounts and amounts chosen reproducible.
	Seed uint64
	// Progress, if set, is called every 100ms and at the end with the transfers done.
	Progress func(done int)
}

// Report is what a run measured.
type Report struct {
	Transfers int // transfers made: posted, refused or failed
	Posted    int // transfers posted
	Refused   int // transfers refused for insufficient funds
	Overdrawn int // posted transfers that overdrew their debited account (eventual only)
	Attempts  int // command runs: Attempts - Transfers were retries after conflicts
	Elapsed   time.Duration
	P50, P99  time.Duration // latency of one transfer, retries included
}

// Retries returns the commands run again after a conflict.
func (r Report) Retries() int { return r.Attempts - r.Transfers }

// PerSecond returns the transfers made (posted or refused) per second.
func (r Report) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Posted+r.Refused) / r.Elapsed.Seconds()
}

// Run makes cfg.Transfers transfers of 0.01 to 10.00 USD with cfg.Workers goroutines and
// reports what happened. A business error other than insufficient funds, or any technical
// error, stops the run and is returned.
func Run(ctx context.Context, b *transfer.Bank, cfg Config) (Report, error) {
	pool := cfg.Accounts
	if cfg.Contention == Hot {
		pool = min(cmp.Or(cfg.Hot, 10), cfg.Accounts)
	}
	switch {
	case cfg.Accounts < 2 || pool < 2:
		return Report{}, fmt.Errorf("load: want 2 accounts or more to pick from, got %d (hot %d)", cfg.Accounts, cfg.Hot)
	case cfg.Workers < 1:
		return Report{}, fmt.Errorf("load: want 1 worker or more, got %d", cfg.Workers)
	case cfg.Transfers < 0:
		return Report{}, fmt.Errorf("load: want 0 transfers or more, got %d", cfg.Transfers)
	}
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		rep        Report
		latencies  = make([]time.Duration, 0, cfg.Transfers)
		worker     atomic.Uint64
	)
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if cfg.Progress != nil {
					cfg.Progress(int(done.Load()))
				}
			}
		}
	}()
	start := time.Now()
	err := Parallel(ctx, cfg.Workers, func(ctx context.Context) error {
		w := worker.Add(1)
		rng := rand.New(rand.NewPCG(cfg.Seed, w))
		var mine []time.Duration
		var r Report
		defer func() {
			mu.Lock()
			latencies = append(latencies, mine...)
			rep.Transfers += len(mine)
			rep.Posted += r.Posted
			rep.Refused += r.Refused
			rep.Overdrawn += r.Overdrawn
			rep.Attempts += r.Attempts
			mu.Unlock()
		}()
		for {
			i := int(next.Add(1) - 1)
			if i >= cfg.Transfers {
				return nil
			}
			from, to, cents := Pick(rng, pool)
			amount, err := money.FromMinorUnits(cents, Currency)
			if err != nil {
				return err
			}
			req := transfer.Request{Number: transfer.TransferNumber(fmt.Sprintf("%s%d", cfg.Prefix, i)),
				From: Number(from), To: Number(to), Amount: amount}
			t0 := time.Now()
			out, err := b.Transfer(ctx, req, cfg.Strategy)
			mine = append(mine, time.Since(t0))
			r.Attempts += out.Attempts
			switch {
			case err == nil:
				r.Posted++
				if out.Overdrawn {
					r.Overdrawn++
				}
			case errors.Is(err, transfer.ErrInsufficientFunds):
				r.Refused++
			default:
				return fmt.Errorf("load: transfer %s: %w", req.Number, err)
			}
			done.Add(1)
		}
	})
	rep.Elapsed = time.Since(start)
	close(stop)
	<-ticked
	if cfg.Progress != nil {
		cfg.Progress(int(done.Load()))
	}
	slices.Sort(latencies)
	rep.P50, rep.P99 = Percentile(latencies, 50), Percentile(latencies, 99)
	return rep, err
}

// Pick draws a transfer as Run makes them: two different accounts among the first pool (pool
// >= 2, 0-based) and an amount of 1 to 1,000 cents. A yardstick drawing with Pick from an rng
// seeded alike makes the same transfers.
func Pick(rng *rand.Rand, pool int) (from, to int, cents int64) {
	from = rng.IntN(pool)
	to = (from + 1 + rng.IntN(pool-1)) % pool
	return from, to, 1 + rng.Int64N(1000)
}

// Percentile returns the p-th percentile of sorted durations (nearest rank); 0 for none.
func Percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// Parallel runs fn in n goroutines (at least one); the first error cancels the others' context
// and is returned.
func Parallel(ctx context.Context, n int, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for range max(n, 1) {
		wg.Go(func() {
			if err := fn(ctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

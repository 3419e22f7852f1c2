package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"text/tabwriter"
	"time"
)

// subject is one implementation of a transfer.
type subject struct {
	name     string
	transfer func(ctx context.Context, from, to int, amount int64) error
	close    func()
}

type config struct {
	rows             int
	duration, warmup time.Duration
	rounds           int
}

type result struct {
	subject    string
	goroutines int
	perSecond  float64
	p50, p99   time.Duration
	errors     int
}

// run drives transfers between random distinct accounts from n goroutines for d and returns
// the throughput and latencies of the successful ones.
func run(ctx context.Context, s subject, n, rows int, d time.Duration) (result, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var failures int
	var firstErr error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			var local []time.Duration
			fails := 0
			for time.Now().Before(deadline) {
				from := r.IntN(rows)
				to := r.IntN(rows - 1)
				if to >= from {
					to++
				}
				t0 := time.Now()
				if err := s.transfer(ctx, from, to, 1); err != nil {
					fails++
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			failures += fails
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(lat) == 0 {
		return result{}, fmt.Errorf("%s at %d goroutines: no transfer succeeded: %v", s.name, n, firstErr)
	}
	slices.Sort(lat)
	return result{
		subject:    s.name,
		goroutines: n,
		perSecond:  float64(len(lat)) / elapsed.Seconds(),
		p50:        lat[len(lat)/2],
		p99:        lat[len(lat)*99/100],
		errors:     failures,
	}, nil
}

// measure runs every subject at every level, alternating subjects in rounds so drift in the
// machine hits both alike, and keeps the median round of each.
func measure(ctx context.Context, subjects []subject, levels []int, cfg config) ([]result, error) {
	var out []result
	for _, n := range levels {
		runs := make(map[string][]result)
		for round := range cfg.rounds {
			for _, s := range subjects {
				fmt.Fprintf(os.Stderr, "%s: %d goroutines, round %d/%d: warm-up %v, measuring %v\n", s.name, n, round+1, cfg.rounds, cfg.warmup, cfg.duration)
				if _, err := run(ctx, s, n, cfg.rows, cfg.warmup); err != nil {
					return nil, err
				}
				r, err := run(ctx, s, n, cfg.rows, cfg.duration)
				if err != nil {
					return nil, err
				}
				runs[s.name] = append(runs[s.name], r)
			}
		}
		for _, s := range subjects {
			rs := runs[s.name]
			slices.SortFunc(rs, func(a, b result) int {
				switch {
				case a.perSecond < b.perSecond:
					return -1
				case a.perSecond > b.perSecond:
					return 1
				}
				return 0
			})
			out = append(out, rs[len(rs)/2])
		}
	}
	return out, nil
}

// report prints one row per subject and level; the first subject is the library, the last the
// hand-written yardstick.
func report(w io.Writer, driver string, results []result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "driver\timplementation\tgoroutines\ttransfers/s\tp50\tp99\tfailed\tratio\t\n")
	byLevel := map[int]map[string]result{}
	for _, r := range results {
		if byLevel[r.goroutines] == nil {
			byLevel[r.goroutines] = map[string]result{}
		}
		byLevel[r.goroutines][r.subject] = r
	}
	for _, r := range results {
		ratio := "-"
		if hand, ok := byLevel[r.goroutines][handName]; ok && r.subject != handName && hand.perSecond > 0 {
			ratio = fmt.Sprintf("%.2fx", r.perSecond/hand.perSecond)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%v\t%v\t%d\t%s\t\n", driver, r.subject, r.goroutines, r.perSecond,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.errors, ratio)
	}
	_ = tw.Flush()
}

const (
	libName  = "ddd uow.Do"
	handName = "hand-written"
)

func nowUTC() time.Time { return time.Now().UTC() }

// Command bench measures a transfer-shaped unit of work on a SQL driver beside a hand-written
// transaction doing the same statements, in the same run: load two account aggregates, change
// both, write one outbox row, commit. It prints transfers/s and p50/p99 latency for both, and the
// library's throughput as a ratio of the hand-written one, at each concurrency.
//
//	go run ./internal/bench -driver postgres -dsn 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./internal/bench -driver sqlite -dsn /tmp/bench.db
//	go run ./internal/bench -relay -messages 100000   (the outbox relay; see relayMain)
//
// Each run uses fresh tables (a new schema on PostgreSQL, a new file on SQLite) seeded with
// -rows accounts, and drops them afterwards. Progress goes to standard error.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if slices.Contains(os.Args[1:], "-relay") {
		// The relay mode has flags of its own (see relayMain).
		if err := relayMain(context.Background(), os.Args[1:], os.Stdout); err != nil {
			fatal(err)
		}
		return
	}
	var (
		driver     = flag.String("driver", "postgres", "postgres or sqlite")
		dsn        = flag.String("dsn", "", "PostgreSQL DSN, or the SQLite file to create (default: a temp file)")
		rows       = flag.Int("rows", 1000, "accounts to transfer between")
		goroutines = flag.String("goroutines", "1,4,16", "comma-separated concurrency levels")
		duration   = flag.Duration("duration", 5*time.Second, "measuring time per level and implementation")
		warmup     = flag.Duration("warmup", time.Second, "warm-up time per level and implementation")
		rounds     = flag.Int("rounds", 1, "alternating rounds per level; medians are reported")
	)
	flag.Parse()
	levels, err := parseLevels(*goroutines)
	if err != nil {
		fatal(err)
	}
	ctx := context.Background()
	var subjects []subject
	switch *driver {
	case "postgres":
		if *dsn == "" {
			*dsn = os.Getenv("DDD_TEST_POSTGRES")
		}
		if *dsn == "" {
			fatal(fmt.Errorf("-dsn or DDD_TEST_POSTGRES is required for postgres"))
		}
		subjects, err = postgresSubjects(ctx, *dsn, *rows)
	case "sqlite":
		subjects, err = sqliteSubjects(ctx, *dsn, *rows)
	default:
		err = fmt.Errorf("unknown -driver %q: postgres or sqlite", *driver)
	}
	if err != nil {
		fatal(err)
	}
	defer func() {
		for _, s := range subjects {
			s.close()
		}
	}()
	cfg := config{rows: *rows, duration: *duration, warmup: *warmup, rounds: *rounds}
	results, err := measure(ctx, subjects, levels, cfg)
	if err != nil {
		fatal(err)
	}
	report(os.Stdout, *driver, results)
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad -goroutines entry %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/bench"
	"github.com/dddkit/ddd/examples/transfer/internal/load"
)

// benchCmd prints the strategy table.
func benchCmd(ctx context.Context, args []string, out, errw io.Writer) error {
	fs := flag.NewFlagSet("bank bench", flag.ContinueOnError)
	fs.SetOutput(errw)
	var (
		dbs         = fs.String("db", "sqlite,memory", "comma-separated stores to measure: sqlite, memory, postgres://..., mysql://...; a postgres one adds the hand-written pgx yardstick")
		strategies  = fs.String("strategies", "optimistic,pessimistic,keyed,eventual", "comma-separated strategies")
		contentions = fs.String("contention", "uniform,hot", "comma-separated: uniform (1,000 accounts), hot (10 hot accounts)")
		goroutines  = fs.String("goroutines", "1,4,16", "comma-separated goroutine counts")
		transfers   = fs.Int("transfers", 0, "transfers per cell (0: the default)")
		accounts    = fs.Int("accounts", 1000, "accounts")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := bench.Config{DBs: split(*dbs), Transfers: *transfers, Accounts: *accounts, Progress: errw}
	for _, s := range split(*strategies) {
		st, err := transfer.ParseStrategy(s)
		if err != nil || st == transfer.Default {
			return fmt.Errorf("bench: --strategies: %q is not a strategy", s)
		}
		cfg.Strategies = append(cfg.Strategies, st)
	}
	for _, s := range split(*contentions) {
		c, err := load.ParseContention(s)
		if err != nil {
			return fmt.Errorf("bench: --contention: %w", err)
		}
		cfg.Contentions = append(cfg.Contentions, c)
	}
	for _, s := range split(*goroutines) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("bench: --goroutines: %q is not a positive count", s)
		}
		cfg.Goroutines = append(cfg.Goroutines, n)
	}
	_, err := bench.Run(ctx, cfg, out)
	return err
}

// split splits a comma-separated list, dropping empty items.
func split(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

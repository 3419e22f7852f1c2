package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/backend"
	"github.com/dddkit/ddd/examples/transfer/internal/load"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
)

// demo runs the README's main job: a fresh bank, concurrent transfers, the outbox relayed, and
// the books checked.
func demo(ctx context.Context, args []string, out, errw io.Writer) error {
	fs := flag.NewFlagSet("bank demo", flag.ContinueOnError)
	fs.SetOutput(errw)
	var (
		c          commonFlags
		strategy   = fs.String("strategy", "optimistic", "optimistic, pessimistic, keyed or eventual")
		contention = fs.String("contention", "uniform", "uniform (any account) or hot (transfers among 10 hot accounts)")
		accounts   = fs.Int("accounts", 100, "accounts to open")
		transfers  = fs.Int("transfers", 2000, "transfers to make")
		workers    = fs.Int("workers", 8, "concurrent transfers")
		opening    = fs.String("balance", "100.00", "each account's opening deposit, in USD")
		keep       = fs.Bool("keep", false, "keep the store (by default the demo runs on a fresh one it removes)")
	)
	c.register(fs, "sqlite")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected arguments %q", fs.Args())
	}
	s, err := transfer.ParseStrategy(*strategy)
	if err != nil || s == transfer.Default {
		return fmt.Errorf("demo: --strategy %q: want optimistic, pessimistic, keyed or eventual", *strategy)
	}
	cont, err := load.ParseContention(*contention)
	if err != nil {
		return fmt.Errorf("demo: --contention: %w", err)
	}
	if *accounts < 2 || *transfers < 0 || *workers < 1 {
		return fmt.Errorf("demo: want --accounts >= 2, --transfers >= 0, --workers >= 1")
	}
	balance, err := money.FromString(*opening, load.Currency)
	if err != nil || balance.IsNegative() {
		return fmt.Errorf("demo: --balance %q: want an amount in USD such as 100.00", *opening)
	}

	be, err := backend.Open(ctx, c.db, &backend.Options{Fresh: !*keep, SQLitePath: "bank-demo.db"})
	if err != nil {
		return err
	}
	defer be.Close()
	sk, err := newSink(ctx, c.broker)
	if err != nil {
		return err
	}
	defer sk.close()
	bank, err := transfer.New(uow.NewStore(be.Driver, nil), &transfer.Options{Strategy: s})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "bank demo: %s (%s), strategy %s, %s contention\n\n", be.Kind, be.Where, s, cont)

	bar := newProgress(errw)
	start := time.Now()
	err = load.Open(ctx, bank, *accounts, min(*workers, 4), balance, func(n int) { bar.show("opening accounts", n, *accounts) })
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "opened %d accounts with %s each in %s\n", *accounts, balance, time.Since(start).Round(time.Millisecond))

	rep, err := load.Run(ctx, bank, load.Config{Accounts: *accounts, Contention: cont, Transfers: *transfers,
		Workers: *workers, Strategy: s, Prefix: "demo-", Seed: uint64(time.Now().UnixNano()),
		Progress: func(n int) { bar.show("transfers", n, *transfers) }})
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "transfers: %d posted, %d refused for insufficient funds, %d overdrawn an account\n",
		rep.Posted, rep.Refused, rep.Overdrawn)
	fmt.Fprintf(out, "conflicts: %d retries over %d commands (%.2f attempts per transfer)\n",
		rep.Retries(), rep.Transfers, float64(rep.Attempts)/float64(max(rep.Transfers, 1)))
	fmt.Fprintf(out, "throughput: %.0f transfers/s with %d workers, latency p50 %s, p99 %s\n",
		rep.PerSecond(), *workers, rep.P50.Round(10*time.Microsecond), rep.P99.Round(10*time.Microsecond))

	start = time.Now()
	relayed, err := drain(ctx, be.Driver, sk, func(n int) { bar.show("relaying the outbox", n, 0) })
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "outbox: %d messages relayed to %s in %s", relayed, sk.where, time.Since(start).Round(time.Millisecond))
	if c.broker == "" {
		fmt.Fprintf(out, " (%d TransferCompleted events seen)", sk.completed.Load())
	}
	fmt.Fprintln(out)

	return report(ctx, bank, out, s)
}

// report prints the balances, the ledger reconciliation and the audit, and fails when the books
// do not balance, an account disagrees with its movements, or, under a strong strategy, an
// account is overdrawn.
func report(ctx context.Context, bank *transfer.Bank, out io.Writer, s transfer.Strategy) error {
	balances, err := bank.Finder().Balances(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nbalances:")
	for i, b := range balances {
		if i == 5 && len(balances) > 10 {
			fmt.Fprintf(out, "  ... %d more\n", len(balances)-10)
		}
		if i < 5 || i >= len(balances)-5 {
			fmt.Fprintf(out, "  %s  %14s\n", b.Account, b.Balance)
		}
	}
	rec, err := bank.Finder().Reconcile(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nledger reconciliation:")
	for _, t := range rec.Totals {
		fmt.Fprintf(out, "  %s: %d accounts, balances %s, deposits %s\n", t.Currency, t.Accounts, t.Balance, t.Deposited)
	}
	verdict := "every balance equals its deposits + credits - debits, the balances sum to the deposits and the credits to the debits"
	switch {
	case len(rec.Mismatches) > 0:
		verdict = fmt.Sprintf("MISMATCH: %d accounts do not reconcile", len(rec.Mismatches))
	case !rec.Balanced():
		verdict = fmt.Sprintf("MISMATCH: the totals do not balance: %+v", rec.Totals)
	}
	fmt.Fprintf(out, "  %s\n", verdict)
	audit, err := bank.Finder().Audit(ctx)
	if err != nil {
		return err
	}
	if audit.Clean() {
		fmt.Fprintln(out, "  audit: every account agrees with the deposits and transfers that made it")
	} else {
		fmt.Fprintf(out, "  AUDIT: %d accounts disagree with their deposits and transfers\n", len(audit.Mismatches))
	}
	if len(rec.Overdrawn) > 0 {
		var list []string
		for _, o := range rec.Overdrawn[:min(len(rec.Overdrawn), 5)] {
			list = append(list, fmt.Sprintf("%s %s", o.Account, o.Balance))
		}
		fmt.Fprintf(out, "  overdrawn accounts: %d (%s)\n", len(rec.Overdrawn), strings.Join(list, ", "))
	}
	switch {
	case !rec.Balanced():
		return errors.New("the ledger does not reconcile")
	case !audit.Clean():
		return errors.New("the accounts disagree with their movements")
	case len(rec.Overdrawn) > 0 && s != transfer.Eventual:
		return fmt.Errorf("%d accounts overdrawn under the %s strategy", len(rec.Overdrawn), s)
	}
	return nil
}

// progress draws a progress bar on a terminal, or a line per quarter elsewhere (logs, CI).
type progress struct {
	w        io.Writer
	terminal bool
	last     int // the last quarter printed, off a terminal
	drawn    bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, last: -1}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

// show reports n of total done (total 0: unknown).
func (p *progress) show(what string, n, total int) {
	if p.terminal {
		if total > 0 {
			const width = 30
			fill := min(width*n/total, width)
			fmt.Fprintf(p.w, "\r%-20s [%s%s] %d/%d", what, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), n, total)
		} else {
			fmt.Fprintf(p.w, "\r%-20s %d", what, n)
		}
		p.drawn = true
		return
	}
	if total <= 0 {
		return
	}
	if q := 4 * n / total; q > p.last {
		p.last = q
		fmt.Fprintf(p.w, "%s: %d/%d\n", what, n, total)
	}
}

// done ends the current bar.
func (p *progress) done() {
	if p.terminal && p.drawn {
		fmt.Fprintln(p.w)
	}
	p.drawn, p.last = false, -1
}

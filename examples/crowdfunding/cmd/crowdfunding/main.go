// Command crowdfunding runs the story of the crowdfunding example on SQLite: the four bounded
// contexts (accounting, campaigns, payouts, dashboard) share one database file, each in tables
// of its own (accounting_*, campaigns_*, payouts_*, dashboard_*), and talk only through their
// outboxes, relayed to an in-process bus while the story runs. Withdrawals are paid by a fake
// payment provider that pays, declines or hangs as the story needs.
//
//	go run ./examples/crowdfunding/cmd/crowdfunding               # a temporary file, removed at the end
//	go run ./examples/crowdfunding/cmd/crowdfunding --db cf.db    # keep the file; run again: nothing changes twice
//
// Every step is idempotent (the accounts and the campaign exist already, the deposit, donations
// and withdrawals carry their keys), so running the story again on a kept file prints the same
// outcome.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dddkit/ddd/examples/crowdfunding"
	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

func main() {
	// The saga manager and the consumers log every finished saga and rejected command at Info:
	// keep stderr to warnings.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crowdfunding:", err)
		os.Exit(1)
	}
}

// prefixes are the contexts' table prefixes in the shared file.
var prefixes = [4]string{"accounting_", "campaigns_", "payouts_", "dashboard_"}

// run runs the story with the flags in args, writing it to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("crowdfunding", flag.ContinueOnError)
	fs.SetOutput(out)
	path := fs.String("db", "", "the SQLite file to keep (default: a temporary one, removed at the end)")
	paymentTimeout := fs.Duration("payment-timeout", time.Second,
		"how long a payout may stay unanswered before it is cancelled and refunded")
	wait := fs.Duration("wait", 20*time.Second, "how long a step may take to settle")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *path == "" {
		dir, err := os.MkdirTemp("", "crowdfunding-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*path = filepath.Join(dir, "crowdfunding.db")
	}

	// One file, four drivers: each context keeps its aggregates, outbox and inbox in tables of
	// its own, and reaches the others only through messages.
	var ds [4]*sqliteuow.Driver
	for i, p := range prefixes {
		d, err := sqliteuow.Open(ctx, *path, &sqliteuow.Options{Prefix: p})
		if err != nil {
			return err
		}
		defer d.Close()
		if err := d.Migrate(ctx); err != nil {
			return fmt.Errorf("migrating %s*: %w", p, err)
		}
		ds[i] = d
	}
	provider := payouts.NewFakeProvider()
	provider.Set("w2", payouts.Declines)
	provider.Set("w3", payouts.Hangs)
	sys, err := crowdfunding.New(crowdfunding.Drivers{Accounting: ds[0], Campaigns: ds[1], Payouts: ds[2], Dashboard: ds[3]},
		provider, &crowdfunding.Options{
			Payouts: &payouts.Options{PaymentTimeout: *paymentTimeout, PayWait: 100 * time.Millisecond},
			Relay: &outbox.RelayOptions{PollInterval: 20 * time.Millisecond, MinBackoff: 50 * time.Millisecond,
				MaxBackoff: 200 * time.Millisecond, MaxAttempts: 1000,
				// The hanging payout fails at every attempt until it is cancelled: that is the
				// story, not news for stderr.
				Logger: slog.New(slog.DiscardHandler)},
		})
	if err != nil {
		return err
	}

	// The relays run beside the story, as they would beside an application.
	runCtx, stopRelays := context.WithCancel(context.WithoutCancel(ctx))
	relays := make(chan error, 1)
	go func() { relays <- sys.Run(runCtx) }()
	defer func() {
		stopRelays()
		<-relays
	}()

	d := &demo{ctx: ctx, sys: sys, drivers: ds, out: out, wait: *wait}
	fmt.Fprintf(out, "crowdfunding on SQLite, one file (%s), four sets of tables:\n", *path)
	tables := d.tables(ds[0])
	for _, p := range prefixes {
		var own []string
		for _, t := range tables {
			if strings.HasPrefix(t, p) {
				own = append(own, t)
			}
		}
		fmt.Fprintf(out, "  %-11s %s\n", strings.TrimSuffix(p, "_"), strings.Join(own, " "))
	}
	fmt.Fprintln(out)
	return d.story(*paymentTimeout)
}

// demo tells the story.
type demo struct {
	ctx     context.Context
	sys     *crowdfunding.System
	drivers [4]*sqliteuow.Driver
	out     io.Writer
	wait    time.Duration
	err     error
}

func usd(s string) money.Money { return money.MustParse(s + " USD") }

func (d *demo) printf(format string, args ...any) { fmt.Fprintf(d.out, format, args...) }

// do runs a step, treating a second run of it on a kept file as done, then waits for the
// system to settle.
func (d *demo) do(err error) {
	if d.err != nil {
		return
	}
	if err != nil && !errors.Is(err, accounting.ErrAccountExists) && !errors.Is(err, campaigns.ErrCampaignExists) {
		d.err = err
		return
	}
	d.err = d.settle()
}

func (d *demo) story(paymentTimeout time.Duration) error {
	ctx, sys := d.ctx, d.sys

	d.printf("1. accounting opens the accounts of alice, bob and carol; alice deposits 100.00 USD\n")
	for _, owner := range []string{"alice", "bob", "carol"} {
		d.do(accounting.OpenAccount(ctx, sys.Accounting, accounting.AccountID(owner), owner, money.MustLookup("USD")))
	}
	d.do(accounting.Deposit(ctx, sys.Accounting, "topup-1", "alice", usd("100.00")))

	d.printf("2. bob starts the campaign \"node\" for his lightning node, goal 500.00 USD\n")
	d.do(campaigns.Create(ctx, sys.Campaigns, "node", "bob", "Bob's lightning node", usd("500.00")))

	d.printf("3. alice donates 30.00 USD, and her app retries the request\n")
	d.do(campaigns.Donate(ctx, sys.Campaigns, "node", "alice-1", "alice", usd("30.00")))
	d.do(campaigns.Donate(ctx, sys.Campaigns, "node", "alice-1", "alice", usd("30.00")))
	d.donation("alice", "node/alice-1")

	d.printf("4. carol donates 5.00 USD with nothing in her account\n")
	d.do(campaigns.Donate(ctx, sys.Campaigns, "node", "carol-1", "carol", usd("5.00")))
	d.donation("carol", "node/carol-1")
	if d.err == nil {
		d.printf("   bob donates to his own campaign: %v\n", campaigns.Donate(ctx, sys.Campaigns, "node", "bob-1", "bob", usd("1.00")))
	}

	d.printf("5. bob withdraws 10.00 USD (w1): the provider pays\n")
	d.do(payouts.Request(ctx, sys.Payouts, "w1", "bob", "lnbc1bob", usd("10.00")))
	d.withdrawal("w1")

	d.printf("6. bob withdraws 5.00 USD (w2): the provider declines\n")
	d.do(payouts.Request(ctx, sys.Payouts, "w2", "bob", "lnbc1bob", usd("5.00")))
	d.withdrawal("w2")

	d.printf("7. bob withdraws 5.00 USD (w3): the provider hangs; after the payment timeout (%s) the payout is cancelled\n",
		paymentTimeout)
	d.do(payouts.Request(ctx, sys.Payouts, "w3", "bob", "lnbc1bob", usd("5.00")))
	d.withdrawal("w3")

	d.printf("8. carol withdraws 1.00 USD (w4): accounting rejects the debit\n")
	d.do(payouts.Request(ctx, sys.Payouts, "w4", "carol", "lnbc1carol", usd("1.00")))
	d.withdrawal("w4")
	if d.err != nil {
		return d.err
	}

	d.printf("\ndashboards:\n")
	for _, a := range []dashboard.ViewID{"alice", "bob", "carol"} {
		v, err := dashboard.Get(ctx, sys.Dashboard, a)
		if err != nil {
			return err
		}
		d.printf("%s", board(v))
	}
	ops, err := accounting.Operations(ctx, sys.Accounting)
	if err != nil {
		return err
	}
	var ledger []string
	for _, op := range ops {
		ledger = append(ledger, fmt.Sprintf("  %-24s %-10s %s", op.ID(), op.Kind, op.Amount))
	}
	slices.Sort(ledger)
	d.printf("\naccounting's ledger:\n%s\n", strings.Join(ledger, "\n"))
	return d.books()
}

// donation prints how the donor sees a donation on the dashboard.
func (d *demo) donation(donor dashboard.ViewID, key string) {
	if d.err != nil {
		return
	}
	v, err := dashboard.Get(d.ctx, d.sys.Dashboard, donor)
	if err != nil {
		d.err = err
		return
	}
	dv := v.Donations[key]
	if dv == nil {
		d.err = fmt.Errorf("%s's dashboard has no donation %s", donor, key)
		return
	}
	d.printf("   -> %s sees donation %s %s%s\n", donor, key, dv.Status, why(dv.Reason))
}

// withdrawal prints a withdrawal's saga.
func (d *demo) withdrawal(id string) {
	if d.err != nil {
		return
	}
	info, err := d.sys.Withdrawals.Manager.Get(d.ctx, id)
	if err != nil {
		d.err = err
		return
	}
	d.printf("   -> %s %s (%s)%s\n", id, info.State, info.Status, why(info.Data.Reason))
}

// books checks that no money appeared or vanished: what was deposited is in the accounts or was
// paid out by the provider.
func (d *demo) books() error {
	ops, err := accounting.Operations(d.ctx, d.sys.Accounting)
	if err != nil {
		return err
	}
	accounts, err := accounting.Accounts(d.ctx, d.sys.Accounting)
	if err != nil {
		return err
	}
	paid, err := d.sys.Withdrawals.Manager.List(d.ctx, saga.Completed)
	if err != nil {
		return err
	}
	var in, held, out []money.Money
	for _, op := range ops {
		if op.Kind == accounting.KindDeposit {
			in = append(in, op.Amount)
		}
	}
	for _, a := range accounts {
		held = append(held, a.Balance)
	}
	for _, w := range paid {
		out = append(out, w.Data.Amount)
	}
	c := money.MustLookup("USD")
	sum := func(ms ...money.Money) money.Money {
		if err != nil {
			return money.Zero(c)
		}
		var s money.Money
		s, err = money.Sum(c, ms...)
		return s
	}
	deposited, inAccounts, paidOut := sum(in...), sum(held...), sum(out...)
	total := sum(inAccounts, paidOut)
	if err != nil {
		return err
	}
	d.printf("\nthe books: %s deposited = %s in the accounts + %s paid out by the provider\n", deposited, inAccounts, paidOut)
	if !total.Equal(deposited) {
		return fmt.Errorf("the books do not balance: %s deposited, %s accounted for", deposited, total)
	}
	return nil
}

// settle waits until the system has caught up with what was committed: no outbox holds a
// message due, every withdrawal saga has finished, accounting has applied every refund a saga asked for, every donation is
// confirmed or failed, and each account's dashboard shows its balance, its donations, its
// campaigns' totals and its withdrawals as the contexts that own them have them.
func (d *demo) settle() error {
	deadline := time.Now().Add(d.wait)
	for {
		lag, err := d.lag()
		if err != nil || lag == "" {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the system did not settle in %s: %s", d.wait, lag)
		}
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lag says what has not caught up yet; "" when everything has.
func (d *demo) lag() (string, error) {
	ctx, sys := d.ctx, d.sys
	for i, o := range d.drivers {
		if parked, err := o.Parked(ctx, 1); err != nil || len(parked) > 0 {
			if err == nil {
				err = fmt.Errorf("%s%s is parked: %s", prefixes[i], parked[0].Name, parked[0].Reason)
			}
			return "", err
		}
		if _, due, err := o.OldestDue(ctx, time.Now()); err != nil || due {
			return prefixes[i] + "outbox has messages due", err
		}
	}
	sagas, err := sys.Withdrawals.Manager.List(ctx, "")
	if err != nil {
		return "", err
	}
	ops, err := accounting.Operations(ctx, sys.Accounting)
	if err != nil {
		return "", err
	}
	applied := map[accounting.OperationKey]bool{}
	for _, op := range ops {
		applied[op.ID()] = true
	}
	withdrawals := map[string]string{} // the sagas' outcomes, by withdrawal
	for _, s := range sagas {
		if !s.Status.Terminal() {
			return fmt.Sprintf("withdrawal %s is %s", s.Key, s.State), nil
		}
		if s.State == payouts.Refunded && !applied[accounting.OperationKey("refund/"+s.Key)] {
			return fmt.Sprintf("the refund of %s is not applied", s.Key), nil
		}
		withdrawals[s.Key] = string(s.State)
	}
	cs, err := campaigns.Campaigns(ctx, sys.Campaigns)
	if err != nil {
		return "", err
	}
	raised := map[campaigns.CampaignID]money.Money{}
	donations := map[string]string{} // by campaign/key
	for _, c := range cs {
		raised[c.ID()] = c.Raised
		for k, dn := range c.Donations {
			if dn.Status == campaigns.Pledged {
				return fmt.Sprintf("donation %s/%s is pledged", c.ID(), k), nil
			}
			donations[fmt.Sprintf("%s/%s", c.ID(), k)] = string(dn.Status)
		}
	}
	accounts, err := accounting.Accounts(ctx, sys.Accounting)
	if err != nil {
		return "", err
	}
	for _, a := range accounts {
		v, err := dashboard.Get(ctx, sys.Dashboard, dashboard.ViewID(a.ID()))
		if err != nil {
			return "", err
		}
		if !v.Balance.Equal(a.Balance) {
			return fmt.Sprintf("%s's dashboard shows %s, accounting %s", a.ID(), v.Balance, a.Balance), nil
		}
		for k, dn := range v.Donations {
			if dn.Status != donations[k] {
				return fmt.Sprintf("%s's dashboard shows donation %s %s", a.ID(), k, dn.Status), nil
			}
		}
		for k, c := range v.Campaigns {
			if r, ok := raised[campaigns.CampaignID(k)]; !ok || !c.Raised.Equal(r) || c.Title == "" {
				return fmt.Sprintf("%s's dashboard shows campaign %s at %s", a.ID(), k, c.Raised), nil
			}
		}
		for k, w := range v.Withdrawals {
			if w.Status != withdrawals[k] {
				return fmt.Sprintf("%s's dashboard shows withdrawal %s %s", a.ID(), k, w.Status), nil
			}
		}
	}
	return "", nil
}

// tables lists the tables of the database file.
func (d *demo) tables(driver *sqliteuow.Driver) []string {
	rows, err := driver.DB().QueryContext(d.ctx,
		"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
	if err != nil {
		return []string{err.Error()}
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return []string{err.Error()}
		}
		names = append(names, n)
	}
	return names
}

// board renders an account's dashboard, indented.
func board(v *dashboard.View) string {
	lines := strings.SplitAfter(strings.TrimSuffix(v.String(), "\n"), "\n")
	return "  " + strings.Join(lines, "  ") + "\n"
}

func why(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

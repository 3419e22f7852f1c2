// Package crowdfunding is the reference modular monolith of ddd, seed 002's Satoshi Spark done
// right: four bounded contexts, each with its own aggregates and its own store (tables), that
// talk only through outbox messages on an in-process bus.
//
//   - accounting: accounts, balances, the ledger of operations, idempotency keys scoped to the
//     operation;
//   - campaigns (crowdfunding): campaigns with a goal, donations with idempotency keys;
//   - payouts: withdrawals as an orchestrated saga through an external payment provider, with a
//     refund as compensation;
//   - dashboard: a read model per account.
//
// A donation is a choreography: campaigns pledges, accounting transfers (or rejects, and says
// so), campaigns records the outcome. A withdrawal is a process manager: request, debit, pay,
// mark paid; rejected when the debit is refused; refunded when the payment fails or times out.
// System wires the contexts, their relays and their consumers; see the README for the context
// map.
package crowdfunding

import (
	"context"
	"errors"
	"time"

	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// Drivers are the four contexts' stores: four drivers, so four sets of tables (four memuow
// drivers, or one database with a table prefix per context).
type Drivers struct {
	Accounting, Campaigns, Payouts, Dashboard driver.Driver
}

// Memory returns four in-memory drivers.
func Memory() Drivers {
	return Drivers{memuow.New(nil), memuow.New(nil), memuow.New(nil), memuow.New(nil)}
}

// Options tune New.
type Options struct {
	// Clock replaces the system clock of the stores and relays (a fake clock in tests).
	Clock uow.Clock
	// Publisher wraps the bus the relays publish to: a chaotic network in tests. nil publishes
	// to the bus.
	Publisher func(*outbox.Bus) outbox.Publisher
	// Payouts tunes the payouts context; its Logger defaults to the relays'.
	Payouts *payouts.Options
	// Relay tunes the relays; Clock is set from Options.Clock.
	Relay *outbox.RelayOptions
}

// System is the four contexts wired together.
type System struct {
	Bus                                       *outbox.Bus
	Accounting, Campaigns, Payouts, Dashboard *uow.Store
	// Withdrawals is the payouts context: its saga manager and payment worker.
	Withdrawals *payouts.Context
	relays      []*outbox.Relay
}

// New wires the contexts on their drivers, paying withdrawals through p. The drivers must be
// migrated.
func New(d Drivers, p payouts.Provider, opts *Options) (*System, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	ro := outbox.RelayOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 1000}
	if o.Relay != nil {
		ro = *o.Relay
	}
	ro.Clock = o.Clock
	s := &System{
		Bus:        &outbox.Bus{},
		Accounting: accounting.NewStore(d.Accounting, o.Clock),
		Campaigns:  campaigns.NewStore(d.Campaigns, o.Clock),
		// The payment worker's commands reach the provider as a service of the payouts store.
		Payouts:   uow.NewStore(d.Payouts, &uow.Options{Clock: o.Clock, Services: []any{p}}),
		Dashboard: uow.NewStore(d.Dashboard, &uow.Options{Clock: o.Clock}),
	}
	po := payouts.Options{}
	if o.Payouts != nil {
		po = *o.Payouts
	}
	if po.Logger == nil {
		po.Logger = ro.Logger // a payment that fails is logged where the relays log its retries
	}
	w, err := payouts.NewContext(s.Payouts, &po)
	if err != nil {
		return nil, err
	}
	s.Withdrawals = w
	ledger, err := accounting.Handler(s.Accounting)
	if err != nil {
		return nil, err
	}
	settle, err := campaigns.Handler(s.Campaigns)
	if err != nil {
		return nil, err
	}
	board := dashboard.Handler(s.Dashboard)
	// Every topic a context publishes on has a subscriber here, so the bus discards nothing: a
	// message on any other topic fails, and its relay retries and parks it.
	subs := []struct {
		topic, name string
		h           outbox.Handler
	}{
		{campaigns.Topic, accounting.Consumer, ledger},
		{accounting.Commands, accounting.Consumer, ledger},
		{accounting.Topic, campaigns.Consumer, settle},
		{accounting.Topic, dashboard.Consumer, board},
		{campaigns.Topic, dashboard.Consumer, board},
		{payouts.Topic, dashboard.Consumer, board},
	}
	for _, sub := range subs {
		if _, err := s.Bus.Subscribe(sub.topic, sub.name, sub.h); err != nil {
			return nil, err
		}
	}
	if err := w.Subscribe(s.Bus); err != nil {
		return nil, err
	}
	var pub outbox.Publisher = s.Bus
	if o.Publisher != nil {
		pub = o.Publisher(s.Bus)
	}
	for _, d := range []driver.Driver{d.Accounting, d.Campaigns, d.Payouts, d.Dashboard} {
		r := ro
		s.relays = append(s.relays, outbox.NewRelay(d, pub, &r))
	}
	return s, nil
}

// Step runs one batch of every context's relay and returns how many messages they claimed.
func (s *System) Step(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for _, r := range s.relays {
		n, err := r.Step(ctx)
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// Drain runs the relays until a whole pass finds nothing due: the system is quiet, but for
// messages waiting for a retry or a timeout.
func (s *System) Drain(ctx context.Context) error {
	for {
		n, err := s.Step(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// Run runs every relay until ctx is done.
func (s *System) Run(ctx context.Context) error {
	errs := make(chan error, len(s.relays))
	for _, r := range s.relays {
		go func() { errs <- r.Run(ctx) }()
	}
	var all []error
	for range s.relays {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

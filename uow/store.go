package uow

import (
	"context"
	"fmt"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow/driver"
)

// Clock tells the time. The unit of work stamps messages and inbox marks with it; give a store a
// fake one in tests with [Options].Clock (memuow.Clock is one). It must be safe for concurrent
// use.
type Clock interface {
	Now() time.Time
}

// Options tune a [Store]. The zero value is ready to use.
type Options struct {
	// Clock is the store's clock: [Unit.Now] returns its time, and units stamp with it the
	// messages they write (CreatedAt, and an event's OccurredAt) and their inbox marks. nil
	// means the system clock. A Clock among Services is only a service: it is not the store's.
	Clock Clock
	// Services are values commands and handlers reach through the unit with [Service] (a
	// payment provider, a read-model updater) instead of constructor injection, so tests swap
	// them here. A command declares the ones it needs ([Requirer]) and [NewExecutor] checks
	// that the store has them. They must be safe for concurrent use.
	Services []any
	// Topic returns the outbox topic of an aggregate event; nil means the aggregate's stable
	// name, Envelope.AggregateType (from aggregate.Aggregate.AggregateType).
	Topic func(aggregate.Envelope) string
	// Decorate, if set, is called at commit for every message the unit writes, with the
	// commit's context, before it is stored: to add headers such as trace context (the
	// OpenTelemetry adapter of package outbox does). It must not change the message's ID.
	Decorate func(ctx context.Context, m *Message)
}

// Store runs units of work on a driver. It is safe for concurrent use; each unit is used by one
// goroutine.
type Store struct {
	drv      driver.Driver
	services []any
	clock    Clock
	topic    func(aggregate.Envelope) string
	decorate func(context.Context, *Message)
}

// NewStore returns a store over the driver; nil opts means the defaults.
func NewStore(d driver.Driver, opts *Options) *Store {
	s := &Store{drv: d, clock: systemClock{}, topic: func(e aggregate.Envelope) string { return e.AggregateType }}
	if opts != nil {
		s.services = append([]any(nil), opts.Services...)
		if opts.Clock != nil {
			s.clock = opts.Clock
		}
		if opts.Topic != nil {
			s.topic = opts.Topic
		}
		s.decorate = opts.Decorate
	}
	return s
}

// Driver returns the store's driver, as database/sql's DB.Driver does: for code that is handed
// only the store and needs the driver outside a unit, to hand it to a relay or to reach its own
// type (a SQL driver's pool for a read model's queries, its schema). Inside a unit, reach the
// driver's transaction with [TxOf].
func (s *Store) Driver() driver.Driver { return s.drv }

// Begin starts a unit of work. Most code uses [Do] instead, which also commits, retries
// conflicts and rolls back on error. The caller must end the unit with Commit or Rollback.
func (s *Store) Begin(ctx context.Context) (*Unit, error) {
	tx, err := s.drv.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("uow: begin: %w", err)
	}
	return &Unit{store: s, tx: tx, tracked: make(map[key]*entry)}, nil
}

// Join starts a unit of work inside tx, a transaction of the driver's own type that you began
// and will end yourself (a pgx.Tx for pguow, a *sql.Tx for mysqluow and sqliteuow), as
// database/sql's BeginTx starts one inside a connection. The unit reads in tx, and its Commit
// writes its aggregates, outbox messages and inbox marks in tx, without committing it: they
// become visible with your own statements when you commit tx, and are discarded if you roll it
// back. Its Rollback, and a Commit that fails, undo only what the unit wrote and leave tx
// usable. Locks the unit takes, and the ones its commit takes to keep concurrent commits in
// order, are then held until tx ends. [TxOf] returns tx. Each driver documents what it needs
// of tx and the capabilities a joined unit lacks. Most code uses [DoIn] instead, which also
// commits and rolls back on error.
//
// The unit must end before you commit or roll back tx. Units joined to one tx nest: a unit
// joined while another is open is part of that one, undone if it rolls back.
//
// A driver that cannot join transactions (memuow) returns an error wrapping [ErrUnsupported];
// a tx of another type, one wrapping [ErrInvalid]; errors of tx itself (ended, aborted) are the
// driver's.
func (s *Store) Join(ctx context.Context, tx any) (*Unit, error) {
	j, ok := s.drv.(driver.Joiner)
	if !ok {
		return nil, fmt.Errorf("%w: joining a transaction of your own (driver %T)", ErrUnsupported, s.drv)
	}
	dtx, err := j.Join(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("uow: join: %w", err)
	}
	return &Unit{store: s, tx: dtx, tracked: make(map[key]*entry), joined: true}, nil
}

// PurgeInbox deletes the inbox marks made before before and returns how many it deleted. A
// mark's time is the store's clock's when its unit marked the message, so to keep a week of
// marks pass that clock's now minus a week. It takes a time, not an age, like the drivers'
// purges ([driver.InboxPurger], [driver.Operator].PurgeParked). A driver without an inbox purge
// returns an error wrapping [ErrUnsupported]; the driver's errors are returned wrapped.
func (s *Store) PurgeInbox(ctx context.Context, before time.Time) (int, error) {
	p, ok := s.drv.(driver.InboxPurger)
	if !ok {
		return 0, fmt.Errorf("%w: inbox purge", ErrUnsupported)
	}
	n, err := p.PurgeInbox(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("uow: purge inbox: %w", err)
	}
	return n, nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

package uow

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow/driver"
)

// Clock tells the time. The unit of work stamps messages and inbox marks with it; provide a fake
// one as a service in tests (memuow has one).
type Clock interface {
	Now() time.Time
}

// Options tune a [Store]. The zero value is ready to use.
type Options struct {
	// Services are values handlers reach through the unit with [Service] (a Clock, a payment
	// gateway, a read-model updater) instead of constructor injection. A [Clock] among them
	// replaces the system clock. They must be safe for concurrent use.
	Services []any
	// Topic returns the outbox topic of an aggregate event; nil means the aggregate type name.
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
	s := &Store{drv: d, topic: func(e aggregate.Envelope) string { return e.AggregateType }}
	if opts != nil {
		s.services = append([]any(nil), opts.Services...)
		if opts.Topic != nil {
			s.topic = opts.Topic
		}
		s.decorate = opts.Decorate
	}
	s.clock = systemClock{}
	for _, v := range s.services {
		if c, ok := v.(Clock); ok {
			s.clock = c
			break
		}
	}
	return s
}

// Driver returns the store's driver.
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

// PurgeInbox deletes the inbox marks older than age, by the store's clock, and returns how many
// it deleted. A driver without an inbox purge returns an error wrapping [ErrUnsupported].
func (s *Store) PurgeInbox(ctx context.Context, age time.Duration) (int, error) {
	p, ok := s.drv.(driver.InboxPurger)
	if !ok {
		return 0, fmt.Errorf("%w: inbox purge", ErrUnsupported)
	}
	return p.PurgeInbox(ctx, s.clock.Now().Add(-age))
}

// Service returns the first service of the unit's store that is a T (a concrete type or an
// interface it implements). Without one it returns an error wrapping [ErrNoService].
func Service[T any](u *Unit) (T, error) {
	for _, v := range u.store.services {
		if t, ok := v.(T); ok {
			return t, nil
		}
	}
	var zero T
	return zero, fmt.Errorf("%w: %v", ErrNoService, reflect.TypeFor[T]())
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

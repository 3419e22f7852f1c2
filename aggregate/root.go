package aggregate

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dddkit/ddd/internal/rootaccess"
)

// Root is embedded by value in every aggregate: it carries the aggregate's identity, the version
// it was stored at, and the events recorded since it was loaded.
//
//	type Account struct {
//		aggregate.Root[AccountID]
//		balance money.Money
//	}
//
//	func (*Account) AggregateType() string { return "Account" }
//
// K is the aggregate's ID type, any string-based type such as `type AccountID string`, so the IDs
// of different aggregates cannot be mixed up.
//
// The version is 0 until the aggregate is first stored, then the version the unit of work stored;
// only the unit of work changes it (domain code has no setter). Recorded events wait in the root
// until the unit of work takes them at commit and writes them to the outbox.
//
// The zero Root has no ID; give one with [NewRoot]. A Root is not safe for concurrent use: an
// aggregate belongs to one unit of work, used by one goroutine. Its fields are unexported, so it
// adds nothing to the JSON encoding of the aggregate that embeds it; storage keeps ID and version
// beside the document.
type Root[K ~string] struct {
	id    K
	books books
}

// books is the part of Root that does not depend on the ID type.
type books struct {
	version int64
	events  []Event
}

// Aggregate is what storage and the unit of work see of an aggregate: the methods a type gets by
// embedding [Root] (by value; the methods are on the pointer), plus the stable name it declares
// with AggregateType. Root alone is not an Aggregate: every aggregate type names itself.
//
//	func (*Account) AggregateType() string { return "Account" }
//
// The interface has unexported methods, so embedding Root is the only way to implement it.
type Aggregate interface {
	// AggregateType returns the aggregate type's stable name. It is the kind the unit of work
	// stores the aggregates under, the default outbox topic of the events they record and the
	// aggregate-type header of those events, so keep it when the Go type is renamed or moved:
	// a new name moves neither stored aggregates nor subscriptions, it orphans them. It must not
	// be empty, and must not depend on the receiver's state (it is called on a new, empty value).
	AggregateType() string
	// AggregateID returns the ID as a plain string, the storage key.
	AggregateID() string
	// Version returns the stored version, 0 if never stored.
	Version() int64
	// Recorded returns the events recorded and not yet committed, oldest first.
	Recorded() []Event

	bookkeeping() *books
	restoreID(id string)
}

// rooted is what embedding Root gives a type: Aggregate without AggregateType.
type rooted interface {
	bookkeeping() *books
	restoreID(id string)
}

var _ rooted = (*Root[string])(nil)

// NewRoot returns the root of a new aggregate with the given ID, at version 0. An empty ID is an
// error wrapping [ErrInvalidID].
func NewRoot[K ~string](id K) (Root[K], error) {
	if id == "" {
		return Root[K]{}, fmt.Errorf("%w: empty", ErrInvalidID)
	}
	return Root[K]{id: id}, nil
}

// RestoreRoot returns the root of an aggregate loaded from storage at the given version (at least
// 1). Only storage code calls it: a custom mapping that reads an aggregate from its own tables
// builds the root with it. Errors wrap [ErrInvalidID] or [ErrInvalidVersion].
func RestoreRoot[K ~string](id K, version int64) (Root[K], error) {
	if id == "" {
		return Root[K]{}, fmt.Errorf("%w: empty", ErrInvalidID)
	}
	if version < 1 {
		return Root[K]{}, fmt.Errorf("%w: %d for stored aggregate %s", ErrInvalidVersion, version, id)
	}
	return Root[K]{id: id, books: books{version: version}}, nil
}

// ID returns the aggregate's ID.
func (r *Root[K]) ID() K { return r.id }

// AggregateID returns the ID as a plain string.
func (r *Root[K]) AggregateID() string { return string(r.id) }

// Version returns the version the aggregate was stored at, 0 if it never was.
func (r *Root[K]) Version() int64 { return r.books.version }

// Record appends events to the aggregate's recorded events. Domain methods call it after they
// changed state, once the change is valid; a method that returns an error records nothing.
// Recording a nil event panics: it is a programming error.
func (r *Root[K]) Record(events ...Event) {
	for _, e := range events {
		if e == nil {
			panic("aggregate: Record of a nil event")
		}
	}
	r.books.events = append(r.books.events, events...)
}

// Recorded returns a copy of the events recorded and not yet committed, oldest first.
func (r *Root[K]) Recorded() []Event { return slices.Clone(r.books.events) }

func (r *Root[K]) bookkeeping() *books { return &r.books }
func (r *Root[K]) restoreID(id string) { r.id = K(id) }

var errNotAggregate = errors.New("aggregate: value does not embed aggregate.Root")

func init() {
	rootaccess.Restore = func(a any, id string, version int64) error {
		agg, ok := a.(rooted)
		if !ok {
			return fmt.Errorf("%w: %T", errNotAggregate, a)
		}
		if id == "" {
			return fmt.Errorf("%w: empty", ErrInvalidID)
		}
		if version < 1 {
			return fmt.Errorf("%w: %d for stored aggregate %s", ErrInvalidVersion, version, id)
		}
		agg.restoreID(id)
		b := agg.bookkeeping()
		b.version, b.events = version, nil
		return nil
	}
	rootaccess.Committed = func(a any, version int64) error {
		agg, ok := a.(rooted)
		if !ok {
			return fmt.Errorf("%w: %T", errNotAggregate, a)
		}
		b := agg.bookkeeping()
		if version < b.version {
			return fmt.Errorf("%w: committed version %d below current %d", ErrInvalidVersion, version, b.version)
		}
		b.version, b.events = version, nil
		return nil
	}
}

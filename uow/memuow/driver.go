package memuow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dddkit/ddd/internal/jsonmatch"
	"github.com/dddkit/ddd/internal/locktable"
	"github.com/dddkit/ddd/uow/driver"
)

// DefaultLockTimeout is how long a lock wait lasts when Options.LockTimeout is zero.
const DefaultLockTimeout = 2 * time.Second

// ErrFault is the error a commit returns for an injected [Fault] whose Err is nil.
var ErrFault = errors.New("memuow: injected fault")

// Options tunes a [Driver]. A nil *Options and zero fields mean the documented defaults.
type Options struct {
	// LockTimeout is how long a transaction waits for a lock another transaction holds before
	// the wait fails with an error wrapping driver.ErrConflict, like MySQL's lock wait timeout
	// (error 1205). Zero or negative means DefaultLockTimeout.
	LockTimeout time.Duration
}

// Driver is an in-memory [driver.Driver]: it keeps records, committed outbox messages and inbox
// marks in maps and slices, with the isolation and locking described in the package doc.
//
// A Driver is safe for concurrent use by multiple goroutines. The zero value is an empty store
// with the default options, ready to use. A Driver must not be copied after first use.
type Driver struct {
	lockTimeout time.Duration
	locks       locktable.Table[*Tx, lockKey]

	mu       sync.RWMutex // guards the fields below; held for writing by a commit's apply
	records  map[string]map[string]stored
	messages []entry // the outbox, in seq order; acknowledged messages are deleted
	seq      int64   // the seq of the last message committed
	inbox    map[inboxKey]time.Time
	faults   []Fault

	// pause, if set, holds every commit that validated, before it applies (the tests'
	// PauseCommits).
	pause atomic.Pointer[func(context.Context, *driver.Changes)]
}

var (
	_ driver.Driver                = (*Driver)(nil)
	_ driver.InboxPurger           = (*Driver)(nil)
	_ driver.Tx                    = (*Tx)(nil)
	_ driver.Querier               = (*Tx)(nil)
	_ driver.KeyLocker             = (*Tx)(nil)
	_ driver.InboxReader           = (*Tx)(nil)
	_ driver.Outbox                = (*Driver)(nil)
	_ driver.Operator              = (*Driver)(nil)
	_ interface{ Now() time.Time } = (*Clock)(nil)
)

// stored is a committed record: its version and JSON document.
type stored struct {
	version int64
	data    []byte
}

type recordKey struct{ kind, id string }

type inboxKey struct{ consumer, messageID string }

// New returns an empty Driver. opts may be nil.
func New(opts *Options) *Driver {
	d := &Driver{}
	if opts != nil {
		d.lockTimeout = opts.LockTimeout
	}
	return d
}

func (d *Driver) timeout() time.Duration {
	if d.lockTimeout <= 0 {
		return DefaultLockTimeout
	}
	return d.lockTimeout
}

// Begin starts a transaction; the [driver.Tx] it returns is a *[Tx]. It fails only when ctx is
// done, with an error wrapping ctx.Err().
func (d *Driver) Begin(ctx context.Context) (driver.Tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memuow: begin: %w", err)
	}
	return &Tx{d: d}, nil
}

// PurgeInbox deletes the inbox marks whose At is before before and returns how many it deleted.
// It fails only when ctx is done, with an error wrapping ctx.Err().
func (d *Driver) PurgeInbox(ctx context.Context, before time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memuow: purge inbox: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for k, at := range d.inbox {
		if at.Before(before) {
			delete(d.inbox, k)
			n++
		}
	}
	return n, nil
}

// Fault is a failure that [Driver.InjectFault] arranges for a future commit.
type Fault struct {
	// After selects when the commit fails. False: before applying anything, so the commit
	// stores nothing. True: after applying everything, so the commit is stored but its caller
	// gets an error ("committed, but the caller never heard"). A fault with After set is taken
	// only by a commit that succeeds; a commit that fails on its own leaves it in place.
	After bool
	// Err is the error the commit returns; nil means ErrFault.
	Err error
	// Match selects the commit that takes the fault; nil matches any commit. It is called with
	// the commit's changes while the driver is locked, so it must not call the Driver, and it
	// must not modify the changes.
	Match func(*driver.Changes) bool
}

func (f Fault) err() error {
	if f.Err == nil {
		return ErrFault
	}
	return f.Err
}

// InjectFault arranges for a commit to fail: the next commit for which f.Match returns true
// takes f (see [Fault]). Faults are taken once each; a commit takes at most one, the first
// injected among those that match it.
func (d *Driver) InjectFault(f Fault) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = append(d.faults, f)
}

// PauseCommits makes every later commit call pause, with the commit's context and changes, once
// it has validated the changes and before it applies them, and go on when pause returns; nil
// removes it. It lets a test hold a commit in the middle, to see what a concurrent unit or relay
// does meanwhile. pause runs while the commit holds the driver: no other commit, claim or read of
// the driver goes on until it returns, so it must not call the driver (package uowtest's
// CommitPauser).
func (d *Driver) PauseCommits(pause func(ctx context.Context, c *driver.Changes)) {
	if pause == nil {
		d.pause.Store(nil)
		return
	}
	d.pause.Store(&pause)
}

// Messages returns a copy of the committed outbox messages still in the outbox, in commit
// order: parked ones included, acknowledged ones ([Driver.Ack]) not. It is [Driver.Pending]
// without a limit, a context or an error, kept on this driver alone: memuow reads memory, so it
// cannot fail, and tests, Go examples and demos print or count the outbox with it in one call.
// The SQL drivers read the outbox with Pending, and tests of any driver with package uowtest's
// Messages.
func (d *Driver) Messages() []driver.Message {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]driver.Message, len(d.messages))
	for i, e := range d.messages {
		out[i] = cloneMessage(e.msg)
	}
	return out
}

// Get returns a copy of the committed record of kind with the given ID, and whether it exists.
func (d *Driver) Get(kind, id string) (driver.Record, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s, ok := d.records[kind][id]
	if !ok {
		return driver.Record{}, false
	}
	return s.record(kind, id), true
}

// Count returns the number of committed records of kind.
func (d *Driver) Count(kind string) int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.records[kind])
}

// InboxLen returns the number of committed inbox marks.
func (d *Driver) InboxLen() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.inbox)
}

func (s stored) record(kind, id string) driver.Record {
	return driver.Record{Kind: kind, ID: id, Version: s.version, Data: bytes.Clone(s.data)}
}

func cloneMessage(m driver.Message) driver.Message {
	m.Payload = bytes.Clone(m.Payload)
	m.Headers = maps.Clone(m.Headers)
	return m
}

// load returns the committed records of kind with the given IDs, in the order of ids.
func (d *Driver) load(kind string, ids []string) []driver.Record {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []driver.Record
	for _, id := range ids {
		if s, ok := d.records[kind][id]; ok {
			out = append(out, s.record(kind, id))
		}
	}
	return out
}

func (d *Driver) exists(kind, id string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.records[kind][id]
	return ok
}

func (d *Driver) find(kind string, filter jsonmatch.Filter) []driver.Record {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []driver.Record
	for id, s := range d.records[kind] {
		if filter.Match(s.data) {
			out = append(out, s.record(kind, id))
		}
	}
	slices.SortFunc(out, func(a, b driver.Record) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (d *Driver) processed(consumer, messageID string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	_, ok := d.inbox[inboxKey{consumer, messageID}]
	return ok
}

// staged is the state of a record after some of a commit's writes.
type staged struct {
	exists bool
	stored
}

// commit validates c against the committed state and applies it, all under d.mu: a commit is
// all or nothing and never interleaves with another. The caller holds the row locks of every
// record c writes. paused, if not nil, is called between the validation and the apply.
func (d *Driver) commit(c *driver.Changes, paused func()) error {
	d.mu.Lock()
	defer d.mu.Unlock()

	fault := -1
	for i, f := range d.faults {
		if f.Match == nil || f.Match(c) {
			fault = i
			break
		}
	}
	if fault >= 0 && !d.faults[fault].After {
		f := d.faults[fault]
		d.faults = slices.Delete(d.faults, fault, fault+1)
		return f.err()
	}

	recs, err := d.validate(c)
	if err != nil {
		return err
	}
	if paused != nil {
		paused()
	}

	for k, s := range recs {
		if !s.exists {
			delete(d.records[k.kind], k.id)
			if len(d.records[k.kind]) == 0 {
				delete(d.records, k.kind)
			}
			continue
		}
		if d.records == nil {
			d.records = make(map[string]map[string]stored)
		}
		if d.records[k.kind] == nil {
			d.records[k.kind] = make(map[string]stored)
		}
		d.records[k.kind][k.id] = s.stored
	}
	for _, m := range c.Messages {
		d.seq++
		d.messages = append(d.messages, entry{msg: cloneMessage(m), seq: d.seq})
	}
	if len(c.Inbox) > 0 && d.inbox == nil {
		d.inbox = make(map[inboxKey]time.Time)
	}
	for _, m := range c.Inbox {
		d.inbox[inboxKey{m.Consumer, m.MessageID}] = m.At
	}

	if fault >= 0 {
		f := d.faults[fault]
		d.faults = slices.Delete(d.faults, fault, fault+1)
		return f.err()
	}
	return nil
}

// validate runs c's writes in order against the committed state, as a database runs a
// transaction's statements, and returns the final state of every record they touch. It checks
// the inbox marks too. It changes nothing. The caller holds d.mu.
func (d *Driver) validate(c *driver.Changes) (map[recordKey]staged, error) {
	recs := make(map[recordKey]staged, len(c.Writes))
	current := func(k recordKey) staged {
		if s, ok := recs[k]; ok {
			return s
		}
		s, ok := d.records[k.kind][k.id]
		return staged{exists: ok, stored: s}
	}
	for _, w := range c.Writes {
		r := w.Record
		k := recordKey{r.Kind, r.ID}
		cur := current(k)
		switch w.Op {
		case driver.Insert:
			if cur.exists {
				return nil, fmt.Errorf("%w: insert %s %q: the record exists", driver.ErrDuplicate, r.Kind, r.ID)
			}
			recs[k] = staged{exists: true, stored: stored{version: 1, data: bytes.Clone(r.Data)}}
		case driver.Update, driver.Delete:
			op := "update"
			if w.Op == driver.Delete {
				op = "delete"
			}
			if !cur.exists {
				return nil, fmt.Errorf("%w: %s %s %q at version %d: no such record", driver.ErrConflict, op, r.Kind, r.ID, r.Version)
			}
			if cur.version != r.Version {
				return nil, fmt.Errorf("%w: %s %s %q at version %d: the stored version is %d", driver.ErrConflict, op, r.Kind, r.ID, r.Version, cur.version)
			}
			if w.Op == driver.Delete {
				recs[k] = staged{}
			} else {
				recs[k] = staged{exists: true, stored: stored{version: r.Version + 1, data: bytes.Clone(r.Data)}}
			}
		default:
			return nil, fmt.Errorf("%w: write to %s %q: unknown op %d", driver.ErrInvalid, r.Kind, r.ID, w.Op)
		}
	}
	marks := make(map[inboxKey]bool, len(c.Inbox))
	for _, m := range c.Inbox {
		k := inboxKey{m.Consumer, m.MessageID}
		if _, ok := d.inbox[k]; ok || marks[k] {
			return nil, fmt.Errorf("%w: inbox mark of consumer %q for message %q exists", driver.ErrConflict, m.Consumer, m.MessageID)
		}
		marks[k] = true
	}
	return recs, nil
}

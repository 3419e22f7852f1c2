package uow

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/internal/rootaccess"
)

// Unit is a unit of work: one transaction in which a command loads aggregates through
// repositories, changes them, and commits once. It keeps an identity map (loading one ID twice
// gives the same value) and tracks what changed, so Commit writes, in one transaction:
//   - new aggregates (insert), changed ones (update if the stored version still equals the
//     loaded one) and removed ones (delete with the same check); loaded aggregates that did not
//     change are not written;
//   - the events every tracked aggregate recorded, as outbox messages in recorded order, then the
//     messages emitted on the unit;
//   - the inbox marks.
//
// A unit is used by one goroutine and ends with Commit or Rollback; after that every method
// returns an error wrapping [ErrUnitDone]. The zero Unit is not usable: get one from
// [Store.Begin] or [Do].
type Unit struct {
	store   *Store
	tx      Tx
	tracked map[key]*entry
	absent  map[key]bool // IDs a load found missing: Add need not read them again
	order   []*entry     // tracking order: the order of writes and events at commit
	emitted []Message
	marks   []InboxMark
	meta    aggregate.Metadata
	done    bool
}

type key struct{ kind, id string }

type state int

const (
	loaded state = iota
	added
	removed
)

// entry is one tracked aggregate.
type entry struct {
	key
	agg      aggregate.Aggregate
	state    state
	version  int64  // the version loaded; 0 when added
	snapshot []byte // the JSON document as loaded, for change detection; nil for mapped ones
	locked   bool   // loaded ForUpdate
	mapped   *mappedOps
}

// Native returns the driver's transaction handle for custom SQL in the unit's transaction (see
// [Tx.Native]; each driver documents the type).
func (u *Unit) Native() any { return u.tx.Native() }

// Now returns the time by the store's clock.
func (u *Unit) Now() time.Time { return u.store.clock.Now() }

// SetCausation sets the correlation and causation IDs the unit writes on every message it
// commits: the ID of the business transaction, and the ID of the message that caused this unit
// (the command or event being handled).
func (u *Unit) SetCausation(correlationID, causationID string) {
	u.meta.CorrelationID, u.meta.CausationID = correlationID, causationID
}

func (u *Unit) check() error {
	if u.done {
		return ErrUnitDone
	}
	return nil
}

// Lock takes locks on arbitrary keys (an account number, "daily-limit:alice"), each held until the
// unit ends. Keys are taken in sorted order, so two units locking overlapping sets cannot deadlock
// on them. memuow's locks work within the process; SQL drivers use database locks that work
// across processes. A driver without keyed locks returns an error wrapping [ErrUnsupported]; a
// wait the driver gives up on returns an error wrapping [ErrConflict].
func (u *Unit) Lock(ctx context.Context, keys ...string) error {
	if err := u.check(); err != nil {
		return err
	}
	l, ok := u.tx.(KeyLocker)
	if !ok {
		return fmt.Errorf("%w: keyed locks", ErrUnsupported)
	}
	sorted := slices.Compact(slices.Sorted(slices.Values(keys)))
	if err := l.LockKeys(ctx, sorted); err != nil {
		return fmt.Errorf("uow: lock %v: %w", sorted, err)
	}
	return nil
}

// Emit adds a message to the outbox, written at commit after the aggregates' events: a command to
// another context, an integration event, a delayed timeout (DeliverAfter). An empty ID gets a
// UUIDv7, a zero CreatedAt the unit's time; the unit's correlation and causation IDs are added to
// the headers unless set. A message without Topic or Name, or whose non-empty Payload is not
// valid JSON, is an error wrapping [ErrInvalid].
func (u *Unit) Emit(m Message) error {
	if err := u.check(); err != nil {
		return err
	}
	if m.Topic == "" || m.Name == "" {
		return fmt.Errorf("%w: message needs a topic and a name", ErrInvalid)
	}
	if len(m.Payload) > 0 && !json.Valid(m.Payload) {
		return fmt.Errorf("%w: payload of %s is not valid JSON", ErrInvalid, m.Name)
	}
	if m.ID == "" {
		m.ID = uuid.Must(uuid.NewV7()).String()
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = u.Now()
	}
	m.Payload = bytes.Clone(m.Payload)
	m.Headers = u.headers(m.Headers)
	u.emitted = append(u.emitted, m)
	return nil
}

// headers returns a copy of h with the unit's correlation and causation IDs added where absent.
func (u *Unit) headers(h map[string]string) map[string]string {
	out := maps.Clone(h)
	if out == nil {
		out = make(map[string]string, 2)
	}
	if _, ok := out[HeaderCorrelationID]; !ok && u.meta.CorrelationID != "" {
		out[HeaderCorrelationID] = u.meta.CorrelationID
	}
	if _, ok := out[HeaderCausationID]; !ok && u.meta.CausationID != "" {
		out[HeaderCausationID] = u.meta.CausationID
	}
	return out
}

// MarkProcessed records in the unit's transaction that consumer processed the message with the
// given ID (the inbox, Vernon's Deduplicator), and reports whether it already was: a handler that
// gets already == true returns without effect. The mark commits or rolls back with the handler's
// effects. Two units marking one message concurrently both see false; the second to commit fails
// with an error wrapping [ErrConflict], and [Do]'s retry then sees already == true. A driver
// without an inbox returns an error wrapping [ErrUnsupported].
func (u *Unit) MarkProcessed(ctx context.Context, consumer, messageID string) (already bool, err error) {
	if err := u.check(); err != nil {
		return false, err
	}
	if consumer == "" || messageID == "" {
		return false, fmt.Errorf("%w: inbox mark needs a consumer and a message ID", ErrInvalid)
	}
	for _, m := range u.marks {
		if m.Consumer == consumer && m.MessageID == messageID {
			return true, nil
		}
	}
	r, ok := u.tx.(InboxReader)
	if !ok {
		return false, fmt.Errorf("%w: inbox", ErrUnsupported)
	}
	done, err := r.Processed(ctx, consumer, messageID)
	if err != nil {
		return false, fmt.Errorf("uow: inbox %s/%s: %w", consumer, messageID, err)
	}
	if done {
		return true, nil
	}
	u.marks = append(u.marks, InboxMark{Consumer: consumer, MessageID: messageID, At: u.Now()})
	return false, nil
}

// Rollback ends the unit and discards everything it did. After Commit, or a second time, it
// returns nil and does nothing.
func (u *Unit) Rollback(ctx context.Context) error {
	if u.done {
		return nil
	}
	u.done = true
	if err := u.tx.Rollback(ctx); err != nil {
		return fmt.Errorf("uow: rollback: %w", err)
	}
	return nil
}

// Commit writes everything the unit changed in one transaction and ends the unit (see [Unit]).
// On success the committed aggregates have their new versions and no recorded events. On error
// nothing was written (the driver guarantees it) and the aggregates are as before the commit.
// The error wraps [ErrConflict] when another unit changed an aggregate this one wrote, and also
// when another unit inserted an aggregate with the ID of one this unit added after Add found the
// ID free (a lost race, which [Do] retries like a version conflict: its next attempt finds the
// aggregate; the error then wraps [ErrDuplicate] as well).
//
// The rows are written in one order, whatever order the unit loaded or added the aggregates in:
// the aggregates kept by a [Mapper] first, then the documents, each sorted by kind and then ID.
// Every unit locks the rows it writes in that same order, so concurrent commits wait for each
// other but never deadlock on them; take row locks of your own before the commit (GetForUpdate)
// in kind and ID order as well.
func (u *Unit) Commit(ctx context.Context) error {
	if err := u.check(); err != nil {
		return err
	}
	changes, committed, err := u.changes(ctx)
	if err != nil {
		_ = u.Rollback(context.WithoutCancel(ctx))
		return lostRace(err)
	}
	u.done = true
	if err := u.tx.Commit(ctx, changes); err != nil {
		return fmt.Errorf("uow: commit: %w", lostRace(err))
	}
	for _, c := range committed {
		if err := rootaccess.Committed(c.entry.agg, c.version); err != nil {
			return fmt.Errorf("uow: after commit: %w", err)
		}
	}
	return nil
}

// lostRace turns a duplicate found at commit into a conflict. Add refused an ID the unit tracks
// or the store held when Add looked, so an insert that finds its ID taken at commit lost a race
// with another unit that inserted it since: retrying the unit finds that aggregate.
func lostRace(err error) error {
	if errors.Is(err, ErrDuplicate) && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("%w: another unit added it meanwhile: %w", ErrConflict, err)
	}
	return err
}

type committedEntry struct {
	entry   *entry
	version int64
}

// byKey orders entries by kind, then ID: the order of a commit's writes.
func byKey(a, b *entry) int {
	return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.id, b.id))
}

// changes computes what Commit writes; mapped aggregates are written through their mappers now,
// in the transaction, in kind and ID order. The documents' writes go to the driver in that order
// too; the messages keep the order the unit tracked the aggregates in.
func (u *Unit) changes(ctx context.Context) (*Changes, []committedEntry, error) {
	c := &Changes{}
	type write struct {
		e    *entry
		data []byte // the document; nil for mapped and removed aggregates
	}
	var written []write
	for _, e := range u.order {
		var data []byte
		if e.mapped == nil && e.state != removed {
			var err error
			if data, err = json.Marshal(e.agg); err != nil {
				return nil, nil, fmt.Errorf("uow: encoding %s %s: %w", e.kind, e.id, err)
			}
		}
		if e.state == loaded && len(e.agg.Recorded()) == 0 && (e.mapped != nil || bytes.Equal(data, e.snapshot)) {
			continue // unchanged: not written
		}
		written = append(written, write{e, data})
	}
	slices.SortFunc(written, func(a, b write) int {
		return cmp.Or(cmp.Compare(mappedFirst(a.e), mappedFirst(b.e)), byKey(a.e, b.e))
	})
	committed := make([]committedEntry, 0, len(written))
	for _, w := range written {
		e := w.e
		version := e.version + 1
		switch e.state {
		case added:
			if e.mapped != nil {
				if err := e.mapped.insert(ctx, u, e.agg); err != nil {
					return nil, nil, fmt.Errorf("uow: insert %s %s: %w", e.kind, e.id, err)
				}
			} else {
				c.Writes = append(c.Writes, Write{Op: Insert, Record: Record{Kind: e.kind, ID: e.id, Data: w.data}})
			}
		case loaded:
			if e.mapped != nil {
				if err := e.mapped.update(ctx, u, e.agg, e.version); err != nil {
					return nil, nil, fmt.Errorf("uow: update %s %s: %w", e.kind, e.id, err)
				}
			} else {
				c.Writes = append(c.Writes, Write{Op: Update, Record: Record{Kind: e.kind, ID: e.id, Version: e.version, Data: w.data}})
			}
		case removed:
			if e.mapped != nil {
				if err := e.mapped.delete(ctx, u, e.agg, e.version); err != nil {
					return nil, nil, fmt.Errorf("uow: delete %s %s: %w", e.kind, e.id, err)
				}
			} else {
				c.Writes = append(c.Writes, Write{Op: Delete, Record: Record{Kind: e.kind, ID: e.id, Version: e.version}})
			}
			version = e.version // gone: its events are committed, its version stays as loaded
		}
		committed = append(committed, committedEntry{entry: e, version: version})
	}
	for _, e := range u.order {
		if len(e.agg.Recorded()) == 0 {
			continue
		}
		msgs, err := u.eventMessages(e)
		if err != nil {
			return nil, nil, err
		}
		c.Messages = append(c.Messages, msgs...)
	}
	c.Messages = append(c.Messages, u.emitted...)
	if d := u.store.decorate; d != nil {
		for i := range c.Messages {
			c.Messages[i].Headers = maps.Clone(c.Messages[i].Headers)
			d(ctx, &c.Messages[i])
		}
	}
	c.Inbox = slices.SortedFunc(slices.Values(u.marks), func(a, b InboxMark) int {
		return cmp.Or(strings.Compare(a.Consumer, b.Consumer), strings.Compare(a.MessageID, b.MessageID))
	})
	return c, committed, nil
}

// mappedFirst is 0 for an aggregate kept by a Mapper (written before the documents) and 1 for a
// document.
func mappedFirst(e *entry) int {
	if e.mapped != nil {
		return 0
	}
	return 1
}

// eventMessages turns the events e's aggregate recorded into outbox messages.
func (u *Unit) eventMessages(e *entry) ([]Message, error) {
	md := u.meta
	md.OccurredAt = u.Now()
	envs, err := aggregate.Seal(e.agg, md)
	if err != nil {
		return nil, fmt.Errorf("uow: events of %s %s: %w", e.kind, e.id, err)
	}
	msgs := make([]Message, len(envs))
	for i, env := range envs {
		h := u.headers(nil)
		h[HeaderAggregateType] = env.AggregateType
		h[HeaderAggregateID] = env.AggregateID
		h[HeaderVersion] = strconv.FormatInt(env.Version, 10)
		msgs[i] = Message{
			ID:        env.ID,
			Topic:     u.store.topic(env),
			Key:       env.AggregateID,
			Name:      env.Name,
			Payload:   env.Payload,
			Headers:   h,
			CreatedAt: env.OccurredAt,
		}
	}
	return msgs, nil
}

// noteAbsent records which of the IDs of kind a load read were not found.
func (u *Unit) noteAbsent(kind string, ids []string, found map[string]bool) {
	for _, id := range ids {
		if !found[id] {
			if u.absent == nil {
				u.absent = map[key]bool{}
			}
			u.absent[key{kind, id}] = true
		}
	}
}

// track adds an aggregate to the identity map.
func (u *Unit) track(e *entry) {
	u.tracked[e.key] = e
	u.order = append(u.order, e)
}

// untrack removes an aggregate added in this unit (added then removed: it never existed).
func (u *Unit) untrack(e *entry) {
	delete(u.tracked, e.key)
	u.order = slices.DeleteFunc(u.order, func(o *entry) bool { return o == e })
}

var errNotPointer = errors.New("uow: aggregate type must be a pointer to a struct embedding aggregate.Root")

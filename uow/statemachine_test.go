package uow_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// This file is a model-based test of the unit of work on memuow: rapid draws sequences of loads,
// adds, changes, removes, queries, commits and rollbacks across two interleaved units over four
// IDs, and every outcome (errors, identity, values, versions, the committed records and the
// outbox) is compared with a model that predicts it.

type smID string

// smItem is the state machine's aggregate: one field, changed by Bump (which records an event)
// or set directly (no event).
type smItem struct {
	aggregate.Root[smID]
	N int `json:"n"`
}

func (*smItem) AggregateType() string { return "smItem" }

type smBumped struct {
	ID smID `json:"id"`
	N  int  `json:"n"`
}

func (smBumped) EventName() string { return "sm.Bumped" }

// Bump adds d to N (d may be 0) and records the new value.
func (x *smItem) Bump(d int) {
	x.N += d
	x.Record(smBumped{ID: x.ID(), N: x.N})
}

func newSMItem(id string, n int) *smItem {
	root, err := aggregate.NewRoot(smID(id))
	if err != nil {
		panic(err)
	}
	return &smItem{Root: root, N: n}
}

// smIDs is the ID space: small, so units collide.
var smIDs = []string{"a", "b", "c", "d"}

type smState int

const (
	smAdded smState = iota + 1
	smLoaded
	smRemoved
)

func (s smState) String() string {
	switch s {
	case smAdded:
		return "added"
	case smLoaded:
		return "loaded"
	case smRemoved:
		return "removed"
	}
	return "?"
}

// smEntry is the model of one aggregate a unit tracks.
type smEntry struct {
	ptr     *smItem
	state   smState
	version int64      // the version loaded; 0 when added
	snapN   int        // N as loaded
	n       int        // N in the unit
	events  []smBumped // recorded, not yet committed
}

// dirty reports whether a loaded (or removed) entry differs from what was loaded, so that the
// commit writes it: it recorded events or its document changed.
func (e *smEntry) dirty() bool { return len(e.events) > 0 || e.n != e.snapN }

// smUnit is an open unit and the model of what it tracks.
type smUnit struct {
	name    string
	u       *uow.Unit
	entries map[string]*smEntry
	order   []string        // tracking order
	absent  map[string]bool // IDs a load read and did not find: Add does not read them again
}

func (su *smUnit) track(id string, e *smEntry) {
	su.entries[id] = e
	su.order = append(su.order, id)
}

func (su *smUnit) untrack(id string) {
	delete(su.entries, id)
	su.order = slices.DeleteFunc(su.order, func(o string) bool { return o == id })
}

type smRecord struct {
	n       int
	version int64
}

type smMessage struct {
	key     string
	version int64
	n       int
}

// smStats counts the outcomes the runs reached, so the test fails if the generator stops
// reaching the interesting ones.
type smStats struct {
	commitOK, commitConflict, commitDuplicate, commitBoth, commitSkippedStale int
	getHit, getLoad, getNotFound, addDuplicate                                int
}

type smMachine struct {
	ctx       context.Context
	driver    *memuow.Driver
	store     *uow.Store
	kind      string
	committed map[string]smRecord
	outbox    []smMessage
	units     [2]*smUnit
	stats     *smStats
}

// unit returns unit i (A or B), beginning it if it is not open.
func (m *smMachine) unit(t *rapid.T, i int) *smUnit {
	if su := m.units[i]; su != nil {
		return su
	}
	u, err := m.store.Begin(m.ctx)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	su := &smUnit{name: string(rune('A' + i)), u: u, entries: map[string]*smEntry{}, absent: map[string]bool{}}
	m.units[i] = su
	return su
}

func (m *smMachine) drawUnit(t *rapid.T) *smUnit {
	return m.unit(t, rapid.IntRange(0, 1).Draw(t, "unit"))
}

func drawID(t *rapid.T) string { return rapid.SampledFrom(smIDs).Draw(t, "id") }

func wantErr(t *rapid.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: got error %v, want none", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, want)
	}
}

// checkPtr compares the aggregate a unit holds with the model of it.
func checkPtr(t *rapid.T, what, id string, e *smEntry) {
	t.Helper()
	a := e.ptr
	if a.AggregateID() != id || a.N != e.n || a.Version() != e.version {
		t.Fatalf("%s: aggregate %s is (id %q, n %d, v%d), want (n %d, v%d)", what, id, a.AggregateID(), a.N, a.Version(), e.n, e.version)
	}
	checkEvents(t, what, id, a, e.events)
}

func checkEvents(t *rapid.T, what, id string, a *smItem, want []smBumped) {
	t.Helper()
	got := a.Recorded()
	if len(got) != len(want) {
		t.Fatalf("%s: aggregate %s has %d recorded events, want %d", what, id, len(got), len(want))
	}
	for i, ev := range got {
		if ev != aggregate.Event(want[i]) {
			t.Fatalf("%s: aggregate %s event %d is %#v, want %#v", what, id, i, ev, want[i])
		}
	}
}

// load is Get(id) in su, predicted: the tracked aggregate (identity map), nothing if removed in
// the unit, else the committed one, tracked as loaded. It returns the entry, nil if not found.
func (m *smMachine) load(t *rapid.T, su *smUnit, id string) *smEntry {
	t.Helper()
	what := fmt.Sprintf("unit %s: Get(%s)", su.name, id)
	got, err := uow.Repo[smItem, smID](su.u).Get(m.ctx, smID(id))
	e, tracked := su.entries[id]
	rec, stored := m.committed[id]
	switch {
	case tracked && e.state == smRemoved, !tracked && !stored:
		if !tracked {
			su.absent[id] = true
		}
		wantErr(t, what, err, uow.ErrNotFound)
		if got != nil {
			t.Fatalf("%s: got %p with the error", what, got)
		}
		m.stats.getNotFound++
		return nil
	case tracked:
		wantErr(t, what, err, nil)
		if got != e.ptr {
			t.Fatalf("%s: got %p, want the tracked %p (identity map)", what, got, e.ptr)
		}
		checkPtr(t, what, id, e)
		m.stats.getHit++
		return e
	default:
		wantErr(t, what, err, nil)
		e = &smEntry{ptr: got, state: smLoaded, version: rec.version, snapN: rec.n, n: rec.n}
		m.checkFresh(t, what, su, id, e)
		su.track(id, e)
		m.stats.getLoad++
		return e
	}
}

// checkFresh checks an aggregate read from storage: the model's value, and a new pointer.
func (m *smMachine) checkFresh(t *rapid.T, what string, su *smUnit, id string, e *smEntry) {
	t.Helper()
	if e.ptr == nil {
		t.Fatalf("%s: got nil for %s", what, id)
	}
	for _, o := range m.units {
		if o == nil {
			continue
		}
		for oid, oe := range o.entries {
			if oe != e && oe.ptr == e.ptr {
				t.Fatalf("%s: got the pointer unit %s tracks for %s", what, o.name, oid)
			}
		}
	}
	checkPtr(t, what, id, e)
}

func (m *smMachine) get(t *rapid.T) {
	su := m.drawUnit(t)
	m.load(t, su, drawID(t))
}

// getMany is GetMany(ids...) with repeats allowed: all found in order, or ErrNotFound; either way
// the stored ones it read are tracked, in ID order (memuow's Load order).
func (m *smMachine) getMany(t *rapid.T) {
	su := m.drawUnit(t)
	ids := rapid.SliceOfN(rapid.SampledFrom(smIDs), 1, 3).Draw(t, "ids")
	what := fmt.Sprintf("unit %s: GetMany(%v)", su.name, ids)
	typed := make([]smID, len(ids))
	for i, id := range ids {
		typed[i] = smID(id)
	}
	got, err := uow.Repo[smItem, smID](su.u).GetMany(m.ctx, typed...)

	missing := false
	for _, id := range ids {
		e, tracked := su.entries[id]
		_, stored := m.committed[id]
		if tracked && e.state == smRemoved || !tracked && !stored {
			missing = true
		}
	}
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		if _, tracked := su.entries[id]; tracked {
			continue
		}
		if rec, stored := m.committed[id]; stored {
			su.track(id, &smEntry{state: smLoaded, version: rec.version, snapN: rec.n, n: rec.n})
		} else {
			su.absent[id] = true
		}
	}
	if missing {
		wantErr(t, what, err, uow.ErrNotFound)
		if got != nil {
			t.Fatalf("%s: got %d aggregates with the error", what, len(got))
		}
		// The aggregates read are tracked all the same; learn their pointers with Get.
		for _, id := range su.order {
			if e := su.entries[id]; e.ptr == nil {
				m.learn(t, what, su, id, e)
			}
		}
		return
	}
	wantErr(t, what, err, nil)
	if len(got) != len(ids) {
		t.Fatalf("%s: got %d aggregates, want %d", what, len(got), len(ids))
	}
	for i, id := range ids {
		e := su.entries[id]
		if e.ptr == nil {
			e.ptr = got[i]
			m.checkFresh(t, what, su, id, e)
		} else if got[i] != e.ptr {
			t.Fatalf("%s: [%d] is %p, want %p", what, i, got[i], e.ptr)
		}
		checkPtr(t, what, id, e)
	}
}

// learn fills in the pointer of an entry the model tracked without seeing it, by a Get that
// must hit the identity map.
func (m *smMachine) learn(t *rapid.T, what string, su *smUnit, id string, e *smEntry) {
	t.Helper()
	a, err := uow.Repo[smItem, smID](su.u).Get(m.ctx, smID(id))
	if err != nil {
		t.Fatalf("%s: %s was read, so it must be tracked, but Get: %v", what, id, err)
	}
	e.ptr = a
	m.checkFresh(t, what, su, id, e)
}

// find is Find(ctx) or Find(ctx, n == v): the committed matches in ID order, each as the unit
// holds it if tracked (removed ones left out), fresh ones tracked in ID order.
func (m *smMachine) find(t *rapid.T) {
	su := m.drawUnit(t)
	filter := rapid.Bool().Draw(t, "filter")
	v := rapid.IntRange(0, 3).Draw(t, "v")
	var where []uow.Field
	what := fmt.Sprintf("unit %s: Find()", su.name)
	if filter {
		where = []uow.Field{{Name: "n", Value: v}}
		what = fmt.Sprintf("unit %s: Find(n == %d)", su.name, v)
	}
	got, err := uow.Repo[smItem, smID](su.u).Find(m.ctx, where...)
	wantErr(t, what, err, nil)

	var want []string
	for _, id := range smIDs {
		rec, stored := m.committed[id]
		if !stored || filter && rec.n != v {
			continue
		}
		e, tracked := su.entries[id]
		switch {
		case !tracked:
			su.track(id, &smEntry{state: smLoaded, version: rec.version, snapN: rec.n, n: rec.n})
		case e.state == smRemoved:
			continue
		}
		want = append(want, id)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: got %d aggregates, want %v", what, len(got), want)
	}
	for i, id := range want {
		e := su.entries[id]
		if got[i] == nil || got[i].AggregateID() != id {
			t.Fatalf("%s: [%d] is %v, want %s", what, i, got[i], id)
		}
		if e.ptr == nil {
			e.ptr = got[i]
			m.checkFresh(t, what, su, id, e)
		} else if got[i] != e.ptr {
			t.Fatalf("%s: [%d] is %p, want the tracked %p", what, i, got[i], e.ptr)
		}
		checkPtr(t, what, id, e)
	}
}

// add is Add of a new aggregate: ErrDuplicate if the unit tracks the ID (in any state) or the
// store holds it now.
func (m *smMachine) add(t *rapid.T) {
	su := m.drawUnit(t)
	id := drawID(t)
	n := rapid.IntRange(0, 3).Draw(t, "n")
	a := newSMItem(id, n)
	err := uow.Repo[smItem, smID](su.u).Add(m.ctx, a)
	what := fmt.Sprintf("unit %s: Add(%s)", su.name, id)
	_, tracked := su.entries[id]
	_, stored := m.committed[id]
	if tracked || stored && !su.absent[id] { // an ID found missing before is left to the commit
		wantErr(t, what, err, uow.ErrDuplicate)
		m.stats.addDuplicate++
		return
	}
	wantErr(t, what, err, nil)
	su.track(id, &smEntry{ptr: a, state: smAdded, n: n})
}

// change loads an aggregate (Get, as a command does) and calls its domain method, which changes
// the field (by 0 too) and records an event.
func (m *smMachine) change(t *rapid.T) {
	su := m.drawUnit(t)
	id := drawID(t)
	d := rapid.IntRange(-1, 2).Draw(t, "delta")
	e := m.load(t, su, id)
	if e == nil {
		return
	}
	e.ptr.Bump(d)
	e.n += d
	e.events = append(e.events, smBumped{ID: smID(id), N: e.n})
}

// set loads an aggregate and sets its field without an event: written at commit only if the
// document differs from the one loaded.
func (m *smMachine) set(t *rapid.T) {
	su := m.drawUnit(t)
	id := drawID(t)
	n := rapid.IntRange(0, 3).Draw(t, "n")
	e := m.load(t, su, id)
	if e == nil {
		return
	}
	e.ptr.N = n
	e.n = n
}

// remove removes a tracked aggregate (loading it first if need be): an added one is forgotten, a
// loaded one deleted at commit, a removed one stays removed. Removing the other unit's value of
// the ID is ErrInvalid and changes nothing.
func (m *smMachine) remove(t *rapid.T) {
	i := rapid.IntRange(0, 1).Draw(t, "unit")
	su := m.unit(t, i)
	id := drawID(t)
	repo := uow.Repo[smItem, smID](su.u)
	if other := m.units[1-i]; other != nil && rapid.Bool().Draw(t, "foreign") {
		if oe, ok := other.entries[id]; ok {
			err := repo.Remove(m.ctx, oe.ptr)
			wantErr(t, fmt.Sprintf("unit %s: Remove(unit %s's %s)", su.name, other.name, id), err, uow.ErrInvalid)
			return
		}
	}
	e, tracked := su.entries[id]
	if !tracked {
		if e = m.load(t, su, id); e == nil {
			return
		}
	}
	err := repo.Remove(m.ctx, e.ptr)
	wantErr(t, fmt.Sprintf("unit %s: Remove(%s %s)", su.name, e.state, id), err, nil)
	switch e.state {
	case smAdded:
		su.untrack(id)
	case smLoaded:
		e.state = smRemoved
	}
}

type smWrite struct {
	op driver.Op
	id string
	e  *smEntry
}

// commit commits a unit. The writes are its added entries (insert), its dirty loaded ones
// (update) and its removed ones (delete), sorted by ID (one kind); memuow runs them in that order
// and the first that fails decides the error: a conflict either way, which also wraps
// ErrDuplicate when it is an insert of a stored ID (Add found the ID free, so another unit
// inserted it since: a lost race), and then nothing is stored. On success the records are applied and each entry's events appended to the outbox, in
// tracking order, with the version the aggregate has after the commit.
func (m *smMachine) commit(t *rapid.T, i int) {
	su := m.unit(t, i)
	err := su.u.Commit(m.ctx)
	what := fmt.Sprintf("unit %s: Commit", su.name)
	m.units[i] = nil

	var writes []smWrite
	for _, id := range su.order {
		e := su.entries[id]
		switch {
		case e.state == smAdded:
			writes = append(writes, smWrite{driver.Insert, id, e})
		case e.state == smRemoved:
			writes = append(writes, smWrite{driver.Delete, id, e})
		case e.dirty():
			writes = append(writes, smWrite{driver.Update, id, e})
		default:
			if rec, ok := m.committed[id]; !ok || rec.version != e.version {
				m.stats.commitSkippedStale++ // unchanged and stale: not written, no conflict
			}
		}
	}
	// The first failing write, in ID order, decides the error.
	slices.SortFunc(writes, func(a, b smWrite) int { return strings.Compare(a.id, b.id) })
	var want error
	kinds := map[error]bool{}
	for _, w := range writes {
		rec, stored := m.committed[w.id]
		var fail error
		switch {
		case w.op == driver.Insert && stored:
			fail = uow.ErrDuplicate
		case w.op != driver.Insert && (!stored || rec.version != w.e.version):
			fail = uow.ErrConflict
		}
		if fail != nil {
			kinds[fail] = true
			if want == nil {
				want = fail
			}
		}
	}
	if len(kinds) == 2 {
		m.stats.commitBoth++
	}

	if want != nil {
		wantErr(t, what, err, uow.ErrConflict)
		if errors.Is(err, uow.ErrDuplicate) != (want == uow.ErrDuplicate) {
			t.Fatalf("%s: error %v: wraps uow.ErrDuplicate %v, want %v", what, err, !(want == uow.ErrDuplicate), want == uow.ErrDuplicate)
		}
		for _, id := range su.order {
			checkPtr(t, what+" (failed)", id, su.entries[id])
		}
		if want == uow.ErrConflict {
			m.stats.commitConflict++
		} else {
			m.stats.commitDuplicate++
		}
	} else {
		wantErr(t, what, err, nil)
		m.stats.commitOK++
		for _, w := range writes {
			switch w.op {
			case driver.Insert:
				m.committed[w.id] = smRecord{n: w.e.n, version: 1}
			case driver.Update:
				m.committed[w.id] = smRecord{n: w.e.n, version: w.e.version + 1}
			case driver.Delete:
				delete(m.committed, w.id)
			}
		}
		for _, id := range su.order {
			e := su.entries[id]
			for _, ev := range e.events {
				m.outbox = append(m.outbox, smMessage{key: id, version: e.version + 1, n: ev.N})
			}
			// The committed aggregates have their new versions and no recorded events; the
			// unchanged ones keep theirs. Removed ones are checked for their version only: their
			// events, though now in the outbox, stay in Recorded() (unit.go leaves removed
			// entries out of the committed list), which this test does not pin down.
			switch {
			case e.state == smAdded || e.state == smLoaded && e.dirty():
				e.version++
				e.events = nil
			case e.state == smRemoved:
				if e.ptr.Version() != e.version {
					t.Fatalf("%s: removed %s has version %d, want %d", what, id, e.ptr.Version(), e.version)
				}
				continue
			}
			checkPtr(t, what+" (done)", id, e)
		}
	}
	m.checkDone(t, su)
}

func (m *smMachine) rollback(t *rapid.T, i int) {
	su := m.unit(t, i)
	m.units[i] = nil
	wantErr(t, fmt.Sprintf("unit %s: Rollback", su.name), su.u.Rollback(m.ctx), nil)
	m.checkDone(t, su)
}

// end ends unit A or B (begun if need be): by a commit, three times in four, or a rollback.
// One action for both keeps units open long enough to collide.
func (m *smMachine) end(t *rapid.T) {
	i := rapid.IntRange(0, 1).Draw(t, "unit")
	if rapid.IntRange(0, 3).Draw(t, "rollback") == 3 {
		m.rollback(t, i)
		return
	}
	m.commit(t, i)
}

// checkDone checks that an ended unit refuses work and that a late Rollback does nothing.
func (m *smMachine) checkDone(t *rapid.T, su *smUnit) {
	t.Helper()
	what := fmt.Sprintf("unit %s after its end", su.name)
	_, err := uow.Repo[smItem, smID](su.u).Get(m.ctx, smID(smIDs[0]))
	wantErr(t, what+": Get", err, uow.ErrUnitDone)
	wantErr(t, what+": Add", uow.Repo[smItem, smID](su.u).Add(m.ctx, newSMItem("z", 0)), uow.ErrUnitDone)
	wantErr(t, what+": Commit", su.u.Commit(m.ctx), uow.ErrUnitDone)
	wantErr(t, what+": Rollback", su.u.Rollback(m.ctx), nil)
}

// check is the invariant: memuow's committed records and outbox are the model's, and every
// aggregate an open unit tracks is as the model says.
func (m *smMachine) check(t *rapid.T) {
	if n := m.driver.Count(m.kind); n != len(m.committed) {
		t.Fatalf("store holds %d records, want %d", n, len(m.committed))
	}
	for _, id := range smIDs {
		rec, ok := m.driver.Get(m.kind, id)
		want, stored := m.committed[id]
		if ok != stored {
			t.Fatalf("store has %s: %v, want %v", id, ok, stored)
		}
		if !ok {
			continue
		}
		var doc struct {
			N int `json:"n"`
		}
		if err := json.Unmarshal(rec.Data, &doc); err != nil {
			t.Fatalf("stored %s: %v in %s", id, err, rec.Data)
		}
		if rec.Kind != m.kind || rec.ID != id || rec.Version != want.version || doc.N != want.n {
			t.Fatalf("stored %s is %s %s v%d n=%d, want v%d n=%d", id, rec.Kind, rec.ID, rec.Version, doc.N, want.version, want.n)
		}
	}

	msgs := m.driver.Messages()
	if len(msgs) != len(m.outbox) {
		t.Fatalf("outbox holds %d messages, want %d", len(msgs), len(m.outbox))
	}
	ids := make(map[string]bool, len(msgs))
	for i, got := range msgs {
		want := m.outbox[i]
		if got.ID == "" || ids[got.ID] {
			t.Fatalf("message %d has ID %q: empty or repeated", i, got.ID)
		}
		ids[got.ID] = true
		var ev smBumped
		if err := json.Unmarshal(got.Payload, &ev); err != nil {
			t.Fatalf("message %d payload: %v in %s", i, err, got.Payload)
		}
		v := strconv.FormatInt(want.version, 10)
		if got.Topic != m.kind || got.Name != "sm.Bumped" || got.Key != want.key ||
			got.Headers[uow.HeaderAggregateType] != m.kind || got.Headers[uow.HeaderAggregateID] != want.key ||
			got.Headers[uow.HeaderVersion] != v || ev != (smBumped{ID: smID(want.key), N: want.n}) {
			t.Fatalf("message %d is %s/%s key %s headers %v payload %s, want %s key %s version %s n=%d",
				i, got.Topic, got.Name, got.Key, got.Headers, got.Payload, m.kind, want.key, v, want.n)
		}
	}

	for _, su := range m.units {
		if su == nil {
			continue
		}
		if len(su.order) != len(su.entries) {
			t.Fatalf("model of unit %s: order %v, entries %d", su.name, su.order, len(su.entries))
		}
		for _, id := range su.order {
			checkPtr(t, "unit "+su.name, id, su.entries[id])
		}
	}
}

func TestStateMachine(t *testing.T) {
	stats := &smStats{}
	rapid.Check(t, func(t *rapid.T) {
		driver := memuow.New(nil)
		m := &smMachine{
			ctx:       context.Background(),
			driver:    driver,
			store:     uow.NewStore(driver, nil),
			kind:      (*smItem).AggregateType(nil),
			committed: map[string]smRecord{},
			stats:     stats,
		}
		defer func() {
			for _, su := range m.units {
				if su != nil {
					_ = su.u.Rollback(m.ctx)
				}
			}
		}()

		// Seed: a random part of the ID space (a third on average, leaving room for adds) is
		// stored at version 1, without events.
		for _, id := range smIDs {
			if rapid.IntRange(0, 2).Draw(t, "seed "+id) != 2 {
				continue
			}
			m.committed[id] = smRecord{n: rapid.IntRange(0, 3).Draw(t, "n "+id), version: 1}
		}
		err := uow.Do(m.ctx, m.store, func(ctx context.Context, u *uow.Unit) error {
			for id, rec := range m.committed {
				if err := uow.Repo[smItem, smID](u).Add(ctx, newSMItem(id, rec.n)); err != nil {
					return err
				}
			}
			return nil
		}, nil)
		if err != nil {
			t.Fatalf("seed: %v", err)
		}

		actions := map[string]func(*rapid.T){
			"get":     m.get,
			"getMany": m.getMany,
			"find":    m.find,
			"add":     m.add,
			"change":  m.change,
			"set":     m.set,
			"remove":  m.remove,
			"end":     m.end, // commit or rollback
			"":        m.check,
		}
		// Three rounds of Repeat (~30 steps each by default) on the same state, so that both
		// units live long enough to collide on commit.
		for range 3 {
			t.Repeat(actions)
		}
	})
	t.Logf("outcomes: %+v", *stats)
	if t.Failed() || testing.Short() || smFlag("rapid.checks") < 100 || smFlag("rapid.steps") < 30 {
		return // fewer steps than the default: the rarer outcomes may be missed
	}
	// With the default 100 runs these are reached from about ten times (a commit where both a
	// duplicate insert and a stale update apply, so that write order decides) to hundreds of
	// times; zero means the generator no longer explores them.
	for name, n := range map[string]int{
		"commit ok":                        stats.commitOK,
		"commit conflict":                  stats.commitConflict,
		"commit duplicate":                 stats.commitDuplicate,
		"commit with both errors":          stats.commitBoth,
		"unchanged stale load not written": stats.commitSkippedStale,
		"identity-map hit":                 stats.getHit,
		"get not found":                    stats.getNotFound,
		"add duplicate":                    stats.addDuplicate,
	} {
		if n == 0 {
			t.Errorf("no run reached %s", name)
		}
	}
}

// smFlag returns the value of one of rapid's integer flags.
func smFlag(name string) int {
	f := flag.Lookup(name)
	if f == nil {
		return 0
	}
	n, _ := strconv.Atoi(f.Value.String())
	return n
}

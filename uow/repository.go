package uow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/internal/rootaccess"
	"github.com/dddkit/ddd/uow/driver"
)

// Aggregate is the constraint of a repository's type arguments: T is *A, where A embeds
// [aggregate.Root] with ID type K and declares its AggregateType, so T is an
// [aggregate.Aggregate] whose ID method returns K. Write the first two and let the compiler
// infer T:
//
//	accounts := uow.Repo[Account, AccountID](u) // a *Repository[Account, AccountID, *Account]
//
// A non-pointer type, a type that does not embed Root[K] or lacks AggregateType, and an ID of
// another type do not compile.
type Aggregate[A any, K ~string] interface {
	*A
	aggregate.Aggregate
	ID() K
}

// Repository loads and stores aggregates of type T (*A, with IDs of type K) in a unit of work.
// [Repo] keeps each aggregate as one JSON document, with no SQL to write; [MappedRepo] keeps it
// in tables of the user's own through a [Mapper]. Its methods take the aggregate's own ID type,
// so an ID of another aggregate does not compile. A Repository is a light view of its unit:
// make one where needed, use it with the unit's goroutine.
type Repository[A any, K ~string, T Aggregate[A, K]] struct {
	u      *Unit
	kind   string
	mapper Mapper[T]
	err    error // a misuse found when the repository was made
}

// Repo returns the repository of A (used as *A) with IDs of type K in unit u, storing each
// aggregate as a JSON document of kind AggregateType:
//
//	acc, err := uow.Repo[Account, AccountID](u).Get(ctx, id)
//
// New aggregates are decoded into new(A). An AggregateType that returns "" makes every method
// return an error wrapping [ErrInvalid].
func Repo[A any, K ~string, T Aggregate[A, K]](u *Unit) *Repository[A, K, T] {
	r := &Repository[A, K, T]{u: u, kind: T(new(A)).AggregateType()}
	if r.kind == "" {
		r.err = fmt.Errorf("%w: %T has an empty AggregateType", ErrInvalid, T(nil))
	}
	return r
}

// Kind returns the name the aggregates are stored under: their AggregateType.
func (r *Repository[A, K, T]) Kind() string { return r.kind }

func (r *Repository[A, K, T]) ready() error {
	if r.err != nil {
		return r.err
	}
	return r.u.check()
}

// Get returns the aggregate with the given ID, without locking it: a concurrent change is caught
// at commit (optimistic concurrency). Loading an ID the unit already tracks returns the same
// value. A missing ID (or one removed in this unit) is an error wrapping [ErrNotFound].
func (r *Repository[A, K, T]) Get(ctx context.Context, id K) (T, error) {
	return r.get(ctx, string(id), Optimistic)
}

// GetForUpdate is Get that also locks the aggregate's row until the unit ends (pessimistic
// concurrency, SELECT ... FOR UPDATE): other units' GetForUpdate and writes of it wait. If the
// unit already loaded the aggregate without the lock, GetForUpdate takes the lock and returns an
// error wrapping [ErrConflict] when the stored version moved on since.
func (r *Repository[A, K, T]) GetForUpdate(ctx context.Context, id K) (T, error) {
	return r.get(ctx, string(id), ForUpdate)
}

func (r *Repository[A, K, T]) get(ctx context.Context, id string, lock Lock) (T, error) {
	var zero T
	if err := r.ready(); err != nil {
		return zero, err
	}
	got, err := r.load(ctx, []string{id}, lock)
	if err != nil {
		return zero, err
	}
	if len(got) == 0 {
		return zero, fmt.Errorf("%w: %s %s", ErrNotFound, r.kind, id)
	}
	return got[0], nil
}

// GetMany returns the aggregates with the given IDs, in that order, loading the ones the unit
// does not track in one read. If any is missing the error wraps [ErrNotFound] and names them.
func (r *Repository[A, K, T]) GetMany(ctx context.Context, ids ...K) ([]T, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = string(id)
	}
	found, err := r.load(ctx, keys, Optimistic)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]T, len(found))
	for _, a := range found {
		byID[a.AggregateID()] = a
	}
	out := make([]T, 0, len(ids))
	var missing []string
	for _, id := range keys {
		a, ok := byID[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		out = append(out, a)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s %s", ErrNotFound, r.kind, strings.Join(missing, ", "))
	}
	return out, nil
}

// load returns the aggregates with the given IDs that exist, tracked ones from the identity map
// and the others read in one call, and tracks what it read.
func (r *Repository[A, K, T]) load(ctx context.Context, ids []string, lock Lock) ([]T, error) {
	var out []T
	var read []string
	for _, id := range slices.Compact(slices.Sorted(slices.Values(ids))) {
		e, ok := r.u.tracked[key{r.kind, id}]
		switch {
		case !ok:
			read = append(read, id)
		case e.state == removed:
			// gone in this unit
		case lock == ForUpdate && !e.locked && e.state == loaded:
			read = append(read, id) // lock it now, then check the version below
		default:
			out = append(out, e.agg.(T))
		}
	}
	if len(read) == 0 {
		return out, nil
	}
	got, versions, err := r.read(ctx, read, lock)
	if err != nil {
		return nil, err
	}
	if len(got) < len(read) {
		found := make(map[string]bool, len(got))
		for _, a := range got {
			found[a.AggregateID()] = true
		}
		r.u.noteAbsent(r.kind, read, found)
	}
	for i, a := range got {
		k := key{r.kind, a.AggregateID()}
		if e, ok := r.u.tracked[k]; ok { // was tracked without the lock
			if versions[i] != e.version {
				return nil, fmt.Errorf("%w: %s %s changed from version %d to %d before it was locked",
					ErrConflict, r.kind, k.id, e.version, versions[i])
			}
			e.locked = true
			out = append(out, e.agg.(T))
			continue
		}
		e := &entry{key: k, agg: a, state: loaded, version: versions[i], locked: lock == ForUpdate}
		if r.mapper == nil {
			snap, err := json.Marshal(a)
			if err != nil {
				return nil, fmt.Errorf("uow: encoding %s %s: %w", r.kind, k.id, err)
			}
			e.snapshot = snap
		} else {
			e.mapped = mappedOpsOf(r.mapper)
		}
		r.u.track(e)
		out = append(out, a)
	}
	return out, nil
}

// read loads aggregates from storage: through the mapper, or by decoding documents.
func (r *Repository[A, K, T]) read(ctx context.Context, ids []string, lock Lock) ([]T, []int64, error) {
	if r.mapper != nil {
		got, err := r.mapper.Load(ctx, r.u, ids, lock)
		if err != nil {
			return nil, nil, fmt.Errorf("uow: load %s %v: %w", r.kind, ids, err)
		}
		versions := make([]int64, len(got))
		for i, a := range got {
			versions[i] = a.Version()
		}
		return got, versions, nil
	}
	recs, err := r.u.tx.Load(ctx, r.kind, ids, lock)
	if err != nil {
		return nil, nil, fmt.Errorf("uow: load %s %v: %w", r.kind, ids, err)
	}
	return r.decode(recs)
}

func (r *Repository[A, K, T]) decode(recs []driver.Record) ([]T, []int64, error) {
	out := make([]T, len(recs))
	versions := make([]int64, len(recs))
	for i, rec := range recs {
		a := T(new(A))
		if err := json.Unmarshal(rec.Data, a); err != nil {
			return nil, nil, fmt.Errorf("uow: decoding %s %s: %w", r.kind, rec.ID, err)
		}
		if err := rootaccess.Restore(a, rec.ID, rec.Version); err != nil {
			return nil, nil, fmt.Errorf("uow: restoring %s %s: %w", r.kind, rec.ID, err)
		}
		out[i], versions[i] = a, rec.Version
	}
	return out, versions, nil
}

// Find returns the aggregates whose JSON documents have every given top-level field equal to its
// value, such as Find(ctx, uow.Field{Name: "status", Value: "open"}), in ID order; no fields
// means all of them. It reads committed data: an aggregate the unit already tracks is returned as
// the unit holds it (even if its changes no longer match), one removed in the unit is left out,
// and one added in the unit is not found until committed. A driver without queries, or a mapped
// repository, returns an error wrapping [ErrUnsupported].
func (r *Repository[A, K, T]) Find(ctx context.Context, where ...Field) ([]T, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	q, ok := r.u.tx.(driver.Querier)
	if !ok || r.mapper != nil {
		return nil, fmt.Errorf("%w: queries on %s", ErrUnsupported, r.kind)
	}
	recs, err := q.Find(ctx, r.kind, where)
	if err != nil {
		return nil, fmt.Errorf("uow: find %s: %w", r.kind, err)
	}
	var fresh []driver.Record
	out := make([]T, 0, len(recs))
	for _, rec := range recs {
		if e, ok := r.u.tracked[key{r.kind, rec.ID}]; ok {
			if e.state != removed {
				out = append(out, e.agg.(T))
			}
			continue
		}
		fresh = append(fresh, rec)
	}
	decoded, versions, err := r.decode(fresh)
	if err != nil {
		return nil, err
	}
	for i, a := range decoded {
		snap, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("uow: encoding %s %s: %w", r.kind, a.AggregateID(), err)
		}
		r.u.track(&entry{key: key{r.kind, a.AggregateID()}, agg: a, state: loaded, version: versions[i], snapshot: snap})
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b T) int { return strings.Compare(a.AggregateID(), b.AggregateID()) })
	return out, nil
}

// FindFunc returns the aggregates for which match returns true, in ID order: it reads every
// aggregate of the kind, so keep it for small collections or narrow the read with Find's fields
// first. Tracking is as for Find.
func (r *Repository[A, K, T]) FindFunc(ctx context.Context, match func(T) bool) ([]T, error) {
	all, err := r.Find(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(a T) bool { return !match(a) }), nil
}

// Add tracks a new aggregate (version 0, with an ID) for insertion at commit. An ID that the
// unit tracks (even one it removed: a unit does not delete and re-insert one ID) or the store
// holds is an error wrapping [ErrDuplicate]. Add reads the store to tell, unless a load of this
// unit already found the ID missing (an idempotency check: Get, then Add when not found, as
// [Repository.GetOrAdd] does), which saves that round trip. An ID another unit inserts after that check makes the commit fail with
// an error wrapping [ErrConflict] (and ErrDuplicate): a lost race, which [Do] retries, so that
// "get, or add if missing" code run by two units at once converges on one aggregate. A nil
// aggregate, an empty ID or a stored version is an error wrapping [ErrInvalid].
func (r *Repository[A, K, T]) Add(ctx context.Context, a T) error {
	if err := r.ready(); err != nil {
		return err
	}
	if a == nil {
		return fmt.Errorf("%w: nil %s", ErrInvalid, r.kind)
	}
	id := a.AggregateID()
	if id == "" {
		return fmt.Errorf("%w: %s has no ID", ErrInvalid, r.kind)
	}
	if a.Version() != 0 {
		return fmt.Errorf("%w: %s %s is already stored (version %d); Add takes new aggregates", ErrInvalid, r.kind, id, a.Version())
	}
	k := key{r.kind, id}
	if _, ok := r.u.tracked[k]; ok {
		return fmt.Errorf("%w: %s %s", ErrDuplicate, r.kind, id)
	}
	if !r.u.absent[k] {
		existing, _, err := r.read(ctx, []string{id}, Optimistic)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return fmt.Errorf("%w: %s %s", ErrDuplicate, r.kind, id)
		}
	}
	e := &entry{key: k, agg: a, state: added}
	if r.mapper != nil {
		e.mapped = mappedOpsOf(r.mapper)
	}
	r.u.track(e)
	return nil
}

// GetOrAdd returns the aggregate with the given ID as Get does (the one the unit tracks, or the
// stored one), or, when there is none, adds the new one create(id) returns, as Add does, and
// returns it. It is the get-or-create of a document that holds a read model, or of an aggregate
// named by an idempotency key:
//
//	v, err := uow.Repo[View, ViewID](u).GetOrAdd(ctx, id, NewView)
//
// create is called only when the ID is missing, and its error is returned as it is. The
// aggregate it returns must have that ID, else the error wraps [ErrInvalid]; Add's rules apply
// to it (an ID removed in this unit is missing for Get, but Add refuses it with [ErrDuplicate]).
// Two units that GetOrAdd one missing ID at once both add it; the second to commit fails with an
// error wrapping [ErrConflict] (a lost race, see Add), and [Do] runs that unit again, whose
// GetOrAdd then returns the first unit's aggregate: both units' changes end up in one
// aggregate. Other errors are Get's, and a nil create is an error wrapping ErrInvalid.
func (r *Repository[A, K, T]) GetOrAdd(ctx context.Context, id K, create func(id K) (T, error)) (T, error) {
	var zero T
	if create == nil {
		return zero, fmt.Errorf("%w: GetOrAdd of %s %s without a create function", ErrInvalid, r.kind, id)
	}
	a, err := r.Get(ctx, id)
	if !errors.Is(err, ErrNotFound) {
		return a, err
	}
	if a, err = create(id); err != nil {
		return zero, err
	}
	if a != nil && a.ID() != id {
		return zero, fmt.Errorf("%w: create for %s %s returned %s %s", ErrInvalid, r.kind, id, r.kind, a.ID())
	}
	if err := r.Add(ctx, a); err != nil {
		return zero, err
	}
	return a, nil
}

// Remove deletes the aggregate at commit, if its stored version is still the one loaded. It must
// have been loaded or added through this unit (else the error wraps [ErrInvalid]); removing one
// added in this unit just forgets it.
func (r *Repository[A, K, T]) Remove(ctx context.Context, a T) error {
	if err := r.ready(); err != nil {
		return err
	}
	if a == nil {
		return fmt.Errorf("%w: nil %s", ErrInvalid, r.kind)
	}
	e, ok := r.u.tracked[key{r.kind, a.AggregateID()}]
	if !ok || e.agg != aggregate.Aggregate(a) {
		return fmt.Errorf("%w: %s %s was not loaded in this unit", ErrInvalid, r.kind, a.AggregateID())
	}
	switch e.state {
	case added:
		r.u.untrack(e)
	case loaded:
		e.state = removed
	}
	return nil
}

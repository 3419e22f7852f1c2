package uow_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// The benchmarks of this file measure a whole command through uow.Do on memuow (begin, load one
// aggregate, change one field, record one event, commit with the version check and the outbox
// write) against the yardstick of the same update done on a mutex-protected map, in the same
// run:
//
//	go test ./uow -run '^$' -bench BenchmarkDo -benchmem -count 6 | go run ./internal/benchratio -base mutexmap

type benchID string

type benchItem struct {
	aggregate.Root[benchID]
	N int `json:"n"`
}

func (*benchItem) AggregateType() string { return "benchItem" }

type benchIncremented struct {
	N int `json:"n"`
}

func (benchIncremented) EventName() string { return "bench.Incremented" }

// Inc is the domain method: it changes one field and records one event.
func (x *benchItem) Inc() {
	x.N++
	x.Record(benchIncremented{N: x.N})
}

// benchStore returns a memuow store holding a benchItem for each ID, at version 1.
func benchStore(tb testing.TB, ids ...benchID) *uow.Store {
	tb.Helper()
	store := uow.NewStore(memuow.New(nil), nil)
	if err := benchAdd(store, ids...); err != nil {
		tb.Fatal(err)
	}
	return store
}

func benchAdd(store *uow.Store, ids ...benchID) error {
	return uow.Do(context.Background(), store, func(ctx context.Context, u *uow.Unit) error {
		for _, id := range ids {
			root, err := aggregate.NewRoot(id)
			if err != nil {
				return err
			}
			if err := uow.Repo[benchItem, benchID](u).Add(ctx, &benchItem{Root: root}); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}

// benchInc is the command: load id, Inc, commit (by Do).
func benchInc(ctx context.Context, store *uow.Store, id benchID) error {
	return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		x, err := uow.Repo[benchItem, benchID](u).Get(ctx, id)
		if err != nil {
			return err
		}
		x.Inc()
		return nil
	}, nil)
}

// benchOutboxLimit bounds the outbox memuow keeps (it has no relay to drain it here): after this
// many commits the serial benchmark starts over on a fresh store, off the clock, so the heap
// does not grow with b.N.
const benchOutboxLimit = 1 << 14

func BenchmarkDo(b *testing.B) {
	b.Run("uow", func(b *testing.B) {
		ctx := context.Background()
		const id = "x"
		store := benchStore(b, id)
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if n++; n == benchOutboxLimit {
				b.StopTimer()
				store, n = benchStore(b, id), 0
				b.StartTimer()
			}
			if err := benchInc(ctx, store, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mutexmap", func(b *testing.B) {
		var mu sync.Mutex
		m := map[string]*struct{ N int }{"x": {}}
		id := "x"
		b.ReportAllocs()
		for b.Loop() {
			mu.Lock()
			m[id].N++
			mu.Unlock()
		}
		if m[id].N == 0 {
			b.Fatal("no update")
		}
	})
}

// BenchmarkDoParallel runs the commands from GOMAXPROCS goroutines, each on an aggregate of its
// own (so units never conflict, but they share memuow's commit section); the yardstick shares
// one mutex and map, each goroutine updating its own entry. The outbox is not reset here (the
// timer cannot stop per goroutine), so uow's B/op includes the amortised growth of memuow's
// message slice.
func BenchmarkDoParallel(b *testing.B) {
	b.Run("uow", func(b *testing.B) {
		ctx := context.Background()
		store := benchStore(b)
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			id := benchID("p" + strconv.FormatInt(next.Add(1), 10))
			if err := benchAdd(store, id); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				if err := benchInc(ctx, store, id); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("mutexmap", func(b *testing.B) {
		var mu sync.Mutex
		m := map[benchID]*struct{ N int }{}
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			id := benchID("p" + strconv.FormatInt(next.Add(1), 10))
			mu.Lock()
			m[id] = &struct{ N int }{}
			mu.Unlock()
			for pb.Next() {
				mu.Lock()
				m[id].N++
				mu.Unlock()
			}
		})
	})
}

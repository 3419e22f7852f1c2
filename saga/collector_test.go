package saga_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/saga/sagatest"
	"github.com/dddkit/ddd/uow"
)

// The collector saga waits for the N items of a batch, in any order and any number of times
// each, and gives up when no item came for a while (an "idle" timeout, rescheduled by every
// item): it models the uncertainty of delivery in its data instead of resequencing.

type batch struct {
	N   int   `json:"n"`
	Got []int `json:"got"`
}

type opened struct {
	Batch string `json:"batch"`
	N     int    `json:"n"`
}

type item struct {
	Batch string `json:"batch"`
	Item  int    `json:"item"`
}

func collectorSaga(t testing.TB) *saga.Definition[batch] {
	t.Helper()
	add := func(_ context.Context, s *saga.Step[batch], m uow.Message) error {
		var it item
		if err := decode(m, &it); err != nil {
			return err
		}
		if i, found := slices.BinarySearch(s.Data.Got, it.Item); !found {
			s.Data.Got = slices.Insert(s.Data.Got, i, it.Item)
		}
		if len(s.Data.Got) < s.Data.N {
			if err := s.Goto("collecting"); err != nil {
				return err
			}
			return s.Schedule("idle") // replaces the pending one
		}
		if err := s.Send(uow.Message{Topic: "batches", Name: "BatchComplete", Payload: mustJSON(t, s.Data)}); err != nil {
			return err
		}
		return s.Goto("complete")
	}
	def, err := saga.Define("collector", saga.Spec[batch]{
		Initial:  "new",
		Terminal: map[saga.State]saga.Status{"complete": saga.Completed, "stalled": saga.Failed},
		Correlate: map[string]saga.Correlator{
			"BatchOpened": saga.ByField("batch"),
			"ItemArrived": saga.ByField("batch"),
		},
		Timeouts: map[string]time.Duration{"idle": 10 * time.Second},
		Transitions: []saga.Transition[batch]{
			{From: "new", On: "BatchOpened", To: []saga.State{"collecting"},
				Do: func(_ context.Context, s *saga.Step[batch], m uow.Message) error {
					var o opened
					if err := decode(m, &o); err != nil {
						return err
					}
					s.Data.N = o.N
					return s.Schedule("idle")
				}},
			{From: "collecting", On: "ItemArrived", To: []saga.State{"collecting", "complete"}, Do: add},
			{From: "collecting", On: "idle", To: []saga.State{"stalled"},
				Do: func(_ context.Context, s *saga.Step[batch], _ uow.Message) error {
					return s.Send(uow.Message{Topic: "batches", Name: "BatchStalled", Payload: mustJSON(t, s.Data)})
				}},
		},
	})
	require.NoError(t, err)
	return def
}

func TestCollectorConcurrentMessagesForOneInstance(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		const n = 8
		f := sagatest.New(t, collectorSaga(t), &sagatest.Options{Driver: w.open(t),
			Manager: &saga.Options{Do: &uow.DoOptions{MaxAttempts: 100}}})
		f.Given(f.Message("BatchOpened", opened{"b1", n}))

		// Every item, twice (a redelivery), from its own goroutine: they all update one
		// instance, conflict on its version, and are retried.
		msgs := make([]uow.Message, n)
		for i := range msgs {
			msgs[i] = f.Message("ItemArrived", item{"b1", i})
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for _, m := range append(slices.Clone(msgs), msgs...) {
			wg.Go(func() { errs <- f.Manager.Handle(t.Context(), m) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		f.Drain()
		f.ThenSent("BatchComplete")
		f.ThenState("b1", "complete", saga.Completed)
		info := f.Instance("b1")
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, info.Data.Got)
		assert.Equal(t, 1+n, info.Transitions, "one transition per distinct message")
	})
}

func TestCollectorReorderedAndDuplicated(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := sagatest.New(t, collectorSaga(t), &sagatest.Options{Driver: w.open(t)})
		// Items before the batch is opened start nothing (the definition starts instances on
		// BatchOpened only); the partner's redelivery after the opening counts.
		early := f.Message("ItemArrived", item{"b1", 2})
		require.NoError(t, f.When(early))
		_, err := f.Manager.Get(t.Context(), "b1")
		require.ErrorIs(t, err, saga.ErrNotFound)

		f.Given(f.Message("BatchOpened", opened{"b1", 3}))
		for _, i := range []int{2, 0, 2, 0} {
			require.NoError(t, f.When(f.Message("ItemArrived", item{"b1", i})))
		}
		f.ThenSent()
		f.ThenState("b1", "collecting", saga.Running)
		require.NoError(t, f.When(f.Message("ItemArrived", item{"b1", 1})))
		f.ThenSent("BatchComplete")
		f.ThenState("b1", "complete", saga.Completed)
		require.NoError(t, f.When(f.Message("ItemArrived", item{"b1", 1})))
		f.ThenSent()
	})
}

func TestCollectorRescheduledTimeout(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := sagatest.New(t, collectorSaga(t), &sagatest.Options{Driver: w.open(t)})
		f.Given(f.Message("BatchOpened", opened{"b1", 3})) // idle at 10s
		f.AdvanceTime(8 * time.Second)
		require.NoError(t, f.When(f.Message("ItemArrived", item{"b1", 0}))) // idle now at 18s

		f.AdvanceTime(5 * time.Second) // 13s: the first idle message comes due and is ignored
		f.ThenState("b1", "collecting", saga.Running)
		assert.Equal(t, []string{"idle"}, f.Instance("b1").Timeouts)
		f.ThenSent()

		f.AdvanceTime(5 * time.Second) // 18s: the rescheduled one fires
		f.ThenSent("BatchStalled")
		f.ThenState("b1", "stalled", saga.Failed)
		assert.Equal(t, []int{0}, f.Instance("b1").Data.Got)
	})
}

func TestListByStatus(t *testing.T) {
	eachWorld(t, func(t *testing.T, w world) {
		f := sagatest.New(t, collectorSaga(t), &sagatest.Options{Driver: w.open(t)})
		for i := range 3 {
			f.Given(f.Message("BatchOpened", opened{fmt.Sprintf("b%d", i), 1}))
		}
		require.NoError(t, f.When(f.Message("ItemArrived", item{"b1", 0})))
		running, err := f.Manager.List(t.Context(), saga.Running)
		require.NoError(t, err)
		require.Len(t, running, 2)
		assert.Equal(t, "b0", running[0].Key)
		assert.Equal(t, "b2", running[1].Key)
		all, err := f.Manager.List(t.Context(), "")
		require.NoError(t, err)
		assert.Len(t, all, 3)
		done, err := f.Manager.List(t.Context(), saga.Completed)
		require.NoError(t, err)
		require.Len(t, done, 1)
		assert.Equal(t, batch{N: 1, Got: []int{0}}, done[0].Data)
	})
}

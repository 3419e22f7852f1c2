package saga_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// The job saga ships an order once its three parts are in, whatever order they arrive in and
// however often: it reserves each part the first time it hears of it, and ships once all are
// reserved. Duplicates are absorbed twice over: by the inbox (a redelivered message, same ID) and
// by the saga's data (the partner sent the same news again, new ID).

type job struct {
	Parts []string `json:"parts"`
}

type part struct {
	Job  string `json:"job"`
	Part string `json:"part"`
}

var jobParts = []string{"A", "B", "C"}

func jobSaga(t testing.TB) *saga.Definition[job] {
	t.Helper()
	arrived := func(_ context.Context, s *saga.Step[job], m uow.Message) error {
		var p part
		if err := decode(m, &p); err != nil {
			return err
		}
		next := saga.State("collecting")
		if !slices.Contains(s.Data.Parts, p.Part) {
			s.Data.Parts = append(s.Data.Parts, p.Part)
			if err := s.Send(uow.Message{Topic: "warehouse", Name: "Reserve" + p.Part, Payload: m.Payload}); err != nil {
				return err
			}
			if len(s.Data.Parts) == len(jobParts) {
				if err := s.Send(uow.Message{Topic: "warehouse", Name: "Ship", Payload: mustJSON(t, s.Data)}); err != nil {
					return err
				}
				next = "shipped"
			}
		}
		return s.Goto(next)
	}
	def, err := saga.Define("job", saga.Spec[job]{
		Initial:     "new",
		Terminal:    map[saga.State]saga.Status{"shipped": saga.Completed},
		Correlate:   map[string]saga.Correlator{"PartArrived": saga.ByField("job")},
		Transitions: []saga.Transition[job]{{From: "new", On: "PartArrived", To: []saga.State{"collecting"}, Do: arrived}, {From: "collecting", On: "PartArrived", To: []saga.State{"collecting", "shipped"}, Do: arrived}},
	})
	require.NoError(t, err)
	return def
}

func TestPropertyAnyOrderSameOutcomeCommandsOnce(t *testing.T) {
	def := jobSaga(t)
	rapid.Check(t, func(t *rapid.T) {
		d := memuow.New(nil)
		store := uow.NewStore(d, nil)
		m := saga.NewManager(store, def, &saga.Options{Logger: slog.New(slog.DiscardHandler)})

		// Each part arrives 1-3 times: a redelivery of an earlier copy (same ID) or news the
		// partner sent again (new ID); then everything is shuffled.
		var deliveries []uow.Message
		for _, p := range jobParts {
			var copies []uow.Message
			for i := range rapid.IntRange(1, 3).Draw(t, "copies of "+p) {
				if i > 0 && rapid.Bool().Draw(t, fmt.Sprintf("redelivery %s%d", p, i)) {
					copies = append(copies, copies[rapid.IntRange(0, i-1).Draw(t, "which")])
					continue
				}
				copies = append(copies, uow.Message{ID: aggregate.NewID[string](), Topic: "parts", Name: "PartArrived",
					Payload: mustJSON(t, part{Job: "j1", Part: p})})
			}
			deliveries = append(deliveries, copies...)
		}
		order := rapid.Permutation(deliveries).Draw(t, "order")

		// The model: a new message ID is one transition until the job ships; a redelivered ID
		// is none (the inbox), nor is anything after the ship (the instance has finished).
		seenIDs, seenParts, transitions := map[string]bool{}, map[string]bool{}, 0
		for _, msg := range order {
			if err := m.Handle(context.Background(), msg); err != nil {
				t.Fatalf("handling %s: %v", msg.Payload, err)
			}
			if !seenIDs[msg.ID] && len(seenParts) < len(jobParts) {
				transitions++
				var p part
				if err := decode(msg, &p); err != nil {
					t.Fatal(err)
				}
				seenParts[p.Part] = true
			}
			seenIDs[msg.ID] = true
		}

		info, err := m.Get(context.Background(), "j1")
		if err != nil {
			t.Fatalf("instance: %v", err)
		}
		if info.State != "shipped" || info.Status != saga.Completed {
			t.Fatalf("instance is %s (%s), want shipped (completed)", info.State, info.Status)
		}
		if info.Transitions != transitions {
			t.Fatalf("%d transitions, want %d", info.Transitions, transitions)
		}
		var sent []string
		for _, msg := range d.Messages() {
			sent = append(sent, msg.Name)
		}
		if len(sent) != 4 || sent[3] != "Ship" {
			t.Fatalf("sent %v, want each part reserved once and then Ship", sent)
		}
		reserved := slices.Sorted(slices.Values(sent[:3]))
		if !slices.Equal(reserved, []string{"ReserveA", "ReserveB", "ReserveC"}) {
			t.Fatalf("sent %v, want each part reserved once", sent)
		}
	})
}

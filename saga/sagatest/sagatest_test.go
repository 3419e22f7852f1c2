package sagatest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/saga/sagatest"
	"github.com/dddkit/ddd/uow"
)

// recordTB records the failures the fixture reports, so tests can check them.
type recordTB struct {
	testing.TB
	t      *testing.T
	errors []string
}

func (*recordTB) Helper()                     {}
func (r *recordTB) Context() context.Context  { return r.t.Context() }
func (r *recordTB) Errorf(f string, a ...any) { r.errors = append(r.errors, fmt.Sprintf(f, a...)) }
func (r *recordTB) Fatalf(f string, a ...any) { r.Errorf(f, a...); panic(fatal{}) }
func (r *recordTB) failedWith(s string) bool {
	for _, e := range r.errors {
		if assert.ObjectsAreEqual(e, s) {
			return true
		}
	}
	return false
}

type fatal struct{}

// mustFatal runs fn and reports whether it stopped with a fatal failure.
func mustFatal(fn func()) (stopped bool) {
	defer func() {
		if r := recover(); r != nil {
			_, stopped = r.(fatal)
			if !stopped {
				panic(r)
			}
		}
	}()
	fn()
	return false
}

type count struct {
	N int `json:"n"`
}

func ticker(t *testing.T) *saga.Definition[count] {
	def, err := saga.Define("ticker", saga.Spec[count]{
		Initial:   "new",
		Terminal:  map[saga.State]saga.Status{"stopped": saga.Completed},
		Correlate: map[string]saga.Correlator{"Start": saga.ByField("id"), "Stop": saga.ByField("id")},
		Timeouts:  map[string]time.Duration{"tick": time.Minute},
		Transitions: []saga.Transition[count]{
			{From: "new", On: "Start", To: []saga.State{"ticking"},
				Do: func(_ context.Context, s *saga.Step[count], _ uow.Message) error { return s.Schedule("tick") }},
			{From: "ticking", On: "tick", To: []saga.State{"ticking"},
				Do: func(_ context.Context, s *saga.Step[count], _ uow.Message) error {
					s.Data.N++
					if err := s.Send(uow.Message{Topic: "out", Name: fmt.Sprintf("Tick%d", s.Data.N)}); err != nil {
						return err
					}
					return s.Schedule("tick")
				}},
			{From: "ticking", On: "Stop", To: []saga.State{"stopped"},
				Do: func(context.Context, *saga.Step[count], uow.Message) error { return fmt.Errorf("refused") }},
		},
	})
	require.NoError(t, err)
	return def
}

func TestAdvanceTimeFiresEachDueTimeout(t *testing.T) {
	f := sagatest.New(t, ticker(t), nil)
	f.Given(f.Message("Start", map[string]string{"id": "x"}))
	f.AdvanceTime(59 * time.Second)
	f.ThenSent()
	f.AdvanceTime(time.Second)
	f.ThenSent("Tick1")
	// Time passes through each due time: every tick fires at its minute and schedules the next.
	f.AdvanceTime(3*time.Minute + 30*time.Second)
	f.ThenSent("Tick2", "Tick3", "Tick4")
	assert.Equal(t, 4, f.Instance("x").Data.N)
	assert.Len(t, f.Sent(), 4)
	assert.Equal(t, sagatest.Start.Add(4*time.Minute+30*time.Second), f.Clock.Now())
}

func TestFixtureReportsMismatches(t *testing.T) {
	rec := &recordTB{t: t}
	f := sagatest.New(rec, ticker(t), nil)
	f.Given(f.Message("Start", map[string]string{"id": "x"}))
	f.AdvanceTime(time.Minute)

	f.ThenSent("Tock")
	assert.True(t, rec.failedWith(`sagatest: sent ["Tick1"], want ["Tock"]`), "%q", rec.errors)
	f.ThenState("x", "stopped", saga.Completed)
	assert.True(t, rec.failedWith(`sagatest: instance "x" is ticking (running), want stopped (completed)`), "%q", rec.errors)

	assert.True(t, mustFatal(func() { f.Instance("nope") }))
	assert.Contains(t, rec.errors[len(rec.errors)-1], `sagatest: instance "nope"`)

	// Given fails the test on a message the saga refuses; When returns the error.
	assert.True(t, mustFatal(func() { f.Given(f.Message("Stop", map[string]string{"id": "x"})) }))
	assert.Contains(t, rec.errors[len(rec.errors)-1], "refused")
	require.ErrorContains(t, f.When(f.Message("Stop", map[string]string{"id": "x"})), "refused")
	assert.Len(t, rec.errors, 4)
}

package saga_test

import (
	"cmp"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/saga/sagatest"
	"github.com/dddkit/ddd/uow"
)

type none struct{}

func states(s ...saga.State) []saga.State { return s }

// valid is the smallest valid spec; each case of TestDefineRejects breaks it one way.
func valid() saga.Spec[none] {
	return saga.Spec[none]{
		Initial:   "new",
		Terminal:  map[saga.State]saga.Status{"done": saga.Completed},
		Correlate: map[string]saga.Correlator{"Go": saga.ByField("id")},
		Transitions: []saga.Transition[none]{
			{From: "new", On: "Go", To: states("done")},
		},
	}
}

func TestDefineAcceptsValid(t *testing.T) {
	def, err := saga.Define("minimal", valid())
	require.NoError(t, err)
	assert.Equal(t, "minimal", def.Name())
	assert.Equal(t, "saga.minimal", def.Topic())
	assert.Equal(t, []saga.State{"new", "done"}, def.States())

	spec := valid()
	spec.Topic = "custom"
	def, err = saga.Define("minimal", spec)
	require.NoError(t, err)
	assert.Equal(t, "custom", def.Topic())
}

func TestDefineRejects(t *testing.T) {
	noop := func(context.Context, *uow.Unit, saga.Compensation) error { return nil }
	tests := map[string]struct {
		name   string
		change func(s *saga.Spec[none])
		want   string
	}{
		"bad saga name": {name: "my saga", want: `saga name "my saga"`},
		"no initial":    {change: func(s *saga.Spec[none]) { s.Initial = "" }, want: "no Initial state"},
		"state not an identifier": {change: func(s *saga.Spec[none]) {
			s.Transitions[0].To = states("all-done")
		}, want: `state "all-done" is not an identifier`},
		"terminal initial": {change: func(s *saga.Spec[none]) {
			s.Terminal["new"] = saga.Failed
		}, want: "Initial state new is terminal"},
		"terminal with outgoing transition": {change: func(s *saga.Spec[none]) {
			s.Transitions = append(s.Transitions, saga.Transition[none]{From: "done", On: "Go", To: states("new")})
		}, want: "terminal state done has an outgoing transition"},
		"bad outcome": {change: func(s *saga.Spec[none]) {
			s.Terminal["done"] = saga.Running
		}, want: `outcome "running" is not completed, failed or compensated`},
		"message with no transition": {change: func(s *saga.Spec[none]) {
			s.Correlate["Stop"] = saga.ByField("id")
		}, want: `message "Stop" has no transition`},
		"timeout with no transition": {change: func(s *saga.Spec[none]) {
			s.Timeouts = map[string]time.Duration{"late": time.Minute}
		}, want: `timeout "late" has no transition`},
		"transition on an unknown name": {change: func(s *saga.Spec[none]) {
			s.Transitions = append(s.Transitions, saga.Transition[none]{From: "new", On: "Stop", To: states("done")})
		}, want: `"Stop" is neither a message in Correlate nor a timeout in Timeouts`},
		"two transitions for one state and message": {change: func(s *saga.Spec[none]) {
			s.Transitions = append(s.Transitions, saga.Transition[none]{From: "new", On: "Go", To: states("done")})
		}, want: "a second transition for new on Go"},
		"unreachable state": {change: func(s *saga.Spec[none]) {
			s.Terminal["lost"] = saga.Failed
		}, want: "state lost is unreachable from new"},
		"dead end": {change: func(s *saga.Spec[none]) {
			s.Transitions[0].To = states("done", "waiting")
		}, want: "state waiting is not terminal and no transition leaves it"},
		"no target": {change: func(s *saga.Spec[none]) {
			s.Transitions[0].To = nil
		}, want: "no target state"},
		"nothing starts it": {change: func(s *saga.Spec[none]) {
			s.Timeouts = map[string]time.Duration{"tick": time.Second}
			s.Transitions[0].On = "tick"
			s.Correlate = nil
		}, want: "nothing starts the saga"},
		"message and timeout share a name": {change: func(s *saga.Spec[none]) {
			s.Timeouts = map[string]time.Duration{"Go": time.Second}
		}, want: `"Go" is both a message and a timeout`},
		"non-positive timeout": {change: func(s *saga.Spec[none]) {
			s.Timeouts = map[string]time.Duration{"late": 0}
			s.Transitions = append(s.Transitions, saga.Transition[none]{From: "new", On: "late", To: states("done")})
		}, want: `timeout "late" needs a name and a positive duration`},
		"nil correlator": {change: func(s *saga.Spec[none]) {
			s.Correlate["Go"] = nil
		}, want: `message "Go" needs a name and a Correlator`},
		"nil compensation": {change: func(s *saga.Spec[none]) {
			s.Compensations = map[string]saga.CompensationFunc{"undo": nil, "fine": noop}
		}, want: `action "undo" needs a name and a function`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := valid()
			if tc.change != nil {
				tc.change(&spec)
			}
			def, err := saga.Define(cmp.Or(tc.name, "broken"), spec)
			require.ErrorIs(t, err, saga.ErrInvalidDefinition)
			assert.Nil(t, def)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestDefineReportsEveryProblem(t *testing.T) {
	spec := valid()
	spec.Terminal["lost"] = saga.Failed
	spec.Correlate["Stop"] = saga.ByField("id")
	_, err := saga.Define("broken", spec)
	require.ErrorIs(t, err, saga.ErrInvalidDefinition)
	var joined interface{ Unwrap() []error }
	require.True(t, errors.As(err, &joined))
	assert.Contains(t, err.Error(), "state lost is unreachable")
	assert.Contains(t, err.Error(), `message "Stop" has no transition`)
}

func TestMermaid(t *testing.T) {
	want := `stateDiagram-v2
    [*] --> new
    new --> debiting : TransferRequested
    debiting --> crediting : AccountDebited
    debiting --> rejected : DebitRejected
    debiting --> abandoned : after debit (30s)
    crediting --> done : AccountCredited
    crediting --> refunded : CreditRejected
    crediting --> refunded : after credit (1m0s)
    abandoned --> [*]
    note right of abandoned : failed
    done --> [*]
    note right of done : completed
    refunded --> [*]
    note right of refunded : compensated
    rejected --> [*]
    note right of rejected : failed
`
	assert.Equal(t, want, transferSaga(t).Mermaid())
}

func TestMermaidEscapesLabels(t *testing.T) {
	spec := valid()
	spec.Correlate = map[string]saga.Correlator{"bank:Go;#1": saga.ByField("id")}
	spec.Transitions[0].On = "bank:Go;#1"
	def, err := saga.Define("escaped", spec)
	require.NoError(t, err)
	assert.Contains(t, def.Mermaid(), "new --> done : bank#58;Go#59;#35;1\n")
}

func TestStepRejectsUndeclaredNames(t *testing.T) {
	var errs []error
	spec := valid()
	spec.Transitions[0].Do = func(_ context.Context, s *saga.Step[none], _ uow.Message) error {
		errs = append(errs, s.Schedule("nope"), s.Cancel("nope"), s.OnCompensate("nope", nil), s.Goto("new"))
		return nil
	}
	def, err := saga.Define("strict", spec)
	require.NoError(t, err)
	f := sagatest.New(t, def, nil)
	require.NoError(t, f.When(f.Message("Go", map[string]string{"id": "x"})))
	require.Len(t, errs, 4)
	for _, err := range errs {
		assert.ErrorIs(t, err, saga.ErrInvalid)
	}
	f.ThenState("x", "done", saga.Completed)
}

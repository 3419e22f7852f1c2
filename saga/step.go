package saga

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
)

// Header names the saga sets on the messages an instance sends.
const (
	HeaderSaga    = "saga"
	HeaderSagaKey = "saga-key"
)

// Step is what a transition's Do works with: the instance's data, its key and state, and the
// unit of work everything commits in. Data is decoded before Do runs and stored after it returns
// nil. A Step is valid only during its Do call.
type Step[D any] struct {
	// Data is the instance's data, the zero D for a new instance; change it in place.
	Data D

	u    *uow.Unit
	def  *Definition[D]
	inst *instance
	tr   *Transition[D]
	to   State
}

// Key returns the instance's correlation key.
func (s *Step[D]) Key() string { return s.inst.Key }

// State returns the state the transition leaves.
func (s *Step[D]) State() State { return s.inst.State }

// Unit returns the unit of work the transition runs in: load and change other aggregates with it
// (they commit with the instance), or reach services with uow.Service.
func (s *Step[D]) Unit() *uow.Unit { return s.u }

// Now returns the time by the store's clock.
func (s *Step[D]) Now() time.Time { return s.u.Now() }

// Goto chooses the state the transition moves to. It must be one of the transition's To states;
// another is an error wrapping ErrInvalid. Without a call the transition moves to its only To
// state (a transition with several must choose).
func (s *Step[D]) Goto(state State) error {
	if !slices.Contains(s.tr.To, state) {
		return fmt.Errorf("%w: transition %s on %s of saga %s may go to %v, not %s",
			ErrInvalid, s.tr.From, s.tr.On, s.def.name, s.tr.To, state)
	}
	s.to = state
	return nil
}

// Send emits m (a command to a partner, an event) in the transition's unit of work: it is
// written to the outbox only if the transition commits, so each transition sends its messages
// once. An empty Key means the instance's own ID (so an instance's messages keep their order);
// the saga's name and key are added as headers. Errors are those of uow.Unit.Emit.
func (s *Step[D]) Send(m uow.Message) error {
	if m.Key == "" {
		m.Key = s.inst.AggregateID()
	}
	m.Headers = maps.Clone(m.Headers)
	if m.Headers == nil {
		m.Headers = make(map[string]string, 2)
	}
	m.Headers[HeaderSaga] = s.def.name
	m.Headers[HeaderSagaKey] = s.inst.Key
	return s.u.Emit(m)
}

// Schedule starts the declared timeout, to fire after its duration unless the instance cancels
// it, schedules it again (the earlier one is then ignored) or finishes first. It is a delayed
// outbox message written in the transition's unit of work, so it survives restarts. An
// undeclared timeout is an error wrapping ErrInvalid.
func (s *Step[D]) Schedule(timeout string) error {
	d, ok := s.def.spec.Timeouts[timeout]
	if !ok {
		return fmt.Errorf("%w: saga %s declares no timeout %q", ErrInvalid, s.def.name, timeout)
	}
	token := aggregate.NewID[string]()
	payload, err := json.Marshal(timeoutBody{Saga: s.def.name, Key: s.inst.Key, Timeout: timeout, Token: token})
	if err != nil {
		return fmt.Errorf("saga: encoding timeout: %w", err)
	}
	err = s.u.Emit(uow.Message{
		ID:           token,
		Topic:        s.def.topic,
		Key:          "saga-timeout/" + token, // its own key: a delayed message holds back nothing else
		Name:         nameTimeout,
		Payload:      payload,
		DeliverAfter: s.u.Now().Add(d),
	})
	if err != nil {
		return err
	}
	if s.inst.Timeouts == nil {
		s.inst.Timeouts = make(map[string]string)
	}
	s.inst.Timeouts[timeout] = token
	return nil
}

// Cancel cancels the pending timeout, if any: when its message comes due it is ignored.
// An undeclared timeout is an error wrapping ErrInvalid.
func (s *Step[D]) Cancel(timeout string) error {
	if _, ok := s.def.spec.Timeouts[timeout]; !ok {
		return fmt.Errorf("%w: saga %s declares no timeout %q", ErrInvalid, s.def.name, timeout)
	}
	delete(s.inst.Timeouts, timeout)
	return nil
}

// OnCompensate registers the compensating action named action with arg (encoded as JSON), to run
// if the instance later enters a Compensated state: registered actions then run newest first,
// each once it succeeds. An undeclared action or an arg that does not encode is an error
// wrapping ErrInvalid.
func (s *Step[D]) OnCompensate(action string, arg any) error {
	if _, ok := s.def.spec.Compensations[action]; !ok {
		return fmt.Errorf("%w: saga %s declares no compensation %q", ErrInvalid, s.def.name, action)
	}
	raw, err := json.Marshal(arg)
	if err != nil {
		return fmt.Errorf("%w: compensation %s: encoding its argument: %w", ErrInvalid, action, err)
	}
	s.inst.Compensations = append(s.inst.Compensations, compensation{Name: action, Arg: raw})
	return nil
}

// The names and payloads of the saga's own messages.
const (
	nameTimeout    = "saga.timeout"
	nameCompensate = "saga.compensate"
)

type timeoutBody struct {
	Saga    string `json:"saga"`
	Key     string `json:"key"`
	Timeout string `json:"timeout"`
	Token   string `json:"token"`
}

type compensateBody struct {
	Saga string `json:"saga"`
	Key  string `json:"key"`
	Step int    `json:"step"`
}

package saga

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// Options tune a Manager. The zero value (or nil) means the defaults.
type Options struct {
	// Consumer names the manager in the inbox; "" means "saga." + the saga's name. Keep it
	// stable: a new name forgets which messages were handled.
	Consumer string
	// Do tunes the retries of conflicts (concurrent messages for one instance); nil means
	// uow.Do's defaults.
	Do *uow.DoOptions
	// Logger receives Debug records for ignored messages, Info records for finished instances
	// and Warn records for failed compensations; nil means slog.Default().
	Logger *slog.Logger
}

// Manager runs the instances of one saga type on a store: it takes messages (from a bus, a
// JetStream consumer, a test), finds or starts their instance, and runs the transition in a unit
// of work with the inbox mark of the message. It is safe for concurrent use; concurrent messages
// for one instance conflict on its version and are retried.
type Manager[D any] struct {
	store    *uow.Store
	def      *Definition[D]
	consumer string
	do       *uow.DoOptions
	log      *slog.Logger
}

// NewManager returns the manager of def's instances on store; nil opts means the defaults.
func NewManager[D any](store *uow.Store, def *Definition[D], opts *Options) *Manager[D] {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Consumer == "" {
		o.Consumer = "saga." + def.name
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Manager[D]{store: store, def: def, consumer: o.Consumer, do: o.Do,
		log: o.Logger.With("saga", def.name)}
}

// Definition returns the saga type the manager runs.
func (m *Manager[D]) Definition() *Definition[D] { return m.def }

// Handle handles one delivered message; its signature is outbox.Handler's. A message the saga
// does not know, one already handled (the inbox), one for no instance that starts nothing, one
// for a finished instance, one its instance's state has no transition for, and a timeout that
// was cancelled or rescheduled, are ignored: Handle returns nil and changes nothing but the
// inbox. Otherwise the transition runs and commits with the inbox mark; the instance's version
// compare-and-set makes concurrent messages for one instance run one after the other (conflicts
// are retried).
//
// Errors: a message without an ID or whose key cannot be read wraps ErrInvalid; a failing
// compensation wraps ErrCompensation; a transition's own error, and the store's, are returned
// wrapped. On an error nothing was committed, so the message can be delivered again.
func (m *Manager[D]) Handle(ctx context.Context, msg uow.Message) error {
	if !m.knows(msg) {
		return nil
	}
	if msg.ID == "" {
		return fmt.Errorf("%w: message %s has no ID to deduplicate on", ErrInvalid, msg.Name)
	}
	var r run
	err := outbox.Idempotent(m.store, m.consumer, func(ctx context.Context, u *uow.Unit, msg uow.Message) error {
		r = run{}
		return m.apply(ctx, u, msg, &r)
	}, m.do)(ctx, msg)
	var ce *compensationError
	switch {
	case err == nil:
		if r.finished != "" {
			m.log.Info("saga instance finished", "key", r.key, "state", r.state, "status", r.finished)
		}
		return nil
	case errors.As(err, &ce):
		m.recordFailure(ctx, ce)
	}
	return err
}

// knows reports whether msg is for this saga at all: one of its messages, or its own.
func (m *Manager[D]) knows(msg uow.Message) bool {
	if msg.Topic == m.def.topic && (msg.Name == nameTimeout || msg.Name == nameCompensate) {
		return true
	}
	_, ok := m.def.spec.Correlate[msg.Name]
	return ok
}

// run is what the attempt of Handle that committed did, for the log.
type run struct {
	key      string
	state    State
	finished Status
}

func (m *Manager[D]) apply(ctx context.Context, u *uow.Unit, msg uow.Message, r *run) error {
	if msg.Topic == m.def.topic {
		switch msg.Name {
		case nameTimeout:
			return m.onTimeout(ctx, u, msg, r)
		case nameCompensate:
			return m.onCompensate(ctx, u, msg, r)
		}
	}
	return m.onMessage(ctx, u, msg, r)
}

func (m *Manager[D]) onMessage(ctx context.Context, u *uow.Unit, msg uow.Message, r *run) error {
	key, err := m.def.spec.Correlate[msg.Name](msg)
	if err == nil && key == "" {
		err = errors.New("empty key")
	}
	if err != nil {
		return fmt.Errorf("%w: message %s (%s): finding its instance: %w", ErrInvalid, msg.Name, msg.ID, err)
	}
	repo := uow.Repo[instance, string](u)
	inst, err := repo.Get(ctx, instanceID(m.def.name, key))
	switch {
	case errors.Is(err, uow.ErrNotFound):
		if m.def.byEvent[edge{m.def.spec.Initial, msg.Name}] == nil {
			m.ignore(msg, key, "no instance, and the message starts none")
			return nil
		}
		if inst, err = m.start(ctx, u, key); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	return m.react(ctx, u, inst, msg.Name, msg, r)
}

// start adds a new instance in the Initial state.
func (m *Manager[D]) start(ctx context.Context, u *uow.Unit, key string) (*instance, error) {
	inst := &instance{Saga: m.def.name, Key: key, State: m.def.spec.Initial, Status: Running,
		StartedAt: u.Now(), UpdatedAt: u.Now()}
	root, err := aggregate.NewRoot(instanceID(m.def.name, key))
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: %w", ErrInvalid, key, err)
	}
	inst.Root = root
	if err := uow.Repo[instance, string](u).Add(ctx, inst); err != nil {
		return nil, err
	}
	return inst, nil
}

// react runs the transition of inst's state on name (a message or a timeout), if it has one.
func (m *Manager[D]) react(ctx context.Context, u *uow.Unit, inst *instance, name string, msg uow.Message, r *run) error {
	r.key = inst.Key
	if inst.Status != Running {
		m.ignore(msg, inst.Key, "instance is "+string(inst.Status))
		return nil
	}
	tr := m.def.byEvent[edge{inst.State, name}]
	if tr == nil {
		m.ignore(msg, inst.Key, "no transition from state "+string(inst.State))
		return nil
	}
	s := &Step[D]{u: u, def: m.def, inst: inst, tr: tr}
	if len(inst.Data) > 0 {
		if err := json.Unmarshal(inst.Data, &s.Data); err != nil {
			return fmt.Errorf("saga: %s: decoding the data of instance %s: %w", m.def.name, inst.Key, err)
		}
	}
	if tr.Do != nil {
		if err := tr.Do(ctx, s, msg); err != nil {
			return fmt.Errorf("saga: %s: instance %s: %s on %s: %w", m.def.name, inst.Key, tr.From, tr.On, err)
		}
	}
	to := s.to
	if to == "" {
		if len(tr.To) != 1 {
			return fmt.Errorf("%w: saga %s: transition %s on %s must choose one of %v with Step.Goto",
				ErrInvalid, m.def.name, tr.From, tr.On, tr.To)
		}
		to = tr.To[0]
	}
	data, err := json.Marshal(s.Data)
	if err != nil {
		return fmt.Errorf("saga: %s: encoding the data of instance %s: %w", m.def.name, inst.Key, err)
	}
	inst.Data = data
	inst.Transitions++
	inst.UpdatedAt = u.Now()
	return m.enter(u, inst, to, r)
}

// enter moves inst to state to: a terminal state ends it (its timeouts are dropped, so none fires
// into it), after its compensations have run when the state's outcome is Compensated.
func (m *Manager[D]) enter(u *uow.Unit, inst *instance, to State, r *run) error {
	outcome, terminal := m.def.spec.Terminal[to]
	if !terminal {
		inst.State = to
		return nil
	}
	inst.Timeouts = nil
	if outcome == Compensated {
		if next := inst.nextCompensation(); next >= 0 {
			inst.Status = Compensating
			inst.Target = to
			return m.emitCompensate(u, inst, next)
		}
	}
	inst.State, inst.Status, inst.Target = to, outcome, ""
	r.state, r.finished = to, outcome
	return nil
}

func (m *Manager[D]) emitCompensate(u *uow.Unit, inst *instance, step int) error {
	payload, err := json.Marshal(compensateBody{Saga: m.def.name, Key: inst.Key, Step: step})
	if err != nil {
		return fmt.Errorf("saga: encoding a compensation step: %w", err)
	}
	return u.Emit(uow.Message{Topic: m.def.topic, Key: inst.AggregateID(), Name: nameCompensate, Payload: payload})
}

// loadOwn loads the instance one of the saga's own messages (a timeout, a compensation step) is
// for; it returns nil, and the message is ignored, when the message is another saga's (sharing the
// topic) or its instance does not exist.
func (m *Manager[D]) loadOwn(ctx context.Context, u *uow.Unit, msg uow.Message, sagaName, key string) (*instance, error) {
	if sagaName != m.def.name {
		return nil, nil
	}
	inst, err := uow.Repo[instance, string](u).Get(ctx, instanceID(m.def.name, key))
	if errors.Is(err, uow.ErrNotFound) {
		m.ignore(msg, key, "no such instance")
		return nil, nil
	}
	return inst, err
}

func (m *Manager[D]) onTimeout(ctx context.Context, u *uow.Unit, msg uow.Message, r *run) error {
	var b timeoutBody
	if err := msg.Decode(&b); err != nil || b.Key == "" || b.Timeout == "" {
		return fmt.Errorf("%w: timeout message %s: malformed payload %q", ErrInvalid, msg.ID, msg.Payload)
	}
	inst, err := m.loadOwn(ctx, u, msg, b.Saga, b.Key)
	if inst == nil || err != nil {
		return err
	}
	if inst.Status != Running || inst.Timeouts[b.Timeout] != b.Token {
		m.ignore(msg, b.Key, "timeout "+b.Timeout+" was cancelled, rescheduled, or the instance moved on")
		return nil
	}
	delete(inst.Timeouts, b.Timeout)
	inst.UpdatedAt = u.Now()
	fired := msg
	fired.Name = b.Timeout
	return m.react(ctx, u, inst, b.Timeout, fired, r)
}

// compensationError is a compensating action's failure, recorded on the instance by Handle.
type compensationError struct {
	key  string
	step int
	err  error
}

func (e *compensationError) Error() string {
	return fmt.Sprintf("%v: instance %s step %d: %v", ErrCompensation, e.key, e.step, e.err)
}

func (e *compensationError) Unwrap() []error { return []error{ErrCompensation, e.err} }

func (m *Manager[D]) onCompensate(ctx context.Context, u *uow.Unit, msg uow.Message, r *run) error {
	var b compensateBody
	if err := msg.Decode(&b); err != nil || b.Key == "" {
		return fmt.Errorf("%w: compensation message %s: malformed payload %q", ErrInvalid, msg.ID, msg.Payload)
	}
	inst, err := m.loadOwn(ctx, u, msg, b.Saga, b.Key)
	if inst == nil || err != nil {
		return err
	}
	r.key = inst.Key
	if inst.Status != Compensating || inst.nextCompensation() != b.Step {
		m.ignore(msg, b.Key, "compensation step already done")
		return nil
	}
	c := &inst.Compensations[b.Step]
	fn := m.def.spec.Compensations[c.Name]
	if fn == nil {
		return &compensationError{inst.Key, b.Step,
			fmt.Errorf("%w: the definition has no compensation %q", ErrInvalid, c.Name)}
	}
	err = fn(ctx, u, Compensation{Saga: m.def.name, Key: inst.Key, Step: b.Step, Name: c.Name, Arg: c.Arg, Attempts: c.Attempts})
	if err != nil {
		if errors.Is(err, uow.ErrConflict) {
			return err // retried by uow.Do like any conflict
		}
		return &compensationError{inst.Key, b.Step, err}
	}
	c.Done = true
	inst.UpdatedAt = u.Now()
	if next := inst.nextCompensation(); next >= 0 {
		return m.emitCompensate(u, inst, next)
	}
	inst.State, inst.Status, inst.Target = inst.Target, Compensated, ""
	r.state, r.finished = inst.State, Compensated
	return nil
}

// recordFailure notes a failed compensation on its instance, in a unit of its own (the failed
// one rolled back), so operators see the attempts and the last error.
func (m *Manager[D]) recordFailure(ctx context.Context, ce *compensationError) {
	m.log.Warn("saga compensation failed", "key", ce.key, "step", ce.step, "err", ce.err)
	err := uow.Do(ctx, m.store, func(ctx context.Context, u *uow.Unit) error {
		inst, err := uow.Repo[instance, string](u).Get(ctx, instanceID(m.def.name, ce.key))
		if err != nil {
			return err
		}
		if inst.Status != Compensating || inst.nextCompensation() != ce.step {
			return nil
		}
		c := &inst.Compensations[ce.step]
		c.Attempts++
		c.LastError = ce.err.Error()
		inst.UpdatedAt = u.Now()
		return nil
	}, m.do)
	if err != nil {
		m.log.Error("saga: recording a failed compensation", "key", ce.key, "step", ce.step, "err", err)
	}
}

func (m *Manager[D]) ignore(msg uow.Message, key, why string) {
	m.log.Debug("saga message ignored", "key", key, "message", msg.Name, "id", msg.ID, "why", why)
}

// Subscribe subscribes Handle, under the manager's consumer name, to the saga's own topic and to
// the given topics of the messages it handles, and returns a function that removes every
// subscription. Errors are those of Bus.Subscribe; on one, nothing stays subscribed.
func (m *Manager[D]) Subscribe(bus *outbox.Bus, topics ...string) (unsubscribe func(), err error) {
	var undo []func()
	unsubscribe = func() {
		for _, f := range undo {
			f()
		}
	}
	for _, t := range slices.Compact(slices.Sorted(slices.Values(append([]string{m.def.topic}, topics...)))) {
		f, err := bus.Subscribe(t, m.consumer, m.Handle)
		if err != nil {
			unsubscribe()
			return nil, err
		}
		undo = append(undo, f)
	}
	return unsubscribe, nil
}

// Get returns the instance with the given key; a missing one is an error wrapping ErrNotFound.
func (m *Manager[D]) Get(ctx context.Context, key string) (Info[D], error) {
	var info Info[D]
	err := uow.Do(ctx, m.store, func(ctx context.Context, u *uow.Unit) error {
		inst, err := uow.Repo[instance, string](u).Get(ctx, instanceID(m.def.name, key))
		if errors.Is(err, uow.ErrNotFound) {
			return fmt.Errorf("%w: %s %q", ErrNotFound, m.def.name, key)
		}
		if err != nil {
			return err
		}
		info, err = m.info(inst)
		return err
	}, m.do)
	return info, err
}

// List returns the instances with the given status ("" for all), in key order: the operator's
// view of what is compensating, failed or stuck. It reads them all in one query, so page
// through a large history by status. A driver without queries returns an error wrapping
// uow.ErrUnsupported.
func (m *Manager[D]) List(ctx context.Context, status Status) ([]Info[D], error) {
	var out []Info[D]
	err := uow.Do(ctx, m.store, func(ctx context.Context, u *uow.Unit) error {
		where := []uow.Field{{Name: "saga", Value: m.def.name}}
		if status != "" {
			where = append(where, uow.Field{Name: "status", Value: string(status)})
		}
		found, err := uow.Repo[instance, string](u).Find(ctx, where...)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, inst := range found {
			info, err := m.info(inst)
			if err != nil {
				return err
			}
			out = append(out, info)
		}
		return nil
	}, m.do)
	return out, err // Find returns them in ID order, which is key order
}

func (m *Manager[D]) info(inst *instance) (Info[D], error) {
	info := Info[D]{Key: inst.Key, State: inst.State, Status: inst.Status, Target: inst.Target,
		Timeouts: slices.Sorted(maps.Keys(inst.Timeouts)), Transitions: inst.Transitions,
		Version: inst.Version(), StartedAt: inst.StartedAt, UpdatedAt: inst.UpdatedAt}
	if len(inst.Data) > 0 {
		if err := json.Unmarshal(inst.Data, &info.Data); err != nil {
			return info, fmt.Errorf("saga: %s: decoding the data of instance %s: %w", m.def.name, inst.Key, err)
		}
	}
	for _, c := range inst.Compensations {
		info.Compensations = append(info.Compensations, CompensationInfo(c))
	}
	return info, nil
}

package saga

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dddkit/ddd/uow"
)

// State names a state of a saga: a letter or underscore, then letters, digits and underscores
// ("debiting", "awaiting_payment"), so it is also a valid Mermaid state ID.
type State string

// Status is where an instance stands: running, compensating, or one of the three terminal
// outcomes a terminal state declares.
type Status string

// The statuses of an instance.
const (
	// Running: the instance reacts to messages and timeouts.
	Running Status = "running"
	// Compensating: a transition entered a Compensated state and the instance is running its
	// compensations, newest first; it ignores every other message meanwhile.
	Compensating Status = "compensating"
	// Completed, Failed and Compensated are the terminal outcomes: the instance has finished
	// and ignores every message and timeout.
	Completed   Status = "completed"
	Failed      Status = "failed"
	Compensated Status = "compensated"
)

// Terminal reports whether s is a terminal outcome (Completed, Failed or Compensated).
func (s Status) Terminal() bool {
	return s == Completed || s == Failed || s == Compensated
}

// Correlator takes the key of the instance a message belongs to from the message (an order ID,
// a withdrawal ID). ByField and ByHeader make the usual ones. An error makes the message fail
// (it is redelivered, and parked by the relay in the end): return one that wraps ErrInvalid.
type Correlator func(m uow.Message) (string, error)

// CompensationFunc runs a compensating action in a unit of work: the refund of a debit, the
// release of a reservation. Its writes and emitted messages commit with the instance's record of
// its progress, so an action that only uses the unit runs exactly once; one that calls the outside
// world may run again after a crash and must be idempotent there (use c.IdempotencyKey). An
// error is recorded on the instance and the action retried.
type CompensationFunc func(ctx context.Context, u *uow.Unit, c Compensation) error

// Spec describes a saga type: its states and transitions, the messages it handles and how each
// finds its instance, its timeouts and its compensating actions. Define checks it.
type Spec[D any] struct {
	// Topic receives the saga's own messages (timeouts, compensation steps); "" means
	// "saga." + the saga's name. Subscribe the manager to it (Manager.Subscribe does).
	Topic string
	// Initial is the state of a new instance: the transitions from it name the messages that
	// start the saga.
	Initial State
	// Terminal maps each final state to its outcome: Completed, Failed or Compensated.
	// Entering a Compensated state first runs the compensations registered so far, newest
	// first. Terminal states have no outgoing transitions.
	Terminal map[State]Status
	// Correlate maps the name of every message the saga handles to the Correlator that finds
	// its instance.
	Correlate map[string]Correlator
	// Timeouts declares each timeout by name with its duration, a business decision (seed
	// 003). A transition schedules one with Step.Schedule and a transition On its name handles
	// it when it fires.
	Timeouts map[string]time.Duration
	// Compensations maps the name of each compensating action to its function; transitions
	// register one with Step.OnCompensate.
	Compensations map[string]CompensationFunc
	// Transitions are the saga's reactions, at most one per (From, On).
	Transitions []Transition[D]
}

// Transition is a saga's reaction to a message or timeout On in state From: it runs Do, which
// may change the instance's data, send messages, schedule or cancel timeouts and register
// compensations, and moves the instance to one of the states To (Do picks one with Step.Goto
// when To has several; a single one is the default). All of it commits in one unit of work with
// the inbox mark of the message.
type Transition[D any] struct {
	From State
	// On is the name of a message in Spec.Correlate or of a timeout in Spec.Timeouts.
	On string
	To []State
	// Do is the transition's action; nil moves to To[0] and does nothing else. An error rolls
	// everything back and makes the message fail, so it is redelivered: return errors for
	// technical failures, and model business outcomes (a rejection) as states.
	Do func(ctx context.Context, s *Step[D], m uow.Message) error
}

// Definition is a validated saga type, made by Define. It is immutable and safe for concurrent
// use.
type Definition[D any] struct {
	name    string
	spec    Spec[D]
	topic   string
	byEvent map[edge]*Transition[D]
}

type edge struct {
	from State
	on   string
}

var stateName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Define checks spec and returns the saga type named name (a letter, then letters, digits, '_',
// '-' and '.'). Every problem it finds is reported in one error wrapping ErrInvalidDefinition:
// a state name that is not an identifier, an Initial state that is missing, terminal or starts
// nothing, a transition from a terminal state, a transition On a name that is neither a
// correlated message nor a timeout, two transitions for one (From, On), a message or timeout no
// transition handles, a state no transition reaches from Initial, a state that is neither
// terminal nor left by any transition, a terminal outcome that is not Completed, Failed or
// Compensated, a non-positive timeout, and a nil function.
func Define[D any](name string, spec Spec[D]) (*Definition[D], error) {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }

	if !sagaName.MatchString(name) {
		bad("saga name %q: want a letter, then letters, digits, '_', '-' or '.'", name)
	}
	checkState := func(what string, s State) {
		if !stateName.MatchString(string(s)) {
			bad("%s: state %q is not an identifier", what, s)
		}
	}
	if spec.Initial == "" {
		bad("no Initial state")
	} else {
		checkState("Initial", spec.Initial)
	}
	for _, s := range slices.Sorted(maps.Keys(spec.Terminal)) {
		checkState("Terminal", s)
		if !spec.Terminal[s].Terminal() {
			bad("terminal state %s: outcome %q is not completed, failed or compensated", s, spec.Terminal[s])
		}
	}
	if _, ok := spec.Terminal[spec.Initial]; ok && spec.Initial != "" {
		bad("Initial state %s is terminal", spec.Initial)
	}
	for _, n := range slices.Sorted(maps.Keys(spec.Correlate)) {
		if n == "" || spec.Correlate[n] == nil {
			bad("Correlate: message %q needs a name and a Correlator", n)
		}
		if _, ok := spec.Timeouts[n]; ok {
			bad("%q is both a message and a timeout", n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(spec.Timeouts)) {
		if n == "" || spec.Timeouts[n] <= 0 {
			bad("Timeouts: timeout %q needs a name and a positive duration", n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(spec.Compensations)) {
		if n == "" || spec.Compensations[n] == nil {
			bad("Compensations: action %q needs a name and a function", n)
		}
	}

	d := &Definition[D]{
		name:    name,
		spec:    spec,
		topic:   cmp.Or(spec.Topic, "saga."+name),
		byEvent: make(map[edge]*Transition[D]),
	}
	handled := make(map[string]bool)
	next := make(map[State][]State)
	starts := false
	for i := range spec.Transitions {
		t := &d.spec.Transitions[i]
		where := fmt.Sprintf("transition %d (%s on %s)", i, t.From, t.On)
		checkState(where+" From", t.From)
		if _, ok := spec.Terminal[t.From]; ok {
			bad("%s: terminal state %s has an outgoing transition", where, t.From)
		}
		_, isMsg := spec.Correlate[t.On]
		_, isTimeout := spec.Timeouts[t.On]
		switch {
		case t.On == "":
			bad("%s: no message or timeout name", where)
		case !isMsg && !isTimeout:
			bad("%s: %q is neither a message in Correlate nor a timeout in Timeouts", where, t.On)
		}
		if t.From == spec.Initial && isMsg {
			starts = true
		}
		if len(t.To) == 0 {
			bad("%s: no target state", where)
		}
		for _, to := range t.To {
			checkState(where+" To", to)
			next[t.From] = append(next[t.From], to)
		}
		if _, dup := d.byEvent[edge{t.From, t.On}]; dup {
			bad("%s: a second transition for %s on %s", where, t.From, t.On)
		}
		d.byEvent[edge{t.From, t.On}] = t
		handled[t.On] = true
	}
	if spec.Initial != "" && !starts {
		bad("no transition from Initial state %s on a message: nothing starts the saga", spec.Initial)
	}
	for _, n := range slices.Sorted(maps.Keys(spec.Correlate)) {
		if !handled[n] {
			bad("message %q has no transition", n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(spec.Timeouts)) {
		if !handled[n] {
			bad("timeout %q has no transition", n)
		}
	}

	// Reachability from Initial, and states that lead nowhere.
	reached := map[State]bool{spec.Initial: true}
	queue := []State{spec.Initial}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, to := range next[s] {
			if !reached[to] {
				reached[to] = true
				queue = append(queue, to)
			}
		}
	}
	for _, s := range d.States() {
		if !reached[s] {
			bad("state %s is unreachable from %s", s, spec.Initial)
		}
		if _, term := spec.Terminal[s]; !term && len(next[s]) == 0 && s != "" {
			bad("state %s is not terminal and no transition leaves it", s)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidDefinition, name, errors.Join(problems...))
	}
	return d, nil
}

var sagaName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)

// Name returns the saga type's name.
func (d *Definition[D]) Name() string { return d.name }

// Topic returns the topic of the saga's own messages (timeouts and compensation steps).
func (d *Definition[D]) Topic() string { return d.topic }

// States returns every state the definition names: Initial first, then the others in the order
// the transitions and terminal states first mention them.
func (d *Definition[D]) States() []State {
	seen := make(map[State]bool)
	var out []State
	add := func(s State) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(d.spec.Initial)
	for _, t := range d.spec.Transitions {
		add(t.From)
		for _, to := range t.To {
			add(to)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(d.spec.Terminal)) {
		add(s)
	}
	return out
}

// Mermaid returns the saga as a Mermaid state diagram: an arrow per possible target of each
// transition, labelled with its message (or "after <timeout> (<duration>)"), and the terminal
// states leading to the end with their outcome as a note.
func (d *Definition[D]) Mermaid() string {
	var b strings.Builder
	b.WriteString("stateDiagram-v2\n")
	fmt.Fprintf(&b, "    [*] --> %s\n", d.spec.Initial)
	for _, t := range d.spec.Transitions {
		label := t.On
		if dur, ok := d.spec.Timeouts[t.On]; ok {
			label = fmt.Sprintf("after %s (%s)", t.On, dur)
		}
		for _, to := range t.To {
			fmt.Fprintf(&b, "    %s --> %s : %s\n", t.From, to, mermaidText(label))
		}
	}
	for _, s := range slices.Sorted(maps.Keys(d.spec.Terminal)) {
		fmt.Fprintf(&b, "    %s --> [*]\n", s)
		fmt.Fprintf(&b, "    note right of %s : %s\n", s, d.spec.Terminal[s])
	}
	return b.String()
}

// mermaidText escapes the characters that end or break a Mermaid label as entity codes.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case ':', ';', '#', '\n', '\r', '"':
			fmt.Fprintf(&b, "#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

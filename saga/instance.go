package saga

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/dddkit/ddd/aggregate"
)

// instance is the stored state of one saga instance: an aggregate like any other, kept as a JSON
// document of kind "saga" with the ID "<saga name>/<key>", so handling a message, changing state
// and sending commands commit together under its version compare-and-set.
type instance struct {
	aggregate.Root[string]
	Saga   string          `json:"saga"`
	Key    string          `json:"key"`
	State  State           `json:"state"`
	Status Status          `json:"status"`
	Target State           `json:"target,omitempty"`
	Data   json.RawMessage `json:"data,omitempty"`
	// Timeouts maps each pending timeout to the ID of the delayed message that fires it: a
	// fired message whose ID is not here (cancelled, rescheduled, or the saga moved on to its
	// end) is ignored.
	Timeouts      map[string]string `json:"timeouts,omitempty"`
	Compensations []compensation    `json:"compensations,omitempty"`
	Transitions   int               `json:"transitions"`
	StartedAt     time.Time         `json:"startedAt"`
	UpdatedAt     time.Time         `json:"updatedAt"`
}

// AggregateType names the kind all saga instances are stored under.
func (*instance) AggregateType() string { return "saga" }

type compensation struct {
	Name      string          `json:"name"`
	Arg       json.RawMessage `json:"arg,omitempty"`
	Done      bool            `json:"done,omitempty"`
	Attempts  int             `json:"attempts,omitempty"`
	LastError string          `json:"lastError,omitempty"`
}

// instanceID is the stored ID of the instance of saga name with the given key.
func instanceID(name, key string) string { return name + "/" + key }

// nextCompensation returns the index of the newest compensation not yet done, or -1.
func (in *instance) nextCompensation() int {
	for i := len(in.Compensations) - 1; i >= 0; i-- {
		if !in.Compensations[i].Done {
			return i
		}
	}
	return -1
}

// Compensation is one registered compensating action, as its CompensationFunc receives it.
type Compensation struct {
	// Saga and Key identify the instance.
	Saga, Key string
	// Step is the action's position among the instance's compensations (0 for the first
	// registered); they run from the highest down.
	Step int
	// Name is the action's name in Spec.Compensations.
	Name string
	// Arg is what the transition registered with it, as JSON.
	Arg json.RawMessage
	// Attempts counts this action's failed runs so far.
	Attempts int
}

// Decode decodes Arg into v, a pointer.
func (c Compensation) Decode(v any) error {
	if err := json.Unmarshal(c.Arg, v); err != nil {
		return fmt.Errorf("%w: compensation %s of %s: %w", ErrInvalid, c.Name, c.IdempotencyKey(), err)
	}
	return nil
}

// IdempotencyKey identifies this action of this instance, the same on every retry: pass it to
// external systems so a repeated call has no second effect.
func (c Compensation) IdempotencyKey() string {
	return fmt.Sprintf("%s/%s/compensation/%d", c.Saga, c.Key, c.Step)
}

// Info is what an operator (or a test) sees of an instance.
type Info[D any] struct {
	Key    string
	State  State
	Status Status
	// Target is the Compensated state the instance enters once its compensations are done
	// (empty unless Status is Compensating).
	Target State
	Data   D
	// Timeouts lists the pending timeouts by name.
	Timeouts []string
	// Compensations are the registered compensating actions, oldest first, with their
	// progress; a failing one shows its attempts and last error.
	Compensations []CompensationInfo
	// Transitions counts the transitions taken.
	Transitions int
	// Version is the stored version of the instance.
	Version              int64
	StartedAt, UpdatedAt time.Time
}

// CompensationInfo is a registered compensating action and its progress.
type CompensationInfo struct {
	Name      string
	Arg       json.RawMessage
	Done      bool
	Attempts  int
	LastError string
}

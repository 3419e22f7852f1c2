package saga

import "errors"

// The errors of this package; every error it returns wraps one of them (or an error of the unit of
// work, the store or a handler), for errors.Is.
var (
	// ErrInvalidDefinition: Define found the definition inconsistent (an unreachable state, a
	// message with no transition, a terminal state with outgoing transitions, ...). The error
	// lists every problem found.
	ErrInvalidDefinition = errors.New("saga: invalid definition")
	// ErrInvalid: bad input at run time: a message without an ID or whose correlation key
	// cannot be read, a transition that chose a state it does not declare, an undeclared
	// timeout or compensation.
	ErrInvalid = errors.New("saga: invalid argument")
	// ErrNotFound: no instance of the saga has that key.
	ErrNotFound = errors.New("saga: instance not found")
	// ErrCompensation: a compensating action failed; the step is retried (the message that
	// runs it is redelivered) and the failure is recorded on the instance for operators.
	ErrCompensation = errors.New("saga: compensation failed")
)

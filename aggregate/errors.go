package aggregate

import "errors"

// The errors of this package; every error it returns wraps one of them, for [errors.Is].
var (
	// ErrInvalidID: an empty ID, or text that is not a valid ID.
	ErrInvalidID = errors.New("aggregate: invalid ID")
	// ErrInvalidVersion: a stored version below 1, or a commit that would move a version back.
	ErrInvalidVersion = errors.New("aggregate: invalid version")
	// ErrInvalidEvent: an event with no name, or a payload that does not encode to JSON.
	ErrInvalidEvent = errors.New("aggregate: invalid event")
	// ErrInvalidActivity: an activity number 0, or a malformed encoding of an activity tracker.
	ErrInvalidActivity = errors.New("aggregate: invalid partner activity")
	// ErrActivityWindow: an activity numbered too far above the high-water mark of a
	// [SequencedActivities]; retry it once the activities before it have arrived.
	ErrActivityWindow = errors.New("aggregate: partner activity beyond the out-of-order window")
)

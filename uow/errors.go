package uow

import (
	"errors"

	"github.com/dddkit/ddd/uow/driver"
)

// The errors of the unit of work. Drivers translate their backend's errors into them, so callers
// test with errors.Is whatever the driver.
var (
	// ErrNotFound: no aggregate with that ID.
	ErrNotFound = errors.New("uow: not found")
	// ErrDuplicate: an aggregate with that ID already exists.
	ErrDuplicate = driver.ErrDuplicate
	// ErrConflict: another transaction changed what this unit read (a version mismatch), or the
	// database reported a serialization failure, deadlock or lock timeout. Do retries the whole
	// function on it.
	ErrConflict = driver.ErrConflict
	// ErrUnitDone: the unit was used after Commit or Rollback.
	ErrUnitDone = driver.ErrTxDone
	// ErrUnsupported: the driver lacks an optional capability (queries, keyed locks, inbox).
	ErrUnsupported = driver.ErrUnsupported
	// ErrInvalid: bad input, such as an aggregate without an ID, a message without a name, or
	// an aggregate of the wrong type for its repository.
	ErrInvalid = driver.ErrInvalid
	// ErrNoService: the store has no service of the requested or required type.
	ErrNoService = errors.New("uow: no such service")
	// ErrAmbiguousService: more than one of the store's services is of the requested or
	// required type (two implementations of one interface), so none is chosen.
	ErrAmbiguousService = errors.New("uow: ambiguous service")
)

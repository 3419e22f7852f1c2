package driver

import "errors"

// The errors a driver returns, wrapped, for errors.Is. Package uow exports the same values
// (uow.ErrConflict is ErrConflict), so application code never imports this package to test them.
var (
	// ErrConflict: another transaction changed what this one read (a version mismatch, an inbox
	// mark that exists), or the backend reported a serialization failure, deadlock or lock
	// timeout. uow.Do retries the whole unit on it.
	ErrConflict = errors.New("uow: conflict")
	// ErrDuplicate: an insert found a record with the same kind and ID.
	ErrDuplicate = errors.New("uow: duplicate")
	// ErrInvalid: bad input, such as an empty kind or ID, a non-positive limit or an empty owner.
	ErrInvalid = errors.New("uow: invalid argument")
	// ErrTxDone: a transaction was used after Commit or Rollback.
	ErrTxDone = errors.New("uow: unit already committed or rolled back")
	// ErrUnsupported: the driver lacks an optional capability.
	ErrUnsupported = errors.New("uow: not supported by the driver")
)

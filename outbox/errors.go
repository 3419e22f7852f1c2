package outbox

import "github.com/dddkit/ddd/uow/driver"

// The errors of this package. They are the storage contract's own values, so a refusal from the
// driver under a relay (a non-positive limit, an operator capability it lacks) matches them too.
var (
	// ErrInvalid: bad input, such as a non-positive batch size or an empty owner.
	ErrInvalid = driver.ErrInvalid
	// ErrUnsupported: the driver lacks an optional capability (the operator API).
	ErrUnsupported = driver.ErrUnsupported
)

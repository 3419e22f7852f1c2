package outbox

import (
	"errors"

	"github.com/dddkit/ddd/uow/driver"
)

// The errors of this package. ErrInvalid and ErrUnsupported are the storage contract's own
// values, so a refusal from the driver under a relay (a non-positive limit, an operator
// capability it lacks) matches them too.
var (
	// ErrInvalid: bad input, such as a non-positive batch size, an empty owner, a subscription
	// without a topic, or a Router whose routes collide.
	ErrInvalid = driver.ErrInvalid
	// ErrUnsupported: the driver lacks an optional capability (the operator API).
	ErrUnsupported = driver.ErrUnsupported
	// ErrNoSubscriber: a Bus was given a message on a topic that no subscription takes and that
	// was not declared with Bus.Discard. The relay retries the message, then parks it, so a
	// mistyped subscription or a renamed topic loses nothing.
	ErrNoSubscriber = errors.New("outbox: no subscriber")
	// ErrNoRoute: a Router that rejects unknown names (RejectUnknown) was given a message whose
	// name none of its routes has.
	ErrNoRoute = errors.New("outbox: no route")
)

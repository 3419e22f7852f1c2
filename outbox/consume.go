package outbox

import (
	"context"
	"fmt"

	"github.com/dddkit/ddd/uow"
)

// Idempotent returns a Handler that runs h in a unit of work of store, with the inbox mark of
// (consumer, message ID) in the same transaction: the exactly-once effect on top of at-least-once
// delivery. A message the consumer already processed returns nil without calling h. The unit's
// correlation ID is the message's (or its ID when it has none) and its causation ID the message
// ID, so messages h emits trace back to it. Conflicts are retried as [uow.Do] does, with opts.
func Idempotent(store *uow.Store, consumer string, h func(ctx context.Context, u *uow.Unit, m uow.Message) error, opts *uow.DoOptions) Handler {
	return func(ctx context.Context, m uow.Message) error {
		if m.ID == "" {
			return fmt.Errorf("%w: message %s has no ID to deduplicate on", ErrInvalid, m.Name)
		}
		return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
			already, err := u.MarkProcessed(ctx, consumer, m.ID)
			if err != nil || already {
				return err
			}
			corr := m.Headers[uow.HeaderCorrelationID]
			if corr == "" {
				corr = m.ID
			}
			u.SetCausation(corr, m.ID)
			return h(ctx, u, m)
		}, opts)
	}
}

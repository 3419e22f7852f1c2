package transfer

import (
	"context"

	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
)

// Apply runs the eventual strategy's storage step alone, in a unit of its own that commits on
// success: the tests reach the database's own guard with it, which Plan's check of a fresh read
// otherwise answers first.
func Apply(ctx context.Context, b *Bank, changes []Change) ([]money.Money, error) {
	var out []money.Money
	err := uow.Do(ctx, b.store, func(ctx context.Context, u *uow.Unit) error {
		var err error
		out, err = b.st.apply(ctx, u, changes)
		return err
	}, &uow.DoOptions{MaxAttempts: 1})
	return out, err
}

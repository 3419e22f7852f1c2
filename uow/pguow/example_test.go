package pguow_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/pguow"
)

// Open validates its options before it connects: table names are checked, never escaped, so
// none can inject SQL. (The package documentation shows a complete program; it needs a server.)
func ExampleOpen() {
	_, err := pguow.Open(context.Background(), "postgres://app@db.example:5432/bank", &pguow.Options{Prefix: "app; DROP TABLE users"})
	fmt.Println(errors.Is(err, uow.ErrInvalid))
	// Output:
	// true
}

// TxOf gives custom SQL the unit's transaction; it refuses a unit of another driver.
func ExampleTxOf() {
	store := uow.NewStore(memuow.New(nil), nil)
	_ = uow.Do(context.Background(), store, func(ctx context.Context, u *uow.Unit) error {
		_, err := uow.TxOf[pgx.Tx](u)
		fmt.Println(errors.Is(err, uow.ErrInvalid))
		return nil
	}, nil)
	// Output:
	// true
}

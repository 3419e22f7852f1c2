package mysqluow_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/mysqluow"
)

// Open validates its options before it connects: table names are checked, never escaped, so
// none can inject SQL. (The package documentation shows a complete program; it needs a server.)
func ExampleOpen() {
	_, err := mysqluow.Open(context.Background(), "app@tcp(db.example:3306)/bank", &mysqluow.Options{Prefix: "app; DROP TABLE users"})
	fmt.Println(errors.Is(err, uow.ErrInvalid))
	// Output:
	// true
}

// TxOf gives custom SQL the unit's transaction; it refuses a unit of another driver.
func ExampleTxOf() {
	store := uow.NewStore(memuow.New(nil), nil)
	_ = uow.Do(context.Background(), store, func(ctx context.Context, u *uow.Unit) error {
		_, err := uow.TxOf[*sql.Tx](u)
		fmt.Println(errors.Is(err, uow.ErrInvalid))
		return nil
	}, nil)
	// Output:
	// true
}

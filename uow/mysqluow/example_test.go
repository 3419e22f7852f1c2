package mysqluow_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/aggregate"
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

// Order is the example's aggregate, kept as a JSON document.
type Order struct {
	aggregate.Root[string]
	Paid bool `json:"paid"`
}

// AggregateType is Order's stable name.
func (*Order) AggregateType() string { return "Order" }

// Join a transaction of your own: the unit's aggregates, messages and inbox marks commit with
// your statements, atomically, when you commit it, and a unit that fails leaves your
// transaction usable. DoIn does not retry a conflict inside your transaction (what you read
// before it cannot be read again there): run the whole transaction again. Classify translates
// the errors of your own SQL the way the driver translates its own. (It needs a server, so it is
// not run.)
func ExampleDriver_Join() {
	ctx := context.Background()
	d, err := mysqluow.Open(ctx, "app@tcp(db.example:3306)/shop", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	store := uow.NewStore(d, nil)

	payWithReceipt := func() error {
		tx, err := d.DB().BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }() // does nothing after Commit
		if _, err := tx.ExecContext(ctx, "INSERT INTO receipt (order_id) VALUES (?)", "o-1"); err != nil {
			return mysqluow.Classify(err) // a receipt that exists: errors.Is(err, uow.ErrDuplicate)
		}
		// The unit runs in a savepoint of tx; uow.TxOf[*sql.Tx](u) inside it returns tx.
		err = uow.DoIn(ctx, store, tx, func(ctx context.Context, u *uow.Unit) error {
			o, err := uow.Repo[Order, string](u).Get(ctx, "o-1")
			if err != nil {
				return err
			}
			o.Paid = true
			return nil
		})
		if err != nil {
			return err
		}
		return mysqluow.Classify(tx.Commit())
	}
	for attempt := 1; ; attempt++ {
		err = payWithReceipt()
		if !errors.Is(err, uow.ErrConflict) || attempt == 3 {
			break
		}
	}
	fmt.Println(err)
}

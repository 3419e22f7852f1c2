package pguow_test

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// Join a transaction of your own: the unit's aggregates, messages and inbox marks commit with
// your statements, atomically, when you commit it, and a unit that fails leaves your
// transaction usable. DoIn does not retry a conflict inside your transaction (what you read
// before it cannot be read again there): run the whole transaction again. Classify translates
// the errors of your own SQL the way the driver translates its own. (It needs a server, so it is
// not run.)
func ExampleDriver_Join() {
	ctx := context.Background()
	d, err := pguow.Open(ctx, "postgres://app@db.example:5432/bank", &pguow.Options{LockTimeout: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	store := uow.NewStore(d, nil)

	creditWithAudit := func() error {
		tx, err := d.Pool().Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }() // does nothing after Commit
		if _, err := tx.Exec(ctx, "INSERT INTO audit (what) VALUES ($1)", "credit alice 10"); err != nil {
			return pguow.Classify(err)
		}
		// The unit runs in a savepoint of tx; uow.TxOf[pgx.Tx](u) inside it returns tx.
		if err := uow.DoIn(ctx, store, tx, credit("alice", 10)); err != nil {
			return err
		}
		return pguow.Classify(tx.Commit(ctx))
	}
	for attempt := 1; ; attempt++ {
		err = creditWithAudit()
		if !errors.Is(err, uow.ErrConflict) || attempt == 3 {
			break
		}
	}
	fmt.Println(err)
}

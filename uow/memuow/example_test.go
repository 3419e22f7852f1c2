package memuow_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

func ExampleNew() {
	ctx := context.Background()
	d := memuow.New(nil)

	// Open an account: an insert stores version 1.
	tx, _ := d.Begin(ctx)
	err := tx.Commit(ctx, &driver.Changes{Writes: []driver.Write{{
		Op:     driver.Insert,
		Record: driver.Record{Kind: "account", ID: "acc-1", Data: []byte(`{"balance":100}`)},
	}}})
	fmt.Println("insert:", err)

	// Load it for update, change it and commit with a message: the update stores version 2.
	tx, _ = d.Begin(ctx)
	recs, _ := tx.Load(ctx, "account", []string{"acc-1"}, uow.ForUpdate)
	r := recs[0]
	fmt.Printf("loaded %s at version %d: %s\n", r.ID, r.Version, r.Data)
	r.Data = []byte(`{"balance":70}`)
	err = tx.Commit(ctx, &driver.Changes{
		Writes:   []driver.Write{{Op: driver.Update, Record: r}},
		Messages: []uow.Message{{ID: "msg-1", Topic: "account", Key: "acc-1", Name: "bank.MoneyWithdrawn"}},
	})
	fmt.Println("update:", err)
	stored, _ := d.Get("account", "acc-1")
	fmt.Printf("stored at version %d: %s\n", stored.Version, stored.Data)
	fmt.Println("outbox:", d.Messages()[0].Name)

	// An update from version 1 again is a conflict: the stored version is 2.
	tx, _ = d.Begin(ctx)
	err = tx.Commit(ctx, &driver.Changes{Writes: []driver.Write{{Op: driver.Update, Record: r}}})
	fmt.Println("stale update is a conflict:", errors.Is(err, uow.ErrConflict))
	// Output:
	// insert: <nil>
	// loaded acc-1 at version 1: {"balance":100}
	// update: <nil>
	// stored at version 2: {"balance":70}
	// outbox: bank.MoneyWithdrawn
	// stale update is a conflict: true
}

func ExampleDriver_InjectFault() {
	ctx := context.Background()
	d := memuow.New(nil)
	insert := func(id string) error {
		tx, _ := d.Begin(ctx)
		return tx.Commit(ctx, &driver.Changes{Writes: []driver.Write{{
			Op:     driver.Insert,
			Record: driver.Record{Kind: "payment", ID: id, Data: []byte(`{}`)},
		}}})
	}

	// The commit fails before it stores anything.
	d.InjectFault(memuow.Fault{})
	err := insert("p-1")
	fmt.Println(err, d.Count("payment"))

	// The commit is stored, but its caller gets an error, as when the connection drops while
	// the database commits: code above the driver must not do the work twice.
	d.InjectFault(memuow.Fault{After: true, Err: errors.New("connection reset")})
	err = insert("p-2")
	fmt.Println(err, d.Count("payment"))

	// A retry finds the payment already there.
	err = insert("p-2")
	fmt.Println(errors.Is(err, uow.ErrDuplicate))
	// Output:
	// memuow: injected fault 0
	// connection reset 1
	// true
}

func ExampleClock() {
	c := memuow.NewClock(time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC))
	fmt.Println(c.Now())
	c.Advance(90 * time.Minute)
	fmt.Println(c.Now())
	c.Set(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))
	fmt.Println(c.Now().Format(time.DateOnly))
	// Output:
	// 2025-01-01 09:00:00 +0000 UTC
	// 2025-01-01 10:30:00 +0000 UTC
	// 2025-06-30
}

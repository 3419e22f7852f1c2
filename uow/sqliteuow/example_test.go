package sqliteuow_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

type WalletID string

// Wallet is an aggregate stored as a JSON document.
type Wallet struct {
	aggregate.Root[WalletID]
	Balance int64 `json:"balance"`
}

// AggregateType is Wallet's stable name: its storage kind and the topic of its events.
func (*Wallet) AggregateType() string { return "Wallet" }

type Deposited struct {
	Amount int64 `json:"amount"`
}

func (Deposited) EventName() string { return "wallet.deposited" }

var ErrNotPositive = aggregate.NewRule("not_positive", "wallet: amount must be positive")

func (w *Wallet) Deposit(amount int64) error {
	if amount <= 0 {
		return ErrNotPositive
	}
	w.Balance += amount
	w.Record(Deposited{Amount: amount})
	return nil
}

// Open a database file, migrate it, and run commands in units of work.
func Example() {
	dir, err := os.MkdirTemp("", "sqliteuow-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	d, err := sqliteuow.Open(ctx, filepath.Join(dir, "bank.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	store := uow.NewStore(d, nil)

	err = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot[WalletID]("alice")
		if err != nil {
			return err
		}
		return uow.Repo[Wallet, WalletID](u).Add(ctx, &Wallet{Root: root})
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	deposit := func(amount int64) error {
		return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
			w, err := uow.Repo[Wallet, WalletID](u).Get(ctx, "alice")
			if err != nil {
				return err
			}
			return w.Deposit(amount)
		}, nil)
	}
	fmt.Println(deposit(100))
	fmt.Println(errors.Is(deposit(-5), aggregate.ErrRule)) // business rules are not retried

	err = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		w, err := uow.Repo[Wallet, WalletID](u).Get(ctx, "alice")
		if err != nil {
			return err
		}
		fmt.Printf("alice has %d at version %d\n", w.Balance, w.Version())
		return nil
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	pending, err := d.Pending(ctx, 10) // the outbox, as an operator reads it
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range pending {
		fmt.Println(m.Topic, m.Key, m.Name, string(m.Payload))
	}
	// Output:
	// <nil>
	// true
	// alice has 100 at version 2
	// Wallet alice wallet.deposited {"amount":100}
}

// Join a transaction of your own: the unit's aggregates and messages commit with your
// statements, atomically, when you commit it, and a unit that fails leaves your transaction
// usable, with your statements. DoIn does not retry a conflict inside your transaction: run the
// whole transaction again.
func ExampleDriver_Join() {
	dir, err := os.MkdirTemp("", "sqliteuow-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	d, err := sqliteuow.Open(ctx, filepath.Join(dir, "bank.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if _, err := d.DB().ExecContext(ctx, "CREATE TABLE audit (what TEXT NOT NULL)"); err != nil {
		fmt.Println(err)
		return
	}
	store := uow.NewStore(d, nil)
	open := func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot[WalletID]("alice")
		if err != nil {
			return err
		}
		w := &Wallet{Root: root}
		if err := w.Deposit(100); err != nil {
			return err
		}
		return uow.Repo[Wallet, WalletID](u).Add(ctx, w)
	}
	badDeposit := func(ctx context.Context, u *uow.Unit) error {
		w, err := uow.Repo[Wallet, WalletID](u).Get(ctx, "alice") // sees the wallet tx holds
		if err != nil {
			return err
		}
		return w.Deposit(-5)
	}

	tx, err := d.DB().BeginTx(ctx, nil) // BEGIN IMMEDIATE: the database's write lock
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = tx.Rollback() }() // does nothing after Commit
	if _, err := tx.ExecContext(ctx, "INSERT INTO audit (what) VALUES (?)", "opening alice"); err != nil {
		fmt.Println(sqliteuow.Classify(err))
		return
	}
	fmt.Println(uow.DoIn(ctx, store, tx, open))
	err = uow.DoIn(ctx, store, tx, badDeposit) // rolled back alone
	fmt.Println(errors.Is(err, aggregate.ErrRule))
	pending, err := d.Pending(ctx, 100)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(pending), "messages before the commit")
	if err := tx.Commit(); err != nil {
		fmt.Println(sqliteuow.Classify(err))
		return
	}

	var audited int
	if err := d.DB().QueryRowContext(ctx, "SELECT count(*) FROM audit").Scan(&audited); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(audited, "audit row")
	if pending, err = d.Pending(ctx, 100); err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range pending {
		fmt.Println(m.Topic, m.Key, m.Name, string(m.Payload))
	}
	// Output:
	// <nil>
	// true
	// 0 messages before the commit
	// 1 audit row
	// Wallet alice wallet.deposited {"amount":100}
}

package transfer_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// Example opens two accounts, posts a transfer, retries it, breaks two rules, and reads the
// books back.
func Example() {
	ctx := context.Background()
	bank, err := transfer.New(uow.NewStore(memuow.New(nil), nil), &transfer.Options{Strategy: transfer.Pessimistic})
	if err != nil {
		panic(err)
	}
	usd := money.MustLookup("USD")
	alice, bob := transfer.AccountNumber("100000000001"), transfer.AccountNumber("100000000002")
	for _, n := range []transfer.AccountNumber{alice, bob} {
		if err := bank.OpenAccount(ctx, n, usd); err != nil {
			panic(err)
		}
	}
	hundred, _ := money.FromString("100.00", usd)
	if _, err := bank.Deposit(ctx, transfer.DepositRequest{ID: "salary-1", Account: alice, Amount: hundred}); err != nil {
		panic(err)
	}

	amount, _ := money.FromString("30.00", usd)
	req := transfer.Request{Number: "T-1", From: alice, To: bob, Amount: amount}
	out, err := bank.Transfer(ctx, req, transfer.Default)
	fmt.Println("posted:", out.Posted.Amount, "left", out.Debited.Balance, "on", out.Debited.Account, err)
	again, err := bank.Transfer(ctx, req, transfer.Default)
	fmt.Println("retried: replayed", again.Replayed, "left", again.Debited.Balance, err)

	_, err = bank.Transfer(ctx, transfer.Request{Number: "T-2", From: bob, To: bob, Amount: amount}, transfer.Default)
	fmt.Println(errors.Is(err, transfer.ErrSameAccount), err)
	_, err = bank.Transfer(ctx, transfer.Request{Number: "T-3", From: bob, To: alice, Amount: hundred}, transfer.Eventual)
	fmt.Println(errors.Is(err, transfer.ErrInsufficientFunds), err)

	balances, _ := bank.Finder().Balances(ctx)
	for _, b := range balances {
		fmt.Println(b.Account, b.Balance)
	}
	rec, _ := bank.Finder().Reconcile(ctx)
	fmt.Println("reconciled:", rec.Balanced())
	// Output:
	// posted: 30.00 USD left 70.00 USD on 100000000001 <nil>
	// retried: replayed true left 70.00 USD <nil>
	// true the debited and credited accounts are the same: 100000000002
	// true insufficient funds: account 100000000002 holds 30.00 USD, transfer T-3 needs 100.00 USD
	// 100000000001 70.00 USD
	// 100000000002 30.00 USD
	// reconciled: true
}

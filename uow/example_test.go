package uow_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

type AccountID string

// Account is the examples' aggregate, stored as a JSON document.
type Account struct {
	aggregate.Root[AccountID]
	Owner   string `json:"owner"`
	Balance int64  `json:"balance"`
}

// AggregateType is Account's stable name: its storage kind and the topic of its events.
func (*Account) AggregateType() string { return "Account" }

var ErrInsufficientFunds = aggregate.NewRule("insufficient_funds", "insufficient funds")

type Debited struct {
	Account AccountID `json:"account"`
	Amount  int64     `json:"amount"`
}

func (Debited) EventName() string { return "bank.Debited" }

type Credited struct {
	Account AccountID `json:"account"`
	Amount  int64     `json:"amount"`
}

func (Credited) EventName() string { return "bank.Credited" }

func OpenAccount(id AccountID, owner string, balance int64) (*Account, error) {
	root, err := aggregate.NewRoot(id)
	if err != nil {
		return nil, err
	}
	return &Account{Root: root, Owner: owner, Balance: balance}, nil
}

func (a *Account) Debit(amount int64) error {
	if amount > a.Balance {
		return fmt.Errorf("%w: %s has %d, needs %d", ErrInsufficientFunds, a.ID(), a.Balance, amount)
	}
	a.Balance -= amount
	a.Record(Debited{Account: a.ID(), Amount: amount})
	return nil
}

func (a *Account) Credit(amount int64) {
	a.Balance += amount
	a.Record(Credited{Account: a.ID(), Amount: amount})
}

// seed opens the example accounts.
func seed(ctx context.Context, store *uow.Store) {
	err := uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		for _, a := range []struct {
			id      AccountID
			owner   string
			balance int64
		}{{"alice", "Alice", 100}, {"bob", "Bob", 20}} {
			acc, err := OpenAccount(a.id, a.owner, a.balance)
			if err != nil {
				return err
			}
			if err := uow.Repo[Account, AccountID](u).Add(ctx, acc); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		panic(err)
	}
}

// Transfer is a plain application service: a function that runs its work through uow.Do.
func Transfer(ctx context.Context, store *uow.Store, from, to AccountID, amount int64) error {
	return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		accounts := uow.Repo[Account, AccountID](u)
		src, err := accounts.Get(ctx, from)
		if err != nil {
			return err
		}
		dst, err := accounts.Get(ctx, to)
		if err != nil {
			return err
		}
		if err := src.Debit(amount); err != nil {
			return err
		}
		dst.Credit(amount)
		return nil
	}, nil)
}

func balances(ctx context.Context, store *uow.Store) string {
	var out []string
	_ = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		all, err := uow.Repo[Account, AccountID](u).Find(ctx)
		for _, a := range all {
			out = append(out, fmt.Sprintf("%s=%d(v%d)", a.ID(), a.Balance, a.Version()))
		}
		return err
	}, nil)
	return strings.Join(out, " ")
}

// Example shows a plain service function running in a unit of work: both accounts and both
// events commit together, or nothing does.
func Example() {
	ctx := context.Background()
	driver := memuow.New(nil)
	store := uow.NewStore(driver, nil)
	seed(ctx, store)

	fmt.Println(Transfer(ctx, store, "alice", "bob", 30))
	err := Transfer(ctx, store, "bob", "alice", 500)
	fmt.Println(errors.Is(err, ErrInsufficientFunds), err)
	fmt.Println(balances(ctx, store))
	for _, m := range driver.Messages() {
		fmt.Println(m.Topic, m.Key, m.Name, string(m.Payload))
	}
	// Output:
	// <nil>
	// true insufficient funds: bob has 50, needs 500
	// alice=70(v2) bob=50(v2)
	// Account alice bank.Debited {"account":"alice","amount":30}
	// Account bob bank.Credited {"account":"bob","amount":30}
}

// Deposit is a task-based command: its data and its handler in one type.
type Deposit struct {
	Account AccountID
	Amount  int64
}

func (c Deposit) Handle(ctx context.Context, u *uow.Unit) error {
	acc, err := uow.Repo[Account, AccountID](u).Get(ctx, c.Account)
	if err != nil {
		return err
	}
	acc.Credit(c.Amount)
	// The unit's time is the store's clock, which tests replace (Options.Clock).
	return u.Emit(uow.Message{
		Topic: "notifications", Key: acc.AggregateID(), Name: "notify.Deposit",
		Payload: fmt.Appendf(nil, `{"at":%q}`, u.Now().Format(time.RFC3339)),
	})
}

// ExampleExecutor runs a command with retries, logging and a metrics hook, on a store whose
// clock is a fake one.
func ExampleExecutor() {
	ctx := context.Background()
	clock := memuow.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	driver := memuow.New(nil)
	store := uow.NewStore(driver, &uow.Options{Clock: clock})
	seed(ctx, store)

	exec, err := uow.NewExecutor(store, &uow.ExecutorOptions{
		Commands: []uow.Command{Deposit{}},
		Logger:   slog.New(slog.DiscardHandler),
		Observe:  func(r uow.Result) { fmt.Println("observed:", r.Command, r.Attempts, r.Err) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(exec.Execute(ctx, Deposit{Account: "bob", Amount: 5}))
	fmt.Println(errors.Is(exec.Execute(ctx, Deposit{Account: "carol", Amount: 5}), uow.ErrNotFound))

	msgs := driver.Messages()
	fmt.Println(msgs[len(msgs)-1].Name, string(msgs[len(msgs)-1].Payload))
	// Output:
	// observed: uow_test.Deposit 1 <nil>
	// <nil>
	// observed: uow_test.Deposit 1 uow: not found: Account carol
	// true
	// notify.Deposit {"at":"2026-11-23T09:00:00Z"}
}

func ExampleRepo() {
	ctx := context.Background()
	store := uow.NewStore(memuow.New(nil), nil)
	seed(ctx, store)

	_ = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		accounts := uow.Repo[Account, AccountID](u)
		a1, _ := accounts.Get(ctx, "alice")
		a2, _ := accounts.Get(ctx, "alice")
		fmt.Println("same value:", a1 == a2)

		bobs, _ := accounts.Find(ctx, uow.Field{Name: "owner", Value: "Bob"})
		fmt.Println("found:", len(bobs), bobs[0].ID())

		rich, _ := accounts.FindFunc(ctx, func(a *Account) bool { return a.Balance >= 100 })
		fmt.Println("rich:", len(rich), rich[0].ID())

		_, err := accounts.Get(ctx, "nobody")
		fmt.Println(errors.Is(err, uow.ErrNotFound))

		dup, _ := OpenAccount("alice", "Alice again", 0)
		fmt.Println(errors.Is(accounts.Add(ctx, dup), uow.ErrDuplicate))
		return nil
	}, nil)
	// Output:
	// same value: true
	// found: 1 bob
	// rich: 1 alice
	// true
	// true
}

// ExampleRepository_GetOrAdd credits accounts, opening the ones that do not exist yet: the
// get-or-create of a document that holds a read model.
func ExampleRepository_GetOrAdd() {
	ctx := context.Background()
	store := uow.NewStore(memuow.New(nil), nil)
	seed(ctx, store)

	credit := func(id AccountID, amount int64) error {
		return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
			acc, err := uow.Repo[Account, AccountID](u).GetOrAdd(ctx, id, func(id AccountID) (*Account, error) {
				return OpenAccount(id, "new", 0)
			})
			if err != nil {
				return err
			}
			acc.Credit(amount)
			return nil
		}, nil)
	}
	fmt.Println(credit("bob", 5), credit("carol", 5), credit("carol", 5))
	fmt.Println(balances(ctx, store))
	// Output:
	// <nil> <nil> <nil>
	// alice=100(v1) bob=25(v2) carol=10(v2)
}

func ExampleUnit_MarkProcessed() {
	ctx := context.Background()
	store := uow.NewStore(memuow.New(nil), nil)
	seed(ctx, store)

	// handle credits bob once per message, however often the message is delivered.
	handle := func(messageID string) error {
		return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
			already, err := u.MarkProcessed(ctx, "bonus", messageID)
			if err != nil || already {
				return err
			}
			bob, err := uow.Repo[Account, AccountID](u).Get(ctx, "bob")
			if err != nil {
				return err
			}
			bob.Credit(10)
			return nil
		}, nil)
	}
	for _, id := range []string{"m-1", "m-1", "m-2", "m-1"} {
		if err := handle(id); err != nil {
			panic(err)
		}
	}
	fmt.Println(balances(ctx, store))
	// Output:
	// alice=100(v1) bob=40(v3)
}

func ExampleUnit_Lock() {
	ctx := context.Background()
	store := uow.NewStore(memuow.New(nil), nil)

	u1, _ := store.Begin(ctx)
	fmt.Println(u1.Lock(ctx, "daily-limit:alice", "account:alice"))

	locked := make(chan error)
	go func() {
		u2, _ := store.Begin(ctx)
		defer u2.Rollback(ctx)
		locked <- u2.Lock(ctx, "account:alice") // waits for u1
	}()
	select {
	case <-locked:
		fmt.Println("u2 got the lock while u1 held it")
	case <-time.After(20 * time.Millisecond):
		fmt.Println("u2 waits")
	}
	_ = u1.Rollback(ctx)
	fmt.Println(<-locked)
	// Output:
	// <nil>
	// u2 waits
	// <nil>
}

// Mailer is a port that commands reach as a service of the store.
type Mailer interface {
	Send(to, text string) error
}

type printMailer struct{}

func (printMailer) Send(to, text string) error {
	fmt.Println("mail to", to+":", text)
	return nil
}

// Welcome mails a new customer. It declares the service it uses, so that an executor built on a
// store without a Mailer fails at once.
type Welcome struct{ To string }

func (Welcome) Requires() []uow.Requirement { return []uow.Requirement{uow.Needs[Mailer]()} }

func (c Welcome) Handle(ctx context.Context, u *uow.Unit) error {
	mailer, err := uow.Service[Mailer](u)
	if err != nil {
		return err
	}
	return mailer.Send(c.To, "welcome")
}

// ExampleService resolves a command's service from the unit; the executor checks, when it is
// built, that the store has it.
func ExampleService() {
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	opts := &uow.ExecutorOptions{Commands: []uow.Command{Welcome{}}, Logger: quiet}

	_, err := uow.NewExecutor(uow.NewStore(memuow.New(nil), nil), opts)
	fmt.Println(err)

	store := uow.NewStore(memuow.New(nil), &uow.Options{Services: []any{printMailer{}}})
	exec, err := uow.NewExecutor(store, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(exec.Execute(ctx, Welcome{To: "alice@example.com"}))
	// Output:
	// uow: no such service: command uow_test.Welcome needs uow_test.Mailer
	// mail to alice@example.com: welcome
	// <nil>
}

package aggregate_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dddkit/ddd/aggregate"
)

// AccountID is the ID type of Account: an AccountID cannot be mixed up with another aggregate's.
type AccountID string

// Account is a small aggregate: it embeds aggregate.Root and records an event for every change.
type Account struct {
	aggregate.Root[AccountID]
	Balance int64 `json:"balance"`
}

// AggregateType is Account's stable name: its storage kind and the topic of its events. It stays
// "Account" if the Go type is ever renamed.
func (*Account) AggregateType() string { return "Account" }

// ErrInsufficientFunds is a business rule of Account.
var ErrInsufficientFunds = aggregate.NewRule("insufficient_funds", "insufficient funds")

// Opened is recorded when an account is opened.
type Opened struct {
	Account AccountID `json:"account"`
	Initial int64     `json:"initial"`
}

func (Opened) EventName() string { return "bank.AccountOpened" }

// Withdrawn is recorded when money leaves an account.
type Withdrawn struct {
	Account AccountID `json:"account"`
	Amount  int64     `json:"amount"`
}

func (Withdrawn) EventName() string { return "bank.MoneyWithdrawn" }

// Open is Account's constructor: it validates everything and records Opened.
func Open(id AccountID, initial int64) (*Account, error) {
	root, err := aggregate.NewRoot(id)
	if err != nil {
		return nil, err
	}
	a := &Account{Root: root, Balance: initial}
	a.Record(Opened{Account: id, Initial: initial})
	return a, nil
}

// Withdraw checks the rule, changes state, then records the event.
func (a *Account) Withdraw(amount int64) error {
	if amount > a.Balance {
		return fmt.Errorf("%w: balance %d, withdrawal %d", ErrInsufficientFunds, a.Balance, amount)
	}
	a.Balance -= amount
	a.Record(Withdrawn{Account: a.ID(), Amount: amount})
	return nil
}

func ExampleRoot() {
	acc, err := Open("acc-1", 100)
	if err != nil {
		panic(err)
	}
	if err := acc.Withdraw(30); err != nil {
		panic(err)
	}
	if err := acc.Withdraw(500); err != nil {
		fmt.Println("refused:", err) // a failed command records nothing
	}

	fmt.Println("id:", acc.ID(), "version:", acc.Version(), "balance:", acc.Balance)
	for _, e := range acc.Recorded() {
		fmt.Println("recorded:", e.EventName())
	}
	// Output:
	// refused: insufficient funds: balance 70, withdrawal 500
	// id: acc-1 version: 0 balance: 70
	// recorded: bank.AccountOpened
	// recorded: bank.MoneyWithdrawn
}

func ExampleNewRule() {
	// httpStatus maps a command's error to a response: a broken rule is the user's to fix, any
	// other error is the team's.
	httpStatus := func(err error) string {
		var rule *aggregate.RuleError
		switch {
		case err == nil:
			return fmt.Sprint(http.StatusOK)
		case errors.Is(err, ErrInsufficientFunds):
			return fmt.Sprint(http.StatusUnprocessableEntity, " ", ErrInsufficientFunds.Code)
		case errors.As(err, &rule): // any other rule
			return fmt.Sprint(http.StatusConflict, " ", rule.Code)
		default:
			return fmt.Sprint(http.StatusInternalServerError)
		}
	}

	acc, _ := Open("acc-1", 10)
	err := acc.Withdraw(25)
	fmt.Println(httpStatus(err), "-", err)
	fmt.Println("is a rule:", errors.Is(err, aggregate.ErrRule))

	errClosed := aggregate.NewRule("account_closed", "the account is closed")
	fmt.Println(httpStatus(fmt.Errorf("withdraw: %w", errClosed)))
	plain := errors.New("connection reset")
	fmt.Println(httpStatus(plain), "is a rule:", errors.Is(plain, aggregate.ErrRule))
	fmt.Println(httpStatus(nil))
	// Output:
	// 422 insufficient_funds - insufficient funds: balance 10, withdrawal 25
	// is a rule: true
	// 409 account_closed
	// 500 is a rule: false
	// 200
}

func ExampleParseID() {
	id, err := aggregate.ParseID[AccountID]("01890A5D-AC96-774B-BCCE-B302099A8057")
	fmt.Printf("%T %s %v\n", id, id, err)

	for _, s := range []string{"", "00000000-0000-0000-0000-000000000000", "01890a5dac96774bbcceb302099a8057"} {
		_, err := aggregate.ParseID[AccountID](s)
		fmt.Println(errors.Is(err, aggregate.ErrInvalidID))
	}
	// Output:
	// aggregate_test.AccountID 01890a5d-ac96-774b-bcce-b302099a8057 <nil>
	// true
	// true
	// true
}

func ExampleNewID() {
	id := aggregate.NewID[AccountID]()
	next := aggregate.NewID[AccountID]()

	parsed, err := aggregate.ParseID[AccountID](string(id))
	fmt.Println("length:", len(id))
	fmt.Println("version:", string(id[14]))
	fmt.Println("lower case:", string(id) == strings.ToLower(string(id)))
	fmt.Println("parses back:", err == nil && parsed == id)
	fmt.Println("sorts after the one before:", next > id)
	// Output:
	// length: 36
	// version: 7
	// lower case: true
	// parses back: true
	// sorts after the one before: true
}

func ExampleSeal() {
	// An account loaded from storage at version 3.
	root, err := aggregate.RestoreRoot[AccountID]("acc-1", 3)
	if err != nil {
		panic(err)
	}
	acc := &Account{Root: root, Balance: 100}
	_ = acc.Withdraw(10)
	_ = acc.Withdraw(20)

	envelopes, err := aggregate.Seal(acc, aggregate.Metadata{
		CorrelationID: "order-42",
		OccurredAt:    time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	for _, env := range envelopes {
		fmt.Println(env.Name, env.AggregateType, env.AggregateID, env.Version, env.CorrelationID, env.OccurredAt.Format(time.RFC3339), string(env.Payload))
	}
	fmt.Println("still recorded:", len(acc.Recorded()))

	var w Withdrawn
	if err := envelopes[1].Decode(&w); err != nil {
		panic(err)
	}
	fmt.Printf("decoded: %+v\n", w)
	// Output:
	// bank.MoneyWithdrawn Account acc-1 4 order-42 2024-01-02T03:04:05Z {"account":"acc-1","amount":10}
	// bank.MoneyWithdrawn Account acc-1 4 order-42 2024-01-02T03:04:05Z {"account":"acc-1","amount":20}
	// still recorded: 2
	// decoded: {Account:acc-1 Amount:20}
}

func ExampleActivities() {
	var payments aggregate.Activities
	for _, paymentID := range []string{"pay-1", "pay-2", "pay-1"} {
		if !payments.Record("payments", paymentID) {
			fmt.Println(paymentID, "seen before: no second effect")
			continue
		}
		fmt.Println(paymentID, "applied")
	}
	fmt.Println("seen pay-2:", payments.Seen("payments", "pay-2"), "count:", payments.Len("payments"))
	// Output:
	// pay-1 applied
	// pay-2 applied
	// pay-1 seen before: no second effect
	// seen pay-2: true count: 2
}

func ExampleSequencedActivities() {
	shipments := aggregate.SequencedActivities{Window: 4}
	for _, n := range []uint64{1, 3, 2, 3, 9} {
		isNew, err := shipments.Record("warehouse", n)
		switch {
		case errors.Is(err, aggregate.ErrActivityWindow):
			fmt.Println(n, "too far ahead: retry later")
		case err != nil:
			panic(err)
		default:
			fmt.Println(n, "new:", isNew, "high water:", shipments.HighWater("warehouse"), "pending:", shipments.Pending("warehouse"))
		}
	}
	// Output:
	// 1 new: true high water: 1 pending: 0
	// 3 new: true high water: 1 pending: 1
	// 2 new: true high water: 3 pending: 0
	// 3 new: false high water: 3 pending: 0
	// 9 too far ahead: retry later
}

func ExampleNewRoot() {
	root, err := aggregate.NewRoot[AccountID]("acc-7")
	fmt.Println(root.ID(), root.Version(), err)

	_, err = aggregate.NewRoot[AccountID]("")
	fmt.Println(errors.Is(err, aggregate.ErrInvalidID))
	// Output:
	// acc-7 0 <nil>
	// true
}

func ExampleRestoreRoot() {
	// A custom mapping reads the row of an account from its own table and rebuilds the
	// aggregate at the stored version; the version compare-and-set on update uses it.
	var (
		id      = "acc-9"
		version = int64(4)
		balance = int64(250)
	)
	root, err := aggregate.RestoreRoot(AccountID(id), version)
	if err != nil {
		panic(err)
	}
	acc := &Account{Root: root, Balance: balance}
	fmt.Println(acc.ID(), acc.Version(), acc.Balance, len(acc.Recorded()))

	_, err = aggregate.RestoreRoot(AccountID(id), 0)
	fmt.Println(errors.Is(err, aggregate.ErrInvalidVersion))
	// Output:
	// acc-9 4 250 0
	// true
}

func ExampleEnvelope_Decode() {
	acc, _ := Open("acc-1", 100)
	_ = acc.Withdraw(40)
	envs, err := aggregate.Seal(acc, aggregate.Metadata{})
	if err != nil {
		panic(err)
	}
	for _, env := range envs {
		switch env.Name {
		case Withdrawn{}.EventName():
			var w Withdrawn
			if err := env.Decode(&w); err != nil {
				panic(err)
			}
			fmt.Printf("%s withdrew %d\n", w.Account, w.Amount)
		}
	}
	// Output:
	// acc-1 withdrew 40
}

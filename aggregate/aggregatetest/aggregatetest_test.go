package aggregatetest_test

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/aggregate/aggregatetest"
)

// --- The test domain ---

type AccountID string

type Account struct {
	aggregate.Root[AccountID]
	Balance int64 `json:"balance"`
}

func (*Account) AggregateType() string { return "Account" }

var (
	ErrInsufficientFunds = aggregate.NewRule("insufficient_funds", "insufficient funds")
	ErrInvalidAmount     = aggregate.NewRule("invalid_amount", "the amount must be positive")
)

type Opened struct {
	Account AccountID `json:"account"`
	Initial int64     `json:"initial"`
}

func (Opened) EventName() string { return "bank.Opened" }

type Deposited struct {
	Amount int64 `json:"amount"`
}

func (Deposited) EventName() string { return "bank.Deposited" }

type Withdrawn struct {
	Amount int64 `json:"amount"`
}

func (Withdrawn) EventName() string { return "bank.Withdrawn" }

// unknownEvent is an event Account cannot apply.
type unknownEvent struct{}

func (unknownEvent) EventName() string { return "bank.Unknown" }

func Open(id AccountID, initial int64) (*Account, error) {
	if initial < 0 {
		return nil, ErrInvalidAmount
	}
	root, err := aggregate.NewRoot(id)
	if err != nil {
		return nil, err
	}
	a := &Account{Root: root, Balance: initial}
	a.Record(Opened{Account: id, Initial: initial})
	return a, nil
}

func (a *Account) Deposit(amount int64) error {
	if amount <= 0 {
		return fmt.Errorf("%w: %d", ErrInvalidAmount, amount)
	}
	a.Balance += amount
	a.Record(Deposited{Amount: amount})
	return nil
}

func (a *Account) Withdraw(amount int64) error {
	if amount <= 0 {
		return fmt.Errorf("%w: %d", ErrInvalidAmount, amount)
	}
	if amount > a.Balance {
		return fmt.Errorf("%w: balance %d, withdrawal %d", ErrInsufficientFunds, a.Balance, amount)
	}
	a.Balance -= amount
	a.Record(Withdrawn{Amount: amount})
	return nil
}

// Apply rebuilds state from history; it refuses a withdrawal the balance does not cover, so the
// order of history matters.
func (a *Account) Apply(e aggregate.Event) error {
	switch e := e.(type) {
	case Opened:
		a.Balance = e.Initial
	case Deposited:
		a.Balance += e.Amount
	case Withdrawn:
		if e.Amount > a.Balance {
			return fmt.Errorf("withdrawal %d above balance %d", e.Amount, a.Balance)
		}
		a.Balance -= e.Amount
	default:
		return fmt.Errorf("unknown event %T", e)
	}
	return nil
}

func freshAccount() *Account {
	root, err := aggregate.NewRoot[AccountID]("acc-1")
	if err != nil {
		panic(err)
	}
	return &Account{Root: root}
}

func openAccount(initial int64) func() (*Account, error) {
	return func() (*Account, error) { return Open("acc-1", initial) }
}

// --- A testing.TB that records failures ---

// fakeTB records Errorf and Fatalf. Fatalf stops the calling goroutine like testing.T's does, so
// scenarios run in a goroutine of their own (see run).
type fakeTB struct {
	testing.TB // nil: calling any other method panics, showing the fixture needs it

	mu     sync.Mutex
	errors []string
	fatals []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

// run runs scenario against a fakeTB in a new goroutine and waits for it. It reports whether the
// scenario ran to its end (false: a Fatalf stopped it).
func run(scenario func(tb testing.TB)) (f *fakeTB, completed bool) {
	f = &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		scenario(f)
		completed = true
	}()
	<-done
	return f, completed
}

func requirePassed(t *testing.T, f *fakeTB, completed bool) {
	t.Helper()
	require.Empty(t, f.fatals, "Fatalf")
	require.Empty(t, f.errors, "Errorf")
	require.True(t, completed)
}

// requireFailed checks that the scenario failed with exactly the given Errorf and Fatalf
// messages, each matched by a substring.
func requireFailed(t *testing.T, f *fakeTB, completed bool, wantErrors, wantFatals []string) {
	t.Helper()
	require.Len(t, f.errors, len(wantErrors), "Errorf calls: %q", f.errors)
	for i, want := range wantErrors {
		require.Contains(t, f.errors[i], want)
	}
	require.Len(t, f.fatals, len(wantFatals), "Fatalf calls: %q", f.fatals)
	for i, want := range wantFatals {
		require.Contains(t, f.fatals[i], want)
	}
	require.Equal(t, len(wantFatals) == 0, completed, "a Fatalf stops the scenario, an Errorf does not")
}

// --- The fake itself ---

func TestFakeTBFatalfStopsTheGoroutine(t *testing.T) {
	reached := false
	f, completed := run(func(tb testing.TB) {
		tb.Errorf("first %d", 1)
		tb.Fatalf("stop %s", "here")
		reached = true
	})
	require.False(t, reached)
	require.False(t, completed)
	require.Equal(t, []string{"first 1"}, f.errors)
	require.Equal(t, []string{"stop here"}, f.fatals)
}

// --- Then ---

func TestThen(t *testing.T) {
	tests := []struct {
		name       string
		scenario   func(tb testing.TB) *Account
		wantErrors []string
		wantFatals []string
		wantBal    int64
	}{
		{
			name: "exact events pass",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(a *Account) error { return a.Withdraw(30) }).
					Then(Withdrawn{Amount: 30})
			},
			wantBal: 70,
		},
		{
			name: "several events in order pass",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(a *Account) error {
						if err := a.Deposit(5); err != nil {
							return err
						}
						return a.Withdraw(50)
					}).
					Then(Deposited{Amount: 5}, Withdrawn{Amount: 50})
			},
			wantBal: 55,
		},
		{
			name: "no events expected and none recorded",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(*Account) error { return nil }).
					Then()
			},
			wantBal: 100,
		},
		{
			name: "wrong event value",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(a *Account) error { return a.Withdraw(30) }).
					Then(Withdrawn{Amount: 31})
			},
			wantErrors: []string{"event 0 differs"},
			wantBal:    70,
		},
		{
			name: "wrong event type",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(a *Account) error { return a.Withdraw(30) }).
					Then(Deposited{Amount: 30})
			},
			wantErrors: []string{"event 0 differs"},
			wantBal:    70,
		},
		{
			name: "events in the wrong order",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(a *Account) error {
						if err := a.Deposit(5); err != nil {
							return err
						}
						return a.Withdraw(50)
					}).
					Then(Withdrawn{Amount: 50}, Deposited{Amount: 5})
			},
			wantErrors: []string{"event 0 differs", "event 1 differs"},
			wantBal:    55,
		},
		{
			name: "fewer events than expected",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(a *Account) error { return a.Withdraw(30) }).
					Then(Withdrawn{Amount: 30}, Deposited{Amount: 1})
			},
			wantErrors: []string{"want 2 events [bank.Withdrawn, bank.Deposited], got 1 [bank.Withdrawn]"},
			wantBal:    70,
		},
		{
			name: "more events than expected",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(a *Account) error {
						if err := a.Deposit(5); err != nil {
							return err
						}
						return a.Deposit(6)
					}).
					Then(Deposited{Amount: 5})
			},
			wantErrors: []string{"want 1 events [bank.Deposited], got 2"},
			wantBal:    111,
		},
		{
			name: "events recorded when none expected",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(100)).
					When(func(a *Account) error { return a.Deposit(1) }).
					Then()
			},
			wantErrors: []string{"want 0 events [], got 1 [bank.Deposited]"},
			wantBal:    101,
		},
		{
			name: "unexpected error",
			scenario: func(tb testing.TB) *Account {
				return aggregatetest.Given(tb, openAccount(10)).
					When(func(a *Account) error { return a.Withdraw(30) }).
					Then(Withdrawn{Amount: 30})
			},
			wantFatals: []string{"want events [bank.Withdrawn], got error: insufficient funds: balance 10, withdrawal 30"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *Account
			f, completed := run(func(tb testing.TB) { got = tc.scenario(tb) })
			if len(tc.wantErrors) == 0 && len(tc.wantFatals) == 0 {
				requirePassed(t, f, completed)
			} else {
				requireFailed(t, f, completed, tc.wantErrors, tc.wantFatals)
			}
			if completed {
				require.NotNil(t, got)
				require.Equal(t, tc.wantBal, got.Balance, "Then returns the aggregate after the command")
			}
		})
	}
}

// --- ThenError ---

func TestThenError(t *testing.T) {
	tests := []struct {
		name       string
		cmd        func(a *Account) error
		target     error
		wantErrors []string
		wantFatals []string
	}{
		{
			name:   "matching rule, nothing changed",
			cmd:    func(a *Account) error { return a.Withdraw(500) },
			target: ErrInsufficientFunds,
		},
		{
			name:   "any rule matches ErrRule",
			cmd:    func(a *Account) error { return a.Withdraw(500) },
			target: aggregate.ErrRule,
		},
		{
			name:   "matching through more wrapping",
			cmd:    func(a *Account) error { return fmt.Errorf("handler: %w", a.Withdraw(500)) },
			target: ErrInsufficientFunds,
		},
		{
			name:   "a technical error",
			cmd:    func(*Account) error { return fmt.Errorf("load: %w", io.ErrUnexpectedEOF) },
			target: io.ErrUnexpectedEOF,
		},
		{
			name:       "the command succeeded",
			cmd:        func(a *Account) error { return a.Withdraw(5) },
			target:     ErrInsufficientFunds,
			wantFatals: []string{"want error insufficient funds, got success with events [bank.Withdrawn]"},
		},
		{
			name:       "the command succeeded without events",
			cmd:        func(*Account) error { return nil },
			target:     ErrInsufficientFunds,
			wantFatals: []string{"got success with events []"},
		},
		{
			name:       "a different rule",
			cmd:        func(a *Account) error { return a.Withdraw(-1) },
			target:     ErrInsufficientFunds,
			wantErrors: []string{"want error insufficient funds, got the amount must be positive: -1"},
		},
		{
			name:       "a plain error where a rule is expected",
			cmd:        func(*Account) error { return errors.New("insufficient funds") },
			target:     ErrInsufficientFunds,
			wantErrors: []string{"want error insufficient funds, got insufficient funds"},
		},
		{
			name: "recorded events before failing",
			cmd: func(a *Account) error {
				a.Record(Withdrawn{Amount: 1})
				return ErrInsufficientFunds
			},
			target: ErrInsufficientFunds,
			// The recorded event is also a change of the aggregate.
			wantErrors: []string{"a failed command recorded events [bank.Withdrawn]", "a failed command changed the aggregate"},
		},
		{
			name: "changed state before failing",
			cmd: func(a *Account) error {
				a.Balance -= 500
				return fmt.Errorf("%w: overdrawn", ErrInsufficientFunds)
			},
			target:     ErrInsufficientFunds,
			wantErrors: []string{`a failed command changed the aggregate` + "\n" + `before: {"balance":100}` + "\n" + `after:  {"balance":-400}`},
		},
		{
			name: "everything wrong at once",
			cmd: func(a *Account) error {
				a.Balance = 0
				a.Record(Withdrawn{Amount: 100})
				return io.EOF
			},
			target: ErrInsufficientFunds,
			wantErrors: []string{
				"want error insufficient funds, got EOF",
				"a failed command recorded events [bank.Withdrawn]",
				"a failed command changed the aggregate",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *Account
			f, completed := run(func(tb testing.TB) {
				got = aggregatetest.Given(tb, openAccount(100)).When(tc.cmd).ThenError(tc.target)
			})
			if len(tc.wantErrors) == 0 && len(tc.wantFatals) == 0 {
				requirePassed(t, f, completed)
				require.Equal(t, int64(100), got.Balance)
				require.Empty(t, got.Recorded())
				return
			}
			requireFailed(t, f, completed, tc.wantErrors, tc.wantFatals)
		})
	}
}

// --- Given ---

func TestGivenEventsAreHistory(t *testing.T) {
	// Open records Opened; the scenario does not expect it in Then.
	var got *Account
	f, completed := run(func(tb testing.TB) {
		got = aggregatetest.Given(tb, openAccount(100)).
			When(func(a *Account) error { return a.Deposit(1) }).
			Then(Deposited{Amount: 1})
	})
	requirePassed(t, f, completed)
	require.Equal(t, []aggregate.Event{Deposited{Amount: 1}}, got.Recorded())
	require.Zero(t, got.Version(), "settling the history does not store the aggregate")

	// Expecting the constructor's event fails.
	f, completed = run(func(tb testing.TB) {
		aggregatetest.Given(tb, openAccount(100)).
			When(func(a *Account) error { return a.Deposit(1) }).
			Then(Opened{Account: "acc-1", Initial: 100}, Deposited{Amount: 1})
	})
	requireFailed(t, f, completed, []string{"want 2 events [bank.Opened, bank.Deposited], got 1 [bank.Deposited]"}, nil)
}

func TestGivenKeepsAStoredVersion(t *testing.T) {
	var got *Account
	f, completed := run(func(tb testing.TB) {
		got = aggregatetest.Given(tb, func() (*Account, error) {
			root, err := aggregate.RestoreRoot[AccountID]("acc-1", 7)
			return &Account{Root: root, Balance: 10}, err
		}).
			When(func(a *Account) error { return a.Withdraw(10) }).
			Then(Withdrawn{Amount: 10})
	})
	requirePassed(t, f, completed)
	require.Equal(t, int64(7), got.Version())
	require.Equal(t, AccountID("acc-1"), got.ID())
}

func TestGivenFailures(t *testing.T) {
	tests := []struct {
		name      string
		build     func() (*Account, error)
		wantFatal string
	}{
		{
			name:      "build error",
			build:     openAccount(-1),
			wantFatal: "aggregatetest: Given: the amount must be positive",
		},
		{
			name: "non-deterministic ID",
			build: func() (*Account, error) {
				return Open(aggregate.NewID[AccountID](), 100)
			},
			wantFatal: "Given built two different aggregates",
		},
		{
			name: "non-deterministic state",
			build: func() func() (*Account, error) {
				calls := int64(0)
				return func() (*Account, error) {
					calls++
					return Open("acc-1", calls)
				}
			}(),
			wantFatal: "Given built two different aggregates",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			f, completed := run(func(tb testing.TB) {
				aggregatetest.Given(tb, tc.build).
					When(func(a *Account) error { ran = true; return a.Deposit(1) }).
					Then(Deposited{Amount: 1})
			})
			requireFailed(t, f, completed, nil, []string{tc.wantFatal})
			require.False(t, ran, "the command does not run on a broken Given")
		})
	}
}

func TestGivenCallsBuildTwice(t *testing.T) {
	calls := 0
	f, completed := run(func(tb testing.TB) {
		aggregatetest.Given(tb, func() (*Account, error) { calls++; return Open("acc-1", 1) }).
			When(func(a *Account) error { return a.Withdraw(1) }).
			Then(Withdrawn{Amount: 1})
	})
	requirePassed(t, f, completed)
	require.Equal(t, 2, calls)
}

// --- GivenEvents ---

func TestGivenEvents(t *testing.T) {
	tests := []struct {
		name       string
		history    []aggregate.Event
		cmd        func(a *Account) error
		then       []aggregate.Event
		wantErr    error // ThenError instead of Then
		wantBal    int64
		wantFatals []string
	}{
		{
			name:    "no history",
			cmd:     func(a *Account) error { return a.Deposit(3) },
			then:    []aggregate.Event{Deposited{Amount: 3}},
			wantBal: 3,
		},
		{
			name:    "history applied in order",
			history: []aggregate.Event{Opened{"acc-1", 0}, Deposited{50}, Withdrawn{30}, Deposited{5}},
			cmd:     func(a *Account) error { return a.Withdraw(25) },
			then:    []aggregate.Event{Withdrawn{Amount: 25}},
			wantBal: 0,
		},
		{
			name:    "history sets the state a rule checks",
			history: []aggregate.Event{Opened{"acc-1", 10}, Withdrawn{10}},
			cmd:     func(a *Account) error { return a.Withdraw(1) },
			wantErr: ErrInsufficientFunds,
			wantBal: 0,
		},
		{
			name:       "history out of order fails Apply",
			history:    []aggregate.Event{Opened{"acc-1", 0}, Withdrawn{30}, Deposited{50}},
			cmd:        func(a *Account) error { return a.Withdraw(20) },
			then:       []aggregate.Event{Withdrawn{Amount: 20}},
			wantFatals: []string{"GivenEvents: applying history[1] bank.Withdrawn: withdrawal 30 above balance 0"},
		},
		{
			name:       "unknown event fails Apply",
			history:    []aggregate.Event{Opened{"acc-1", 0}, Deposited{1}, unknownEvent{}},
			cmd:        func(a *Account) error { return a.Deposit(1) },
			then:       []aggregate.Event{Deposited{Amount: 1}},
			wantFatals: []string{"applying history[2] bank.Unknown: unknown event"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got *Account
			ran := false
			f, completed := run(func(tb testing.TB) {
				o := aggregatetest.GivenEvents(tb, freshAccount, tc.history...).
					When(func(a *Account) error { ran = true; return tc.cmd(a) })
				if tc.wantErr != nil {
					got = o.ThenError(tc.wantErr)
				} else {
					got = o.Then(tc.then...)
				}
			})
			if len(tc.wantFatals) > 0 {
				requireFailed(t, f, completed, nil, tc.wantFatals)
				require.False(t, ran)
				return
			}
			requirePassed(t, f, completed)
			require.Equal(t, tc.wantBal, got.Balance)
		})
	}
}

func TestGivenEventsHistoryIsNotRecorded(t *testing.T) {
	f, completed := run(func(tb testing.TB) {
		aggregatetest.GivenEvents(tb, freshAccount, Opened{"acc-1", 5}).
			When(func(a *Account) error { return a.Deposit(1) }).
			Then(Opened{"acc-1", 5}, Deposited{Amount: 1})
	})
	requireFailed(t, f, completed, []string{"want 2 events [bank.Opened, bank.Deposited], got 1 [bank.Deposited]"}, nil)
}

func TestGivenEventsFreshWithRecordedEvents(t *testing.T) {
	// Events fresh records are history too.
	fresh := func() *Account {
		a, err := Open("acc-1", 0)
		if err != nil {
			panic(err)
		}
		return a
	}
	f, completed := run(func(tb testing.TB) {
		aggregatetest.GivenEvents(tb, fresh, Deposited{4}).
			When(func(a *Account) error { return a.Withdraw(4) }).
			Then(Withdrawn{Amount: 4})
	})
	requirePassed(t, f, completed)
}

// --- Against the real testing.T ---

func TestWithRealT(t *testing.T) {
	acc := aggregatetest.Given(t, openAccount(100)).
		When(func(a *Account) error { return a.Withdraw(40) }).
		Then(Withdrawn{Amount: 40})
	require.Equal(t, int64(60), acc.Balance)

	acc = aggregatetest.GivenEvents(t, freshAccount, Opened{"acc-1", 10}, Deposited{5}).
		When(func(a *Account) error { return a.Withdraw(16) }).
		ThenError(ErrInsufficientFunds)
	require.Equal(t, int64(15), acc.Balance)
}

func TestFailureMessagesShowState(t *testing.T) {
	f, _ := run(func(tb testing.TB) {
		aggregatetest.Given(tb, openAccount(100)).
			When(func(a *Account) error { return a.Withdraw(30) }).
			Then(Withdrawn{Amount: 31})
	})
	require.Len(t, f.errors, 1)
	msg := f.errors[0]
	require.True(t, strings.Contains(msg, `{"amount":31}`) && strings.Contains(msg, `{"amount":30}`), msg)
}

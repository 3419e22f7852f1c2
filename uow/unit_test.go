package uow_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// newStore returns a store on a fresh memuow driver with the two example accounts.
func newStore(t *testing.T) (*uow.Store, *memuow.Driver) {
	t.Helper()
	d := memuow.New(nil)
	s := uow.NewStore(d, nil)
	seed(context.Background(), s)
	return s, d
}

func begin(t *testing.T, s *uow.Store) *uow.Unit {
	t.Helper()
	u, err := s.Begin(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = u.Rollback(context.Background()) })
	return u
}

// nameless is an aggregate whose AggregateType is empty: it has no kind to be stored under.
type nameless struct {
	aggregate.Root[AccountID]
}

func (*nameless) AggregateType() string { return "" }

func TestRepoOfEmptyAggregateType(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := begin(t, s)
	r := uow.Repo[nameless, AccountID](u)
	_, err := r.Get(ctx, "alice")
	require.ErrorIs(t, err, uow.ErrInvalid)
	require.ErrorContains(t, err, "*uow_test.nameless has an empty AggregateType")
	_, err = r.GetForUpdate(ctx, "alice")
	require.ErrorIs(t, err, uow.ErrInvalid)
	_, err = r.GetMany(ctx, "alice")
	require.ErrorIs(t, err, uow.ErrInvalid)
	_, err = r.Find(ctx)
	require.ErrorIs(t, err, uow.ErrInvalid)
	root, err := aggregate.NewRoot[AccountID]("carol")
	require.NoError(t, err)
	require.ErrorIs(t, r.Add(ctx, &nameless{Root: root}), uow.ErrInvalid)
	require.NoError(t, u.Commit(ctx), "nothing was tracked")
}

func TestAddValidation(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := begin(t, s)
	accounts := uow.Repo[Account, AccountID](u)

	require.ErrorIs(t, accounts.Add(ctx, nil), uow.ErrInvalid)
	require.ErrorIs(t, accounts.Add(ctx, &Account{}), uow.ErrInvalid, "no ID")
	root, err := aggregate.RestoreRoot[AccountID]("carol", 3)
	require.NoError(t, err)
	require.ErrorIs(t, accounts.Add(ctx, &Account{Root: root}), uow.ErrInvalid, "a stored version")

	stranger, _ := OpenAccount("dave", "Dave", 1)
	require.ErrorIs(t, accounts.Remove(ctx, stranger), uow.ErrInvalid, "not loaded in this unit")
	alice, err := accounts.Get(ctx, "alice")
	require.NoError(t, err)
	impostor, _ := OpenAccount("alice", "Alice", 100)
	require.ErrorIs(t, accounts.Remove(ctx, impostor), uow.ErrInvalid, "another value with a tracked ID")
	require.NoError(t, accounts.Remove(ctx, alice))
}

func TestGetOrAdd(t *testing.T) {
	ctx := context.Background()
	s, d := newStore(t)
	calls := 0
	open := func(owner string) func(AccountID) (*Account, error) {
		return func(id AccountID) (*Account, error) {
			calls++
			return OpenAccount(id, owner, 7)
		}
	}

	u := begin(t, s)
	accounts := uow.Repo[Account, AccountID](u)
	alice, err := accounts.GetOrAdd(ctx, "alice", open("nobody"))
	require.NoError(t, err)
	require.Equal(t, "Alice", alice.Owner, "the stored aggregate")
	require.Equal(t, int64(1), alice.Version())
	require.Zero(t, calls, "create is not called for a stored ID")
	again, err := accounts.Get(ctx, "alice")
	require.NoError(t, err)
	require.Same(t, alice, again, "GetOrAdd tracks what it loads")

	carol, err := accounts.GetOrAdd(ctx, "carol", open("Carol"))
	require.NoError(t, err)
	require.Equal(t, 1, calls)
	require.Equal(t, AccountID("carol"), carol.ID())
	require.Zero(t, carol.Version(), "new until committed")
	tracked, err := accounts.GetOrAdd(ctx, "carol", open("someone else"))
	require.NoError(t, err)
	require.Same(t, carol, tracked, "an ID the unit added is tracked: create is not called again")
	require.Equal(t, 1, calls)
	carol.Credit(3)
	require.NoError(t, u.Commit(ctx))
	require.Equal(t, int64(1), carol.Version())
	rec, ok := d.Get("Account", "carol")
	require.True(t, ok, "carol is stored")
	require.JSONEq(t, `{"owner":"Carol","balance":10}`, string(rec.Data))
	require.Len(t, d.Messages(), 1, "carol's event")
}

func TestGetOrAddErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	errCreate := aggregate.NewRule("no_account", "cannot open the account")
	for _, c := range []struct {
		name   string
		id     AccountID
		create func(AccountID) (*Account, error)
		want   error
	}{
		{"create fails", "dave", func(AccountID) (*Account, error) { return nil, errCreate }, errCreate},
		{"create returns another ID", "dave", func(AccountID) (*Account, error) { return OpenAccount("erin", "Erin", 0) }, uow.ErrInvalid},
		{"create returns nil", "dave", func(AccountID) (*Account, error) { return nil, nil }, uow.ErrInvalid},
		{"create returns a stored version", "dave", func(id AccountID) (*Account, error) {
			root, err := aggregate.RestoreRoot(id, 2)
			return &Account{Root: root}, err
		}, uow.ErrInvalid},
		{"no create", "dave", nil, uow.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := begin(t, s)
			accounts := uow.Repo[Account, AccountID](u)
			got, err := accounts.GetOrAdd(ctx, c.id, c.create)
			require.ErrorIs(t, err, c.want)
			require.Nil(t, got)
			_, err = accounts.Get(ctx, c.id)
			require.ErrorIs(t, err, uow.ErrNotFound, "nothing was added")
			require.NoError(t, u.Commit(ctx))
		})
	}

	t.Run("create error as it is", func(t *testing.T) {
		u := begin(t, s)
		_, err := uow.Repo[Account, AccountID](u).GetOrAdd(ctx, "dave", func(AccountID) (*Account, error) { return nil, errCreate })
		require.Same(t, errCreate, err)
	})

	t.Run("an ID removed in the unit", func(t *testing.T) {
		u := begin(t, s)
		accounts := uow.Repo[Account, AccountID](u)
		bob, err := accounts.Get(ctx, "bob")
		require.NoError(t, err)
		require.NoError(t, accounts.Remove(ctx, bob))
		_, err = accounts.GetOrAdd(ctx, "bob", func(id AccountID) (*Account, error) { return OpenAccount(id, "Bob again", 0) })
		require.ErrorIs(t, err, uow.ErrDuplicate, "a unit does not delete and re-insert one ID")
	})

	t.Run("unit done", func(t *testing.T) {
		u := begin(t, s)
		require.NoError(t, u.Rollback(ctx))
		called := false
		_, err := uow.Repo[Account, AccountID](u).GetOrAdd(ctx, "dave", func(id AccountID) (*Account, error) {
			called = true
			return OpenAccount(id, "Dave", 0)
		})
		require.ErrorIs(t, err, uow.ErrUnitDone)
		require.False(t, called)
	})
}

func TestEmitValidationAndDefaults(t *testing.T) {
	ctx := context.Background()
	s, d := newStore(t)
	u := begin(t, s)
	u.SetCausation("corr-1", "cause-1")

	require.ErrorIs(t, u.Emit(uow.Message{Name: "n"}), uow.ErrInvalid, "no topic")
	require.ErrorIs(t, u.Emit(uow.Message{Topic: "t"}), uow.ErrInvalid, "no name")
	require.ErrorIs(t, u.Emit(uow.Message{Topic: "t", Name: "n", Payload: []byte("{nope")}), uow.ErrInvalid)

	payload := []byte(`{"x":1}`)
	require.NoError(t, u.Emit(uow.Message{Topic: "t", Name: "n", Payload: payload, Headers: map[string]string{uow.HeaderCausationID: "mine"}}))
	payload[2] = 'y' // the unit keeps its own copy
	require.NoError(t, u.Commit(ctx))

	msgs := d.Messages()
	require.Len(t, msgs, 1)
	m := msgs[0]
	_, err := aggregate.ParseID[string](m.ID)
	require.NoError(t, err, "a UUID is assigned")
	require.False(t, m.CreatedAt.IsZero())
	require.JSONEq(t, `{"x":1}`, string(m.Payload))
	require.Equal(t, "corr-1", m.Headers[uow.HeaderCorrelationID])
	require.Equal(t, "mine", m.Headers[uow.HeaderCausationID], "headers the caller set win")
}

func TestUnitDone(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := begin(t, s)
	require.NoError(t, u.Commit(ctx))

	_, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
	require.ErrorIs(t, err, uow.ErrUnitDone)
	acc, _ := OpenAccount("erin", "Erin", 0)
	require.ErrorIs(t, uow.Repo[Account, AccountID](u).Add(ctx, acc), uow.ErrUnitDone)
	require.ErrorIs(t, u.Emit(uow.Message{Topic: "t", Name: "n"}), uow.ErrUnitDone)
	require.ErrorIs(t, u.Lock(ctx, "k"), uow.ErrUnitDone)
	_, err = u.MarkProcessed(ctx, "c", "m")
	require.ErrorIs(t, err, uow.ErrUnitDone)
	require.ErrorIs(t, u.Commit(ctx), uow.ErrUnitDone)
	require.NoError(t, u.Rollback(ctx))
}

func TestMarkProcessedValidation(t *testing.T) {
	s, _ := newStore(t)
	u := begin(t, s)
	_, err := u.MarkProcessed(context.Background(), "", "m")
	require.ErrorIs(t, err, uow.ErrInvalid)
	_, err = u.MarkProcessed(context.Background(), "c", "")
	require.ErrorIs(t, err, uow.ErrInvalid)
}

// bareDriver hides memuow's optional capabilities: only the core Driver and Tx contract.
type bareDriver struct {
	driver.Outbox
	d *memuow.Driver
}

func (b bareDriver) Begin(ctx context.Context) (driver.Tx, error) {
	tx, err := b.d.Begin(ctx)
	return bareTx{tx}, err
}

type bareTx struct{ driver.Tx }

func TestOptionalCapabilitiesMissing(t *testing.T) {
	ctx := context.Background()
	s := uow.NewStore(bareDriver{d: memuow.New(nil)}, nil)
	u := begin(t, s)

	_, err := uow.Repo[Account, AccountID](u).Find(ctx)
	require.ErrorIs(t, err, uow.ErrUnsupported)
	require.ErrorIs(t, u.Lock(ctx, "k"), uow.ErrUnsupported)
	_, err = u.MarkProcessed(ctx, "c", "m")
	require.ErrorIs(t, err, uow.ErrUnsupported)
	_, err = s.PurgeInbox(ctx, time.Now())
	require.ErrorIs(t, err, uow.ErrUnsupported)

	// The core works without them.
	acc, _ := OpenAccount("frank", "Frank", 3)
	require.NoError(t, uow.Repo[Account, AccountID](u).Add(ctx, acc))
	require.NoError(t, u.Commit(ctx))
}

func TestGetForUpdateAfterStaleGet(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := begin(t, s)
	alice, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
	require.NoError(t, err)

	require.NoError(t, Transfer(ctx, s, "alice", "bob", 1)) // another unit moves alice on

	_, err = uow.Repo[Account, AccountID](u).GetForUpdate(ctx, "alice")
	require.ErrorIs(t, err, uow.ErrConflict)
	require.Equal(t, int64(100), alice.Balance)
}

func TestGetForUpdateUpgradesTrackedAggregate(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	u := begin(t, s)
	a1, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
	require.NoError(t, err)
	a2, err := uow.Repo[Account, AccountID](u).GetForUpdate(ctx, "alice")
	require.NoError(t, err)
	require.Same(t, a1, a2)

	other := begin(t, s)
	blocked := make(chan error, 1)
	go func() {
		_, err := uow.Repo[Account, AccountID](other).GetForUpdate(ctx, "alice")
		blocked <- err
	}()
	select {
	case err := <-blocked:
		t.Fatalf("second GetForUpdate returned while the row was locked: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	require.NoError(t, u.Rollback(ctx))
	require.NoError(t, <-blocked)
}

func TestDoGivesUpAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	calls := 0
	err := uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		calls++
		return fmt.Errorf("simulated: %w", uow.ErrConflict)
	}, &uow.DoOptions{MaxAttempts: 3, MinBackoff: time.Microsecond, MaxBackoff: time.Microsecond})
	require.ErrorIs(t, err, uow.ErrConflict)
	require.Contains(t, err.Error(), "gave up after 3 attempts")
	require.Equal(t, 3, calls)
}

func TestCommitEncodingFailureStoresNothing(t *testing.T) {
	ctx := context.Background()
	d := memuow.New(nil)
	s := uow.NewStore(d, nil)
	u := begin(t, s)
	root, _ := aggregate.NewRoot[AccountID]("bad")
	require.NoError(t, uow.Repo[unencodable, AccountID](u).Add(ctx, &unencodable{Root: root, C: make(chan int)}))
	good, _ := OpenAccount("good", "Good", 1)
	require.NoError(t, uow.Repo[Account, AccountID](u).Add(ctx, good))

	err := u.Commit(ctx)
	require.Error(t, err)
	require.Contains(t, err.Error(), "encoding unencodable bad")
	require.Zero(t, d.Count("Account"))
	require.ErrorIs(t, u.Commit(ctx), uow.ErrUnitDone)
}

type unencodable struct {
	aggregate.Root[AccountID]
	C chan int `json:"c"`
}

func (*unencodable) AggregateType() string { return "unencodable" }

func TestExecutorLogsAndObserves(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t)
	var logs bytes.Buffer
	var mu sync.Mutex
	var results []uow.Result
	exec, err := uow.NewExecutor(s, &uow.ExecutorOptions{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Observe: func(r uow.Result) {
			mu.Lock()
			defer mu.Unlock()
			results = append(results, r)
		},
	})
	require.NoError(t, err)
	require.NoError(t, exec.Execute(ctx, Deposit{Account: "bob", Amount: 1}))
	require.ErrorIs(t, exec.Execute(ctx, transferCmd{from: "bob", to: "alice", amount: 1000}), ErrInsufficientFunds)
	require.ErrorIs(t, exec.Execute(ctx, Deposit{Account: "nobody", Amount: 1}), uow.ErrNotFound)

	out := logs.String()
	require.Contains(t, out, "level=DEBUG msg=\"command done\" command=uow_test.Deposit attempts=1")
	require.Contains(t, out, "level=INFO msg=\"command rejected\" command=transfer")
	require.Contains(t, out, "level=ERROR msg=\"command failed\" command=uow_test.Deposit")
	require.Len(t, results, 3)
	require.Equal(t, "transfer", results[1].Command, "Named commands choose their name")
	require.ErrorIs(t, results[1].Err, ErrInsufficientFunds)
	for _, r := range results {
		require.Equal(t, 1, r.Attempts)
		require.Positive(t, r.Duration)
	}
}

type transferCmd struct {
	from, to AccountID
	amount   int64
}

func (transferCmd) CommandName() string { return "transfer" }

func (c transferCmd) Handle(ctx context.Context, u *uow.Unit) error {
	src, err := uow.Repo[Account, AccountID](u).Get(ctx, c.from)
	if err != nil {
		return err
	}
	return src.Debit(c.amount)
}

// --- custom relational mapping ---

// accountTable is a Mapper over an in-memory "table" of account rows. It is not transactional,
// so the tests only check what the unit asks of it; the SQL drivers test real tables.
type accountTable struct {
	mu    sync.Mutex
	rows  map[string]accountRow
	calls []string
	trace *[]string // if set, the calls are appended to it too, prefixed "mapped "
}

type accountRow struct {
	version int64
	owner   string
	balance int64
}

func (m *accountTable) log(format string, args ...any) {
	m.calls = append(m.calls, fmt.Sprintf(format, args...))
	if m.trace != nil {
		*m.trace = append(*m.trace, "mapped "+m.calls[len(m.calls)-1])
	}
}

func (m *accountTable) Load(_ context.Context, _ *uow.Unit, ids []string, lock uow.Lock) ([]*Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log("load %s lock=%d", strings.Join(ids, ","), lock)
	var out []*Account
	for _, id := range ids {
		row, ok := m.rows[id]
		if !ok {
			continue
		}
		root, err := aggregate.RestoreRoot(AccountID(id), row.version)
		if err != nil {
			return nil, err
		}
		out = append(out, &Account{Root: root, Owner: row.owner, Balance: row.balance})
	}
	return out, nil
}

func (m *accountTable) Insert(_ context.Context, _ *uow.Unit, a *Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log("insert %s", a.ID())
	if _, ok := m.rows[a.AggregateID()]; ok {
		return uow.ErrDuplicate
	}
	m.rows[a.AggregateID()] = accountRow{version: 1, owner: a.Owner, balance: a.Balance}
	return nil
}

func (m *accountTable) Update(_ context.Context, _ *uow.Unit, a *Account, expected int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log("update %s expected=%d", a.ID(), expected)
	row, ok := m.rows[a.AggregateID()]
	if !ok || row.version != expected {
		return uow.ErrConflict
	}
	m.rows[a.AggregateID()] = accountRow{version: expected + 1, owner: a.Owner, balance: a.Balance}
	return nil
}

func (m *accountTable) Delete(_ context.Context, _ *uow.Unit, a *Account, expected int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.log("delete %s expected=%d", a.ID(), expected)
	row, ok := m.rows[a.AggregateID()]
	if !ok || row.version != expected {
		return uow.ErrConflict
	}
	delete(m.rows, a.AggregateID())
	return nil
}

func TestMappedRepository(t *testing.T) {
	ctx := context.Background()
	d := memuow.New(nil)
	s := uow.NewStore(d, nil)
	table := &accountTable{rows: map[string]accountRow{}}

	// Add: inserted at commit, version 1.
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		a, _ := OpenAccount("acc-1", "Ann", 10)
		return uow.MappedRepo[Account, AccountID](u, table).Add(ctx, a)
	}, nil))
	require.Equal(t, accountRow{version: 1, owner: "Ann", balance: 10}, table.rows["acc-1"])
	require.Equal(t, []string{"load acc-1 lock=0", "insert acc-1"}, table.calls, "Add checks for a duplicate first")
	require.Zero(t, d.Count("Account"), "mapped aggregates are not stored as documents")

	// Loaded twice: one load; unchanged: no update.
	table.calls = nil
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		r := uow.MappedRepo[Account, AccountID](u, table)
		a1, err := r.Get(ctx, "acc-1")
		if err != nil {
			return err
		}
		a2, err := r.Get(ctx, "acc-1")
		require.Same(t, a1, a2)
		return err
	}, nil))
	require.Equal(t, []string{"load acc-1 lock=0"}, table.calls)

	// Changed (an event recorded): update with the loaded version, and the event in the outbox.
	table.calls = nil
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		a, err := uow.MappedRepo[Account, AccountID](u, table).GetForUpdate(ctx, "acc-1")
		if err != nil {
			return err
		}
		a.Credit(5)
		return nil
	}, nil))
	require.Equal(t, []string{"load acc-1 lock=1", "update acc-1 expected=1"}, table.calls)
	require.Equal(t, int64(2), table.rows["acc-1"].version)
	msgs := d.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "bank.Credited", msgs[0].Name)
	require.Equal(t, "2", msgs[0].Headers[uow.HeaderVersion])

	// A conflicting update fails the commit; no message is written.
	table.calls = nil
	u := begin(t, s)
	a, err := uow.MappedRepo[Account, AccountID](u, table).Get(ctx, "acc-1")
	require.NoError(t, err)
	a.Credit(1)
	table.rows["acc-1"] = accountRow{version: 3, owner: "Ann", balance: 99} // someone else wrote
	require.ErrorIs(t, u.Commit(ctx), uow.ErrConflict)
	require.Len(t, d.Messages(), 1)

	// Remove deletes with the loaded version; queries are not offered.
	table.calls = nil
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		r := uow.MappedRepo[Account, AccountID](u, table)
		_, err := r.Find(ctx)
		require.ErrorIs(t, err, uow.ErrUnsupported)
		a, err := r.Get(ctx, "acc-1")
		if err != nil {
			return err
		}
		return r.Remove(ctx, a)
	}, nil))
	require.Equal(t, []string{"load acc-1 lock=0", "delete acc-1 expected=3"}, table.calls)
	require.Empty(t, table.rows)
}

func TestCustomTopic(t *testing.T) {
	ctx := context.Background()
	d := memuow.New(nil)
	s := uow.NewStore(d, &uow.Options{Topic: func(e aggregate.Envelope) string { return "bank." + strings.ToLower(e.AggregateType) }})
	seed(ctx, s)
	require.NoError(t, Transfer(ctx, s, "alice", "bob", 1))
	topics := map[string]bool{}
	for _, m := range d.Messages() {
		topics[m.Topic] = true
	}
	keys := make([]string, 0, len(topics))
	for k := range topics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	require.Equal(t, []string{"bank.account"}, keys)
}

func TestRemovedAggregateEventsAreCommitted(t *testing.T) {
	ctx := context.Background()
	s, d := newStore(t)
	u := begin(t, s)
	accounts := uow.Repo[Account, AccountID](u)
	bob, err := accounts.Get(ctx, "bob")
	require.NoError(t, err)
	bob.Credit(1)
	require.NoError(t, accounts.Remove(ctx, bob))
	require.NoError(t, u.Commit(ctx))

	require.Empty(t, bob.Recorded(), "the events went to the outbox with the delete")
	require.Equal(t, int64(1), bob.Version())
	_, ok := d.Get("Account", "bob")
	require.False(t, ok)
	msgs := d.Messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "2", msgs[0].Headers[uow.HeaderVersion])
}

// TestLostCommitAcknowledgementWithInbox is the at-least-once case: the commit succeeds but the
// caller gets an error (the connection dropped after COMMIT), the message is redelivered, and
// the inbox mark that committed with the first effect stops a second one.
func TestLostCommitAcknowledgementWithInbox(t *testing.T) {
	ctx := context.Background()
	s, d := newStore(t)
	handle := func() error {
		return uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
			already, err := u.MarkProcessed(ctx, "bonus", "msg-1")
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
	lost := errors.New("connection reset after COMMIT")
	d.InjectFault(memuow.Fault{After: true, Err: lost})

	require.ErrorIs(t, handle(), lost, "the caller hears of a failure")
	require.NoError(t, handle(), "the redelivery succeeds")
	require.NoError(t, handle())

	rec, ok := d.Get("Account", "bob")
	require.True(t, ok)
	require.JSONEq(t, `{"owner":"Bob","balance":30}`, string(rec.Data), "credited once")
	require.Equal(t, int64(2), rec.Version)
	require.Len(t, d.Messages(), 1)
}

func TestDecorateAddsHeadersAtCommit(t *testing.T) {
	type traceKey struct{}
	ctx := context.WithValue(context.Background(), traceKey{}, "trace-7")
	d := memuow.New(nil)
	s := uow.NewStore(d, &uow.Options{Decorate: func(ctx context.Context, m *uow.Message) {
		m.Headers["traceparent"] = ctx.Value(traceKey{}).(string)
	}})
	seed(context.Background(), s)
	require.NoError(t, Transfer(ctx, s, "alice", "bob", 1))
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "t", Name: "n"})
	}, nil))
	msgs := d.Messages()
	require.Len(t, msgs, 3)
	for _, m := range msgs {
		require.Equal(t, "trace-7", m.Headers["traceparent"], m.Name)
	}
}

func TestNilUnitIsInvalid(t *testing.T) {
	ctx := context.Background()
	var u *uow.Unit
	_, err := uow.Repo[Account, AccountID](u).Get(ctx, "alice")
	require.ErrorIs(t, err, uow.ErrInvalid)
	_, err = uow.Repo[Account, AccountID](u).GetOrAdd(ctx, "alice", func(id AccountID) (*Account, error) { return OpenAccount(id, "Alice", 0) })
	require.ErrorIs(t, err, uow.ErrInvalid)
	require.ErrorIs(t, u.Lock(ctx, "k"), uow.ErrInvalid)
	require.ErrorIs(t, u.Emit(uow.Message{Topic: "t", Name: "n"}), uow.ErrInvalid)
	_, err = uow.TxOf[*memuow.Tx](u)
	require.ErrorIs(t, err, uow.ErrInvalid)
	_, err = uow.Service[uow.Clock](u)
	require.ErrorIs(t, err, uow.ErrInvalid)
}

package pguow_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/pguow"
)

// dsn returns the test server's DSN, or skips (fails under DDD_REQUIRE_SERVICES=1).
func dsn(t testing.TB) string {
	t.Helper()
	return testenv.Postgres(t)
}

// openDriver opens a driver on a fresh schema (opts.Schema is replaced) without migrating it; the
// schema is dropped and the driver closed when the test ends.
func openDriver(t testing.TB, opts *pguow.Options) *pguow.Driver {
	t.Helper()
	o := pguow.Options{}
	if opts != nil {
		o = *opts
	}
	o.Schema = testenv.Name("t_")
	d, err := pguow.Open(t.Context(), dsn(t), &o)
	require.NoError(t, err)
	schemas.Store(d, o.Schema)
	t.Cleanup(func() {
		dropSchema(t, d, o.Schema)
		d.Close()
	})
	return d
}

// newDriver is openDriver, migrated.
func newDriver(t testing.TB, opts *pguow.Options) *pguow.Driver {
	t.Helper()
	d := openDriver(t, opts)
	require.NoError(t, d.Migrate(t.Context()))
	return d
}

// schemas maps the drivers of openDriver to their schemas.
var schemas sync.Map

// schemaOf returns the schema of a driver from openDriver.
func schemaOf(t testing.TB, d *pguow.Driver) string {
	t.Helper()
	s, ok := schemas.Load(d)
	require.True(t, ok, "not a driver of openDriver")
	return s.(string)
}

func dropSchema(t testing.TB, d *pguow.Driver, schema string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`); err != nil {
		t.Errorf("dropping schema %s: %v", schema, err)
	}
}

// --- the tests' aggregate, kept as a document or (mapper_test.go) in an account table ---

type Account struct {
	aggregate.Root[string]
	Owner   string `json:"owner"`
	Balance int64  `json:"balance"`
}

// AggregateType is Account's stable name: its storage kind and the topic of its events.
func (*Account) AggregateType() string { return "Account" }

type Credited struct {
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

func (Credited) EventName() string { return "bank.Credited" }

func newAccount(t testing.TB, id, owner string, balance int64) *Account {
	t.Helper()
	root, err := aggregate.NewRoot(id)
	require.NoError(t, err)
	return &Account{Root: root, Owner: owner, Balance: balance}
}

func (a *Account) Credit(amount int64) {
	a.Balance += amount
	a.Record(Credited{Account: a.ID(), Amount: amount})
}

// seed commits document accounts with balance 10.
func seed(t testing.TB, s *uow.Store, ids ...string) {
	t.Helper()
	require.NoError(t, uow.Do(t.Context(), s, func(ctx context.Context, u *uow.Unit) error {
		for _, id := range ids {
			if err := uow.Repo[Account, string](u).Add(ctx, newAccount(t, id, "owner-"+id, 10)); err != nil {
				return err
			}
		}
		return nil
	}, nil))
}

// begin starts a unit that is rolled back when the test ends (before its driver closes) unless
// it ended before.
func begin(t testing.TB, s *uow.Store) *uow.Unit {
	t.Helper()
	u, err := s.Begin(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = u.Rollback(context.Background()) })
	return u
}

// credit is a Do function crediting a document account.
func credit(id string, amount int64) func(context.Context, *uow.Unit) error {
	return func(ctx context.Context, u *uow.Unit) error {
		a, err := uow.Repo[Account, string](u).Get(ctx, id)
		if err != nil {
			return err
		}
		a.Credit(amount)
		return nil
	}
}

// balance reads a document account's committed balance and version.
func balance(t testing.TB, s *uow.Store, id string) (int64, int64) {
	t.Helper()
	u, err := s.Begin(t.Context())
	require.NoError(t, err)
	defer func() { require.NoError(t, u.Rollback(context.Background())) }()
	a, err := uow.Repo[Account, string](u).Get(t.Context(), id)
	require.NoError(t, err)
	return a.Balance, a.Version()
}

// backendPID returns the PostgreSQL backend process of u's connection.
func backendPID(t testing.TB, u *uow.Unit) int32 {
	t.Helper()
	tx, err := uow.TxOf[pgx.Tx](u)
	require.NoError(t, err)
	var pid int32
	require.NoError(t, tx.QueryRow(t.Context(), "SELECT pg_backend_pid()").Scan(&pid))
	return pid
}

// eventually polls cond every 20ms until it holds or d passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("condition still false")
			}
			require.FailNow(t, fmt.Sprintf("%s: not within %v: %v", what, d, err))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

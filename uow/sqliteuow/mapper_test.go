package sqliteuow_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/sqliteuow"
	"github.com/dddkit/ddd/uow/uowtest"
)

type accountID string

// account is kept in the test's own account table by accountMapper, not as a JSON document.
type account struct {
	aggregate.Root[accountID]
	Owner   string
	Balance int64
}

func (*account) AggregateType() string { return "account" }

type deposited struct {
	Amount int64 `json:"amount"`
}

func (deposited) EventName() string { return "account.deposited" }

func (a *account) Deposit(n int64) {
	a.Balance += n
	a.Record(deposited{Amount: n})
}

const accountDDL = `CREATE TABLE account (
	id      TEXT    PRIMARY KEY,
	owner   TEXT    NOT NULL,
	balance INTEGER NOT NULL,
	version INTEGER NOT NULL
)`

// accountMapper keeps accounts in the account table, with version compare-and-set. Writes and
// locking loads run in the unit's transaction (TxOf); optimistic loads read the pool.
type accountMapper struct{ d *sqliteuow.Driver }

var _ uow.Mapper[*account] = accountMapper{}

func (m accountMapper) Load(ctx context.Context, u *uow.Unit, ids []string, lock uow.Lock) ([]*account, error) {
	var q interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	} = m.d.DB()
	if lock == uow.ForUpdate {
		tx, err := uow.TxOf[*sql.Tx](u)
		if err != nil {
			return nil, err
		}
		q = tx
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx, "SELECT id, owner, balance, version FROM account WHERE id IN (?"+
		strings.Repeat(", ?", len(ids)-1)+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*account
	for rows.Next() {
		var id, owner string
		var balance, version int64
		if err := rows.Scan(&id, &owner, &balance, &version); err != nil {
			return nil, err
		}
		root, err := aggregate.RestoreRoot(accountID(id), version)
		if err != nil {
			return nil, err
		}
		out = append(out, &account{Root: root, Owner: owner, Balance: balance})
	}
	return out, rows.Err()
}

// exec runs one statement in u's transaction and returns the rows it affected.
func exec(ctx context.Context, u *uow.Unit, q string, args ...any) (int64, error) {
	tx, err := uow.TxOf[*sql.Tx](u)
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (accountMapper) Insert(ctx context.Context, u *uow.Unit, a *account) error {
	n, err := exec(ctx, u, "INSERT INTO account (id, owner, balance, version) VALUES (?, ?, ?, 1) ON CONFLICT DO NOTHING",
		a.ID(), a.Owner, a.Balance)
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: account %s", uow.ErrDuplicate, a.ID())
	}
	return err
}

func (accountMapper) Update(ctx context.Context, u *uow.Unit, a *account, expected int64) error {
	n, err := exec(ctx, u, "UPDATE account SET owner = ?, balance = ?, version = version + 1 WHERE id = ? AND version = ?",
		a.Owner, a.Balance, a.ID(), expected)
	if err == nil && n != 1 {
		err = fmt.Errorf("%w: account %s is no longer at version %d", uow.ErrConflict, a.ID(), expected)
	}
	return err
}

func (accountMapper) Delete(ctx context.Context, u *uow.Unit, a *account, expected int64) error {
	n, err := exec(ctx, u, "DELETE FROM account WHERE id = ? AND version = ?", a.ID(), expected)
	if err == nil && n != 1 {
		err = fmt.Errorf("%w: account %s is no longer at version %d", uow.ErrConflict, a.ID(), expected)
	}
	return err
}

type accountRow struct {
	Balance, Version int64
}

func accountState(t *testing.T, d *sqliteuow.Driver, id string) accountRow {
	t.Helper()
	var r accountRow
	require.NoError(t, d.DB().QueryRowContext(t.Context(), "SELECT balance, version FROM account WHERE id = ?", id).Scan(&r.Balance, &r.Version))
	return r
}

func countMessages(t *testing.T, d *sqliteuow.Driver, name string) int {
	t.Helper()
	n := 0
	for _, m := range uowtest.Messages(t, d) {
		if m.Name == name {
			n++
		}
	}
	return n
}

func TestMapper(t *testing.T) {
	d, _ := open(t, nil)
	ctx := t.Context()
	_, err := d.DB().ExecContext(ctx, accountDDL)
	require.NoError(t, err)
	m := accountMapper{d: d}
	s := uow.NewStore(d, nil)
	accounts := func(u *uow.Unit) *uow.Repository[account, accountID, *account] {
		return uow.MappedRepo[account, accountID](u, m)
	}

	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot[accountID]("alice")
		if err != nil {
			return err
		}
		return accounts(u).Add(ctx, &account{Root: root, Owner: "Alice", Balance: 100})
	}, nil))
	require.Equal(t, accountRow{100, 1}, accountState(t, d, "alice"))

	t.Run("identity map", func(t *testing.T) {
		u, err := s.Begin(ctx)
		require.NoError(t, err)
		defer u.Rollback(ctx)
		a1, err := accounts(u).Get(ctx, "alice")
		require.NoError(t, err)
		a2, err := accounts(u).Get(ctx, "alice")
		require.NoError(t, err)
		require.Same(t, a1, a2)
		a3, err := accounts(u).GetForUpdate(ctx, "alice")
		require.NoError(t, err)
		require.Same(t, a1, a3)
	})

	t.Run("duplicate", func(t *testing.T) {
		err := uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
			root, _ := aggregate.NewRoot[accountID]("alice")
			return accounts(u).Add(ctx, &account{Root: root, Owner: "Impostor"})
		}, nil)
		require.ErrorIs(t, err, uow.ErrDuplicate)
	})

	t.Run("conflict on concurrent update", func(t *testing.T) {
		before := countMessages(t, d, "account.deposited")
		a, err := s.Begin(ctx)
		require.NoError(t, err)
		defer a.Rollback(ctx)
		b, err := s.Begin(ctx)
		require.NoError(t, err)
		defer b.Rollback(ctx)
		aa, err := accounts(a).Get(ctx, "alice")
		require.NoError(t, err)
		ab, err := accounts(b).Get(ctx, "alice")
		require.NoError(t, err)
		aa.Deposit(1)
		ab.Deposit(10)
		require.NoError(t, b.Commit(ctx))
		require.ErrorIs(t, a.Commit(ctx), uow.ErrConflict)
		require.Equal(t, accountRow{110, 2}, accountState(t, d, "alice"))
		require.Equal(t, before+1, countMessages(t, d, "account.deposited"), "only the winner's event")
	})

	t.Run("account row and outbox roll back together", func(t *testing.T) {
		seed(t, s, "c")
		before := countMessages(t, d, "account.deposited")
		u, err := s.Begin(ctx)
		require.NoError(t, err)
		defer u.Rollback(ctx)
		acc, err := accounts(u).Get(ctx, "alice")
		require.NoError(t, err)
		acc.Deposit(5)
		require.NoError(t, increment("c")(ctx, u))
		require.NoError(t, uow.Do(ctx, s, increment("c"), nil)) // makes u's JSON write conflict
		// The mapped UPDATE runs in u's write transaction before the JSON write fails.
		require.ErrorIs(t, u.Commit(ctx), uow.ErrConflict)
		require.Equal(t, accountRow{110, 2}, accountState(t, d, "alice"))
		require.Equal(t, before, countMessages(t, d, "account.deposited"))
	})

	t.Run("account row and outbox commit together", func(t *testing.T) {
		before := countMessages(t, d, "account.deposited")
		require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
			acc, err := accounts(u).GetForUpdate(ctx, "alice")
			if err != nil {
				return err
			}
			acc.Deposit(7)
			return u.Emit(uow.Message{Topic: "mail", Name: "mail.receipt", Key: "alice"})
		}, nil))
		require.Equal(t, accountRow{117, 3}, accountState(t, d, "alice"))
		require.Equal(t, before+1, countMessages(t, d, "account.deposited"))
		require.Equal(t, 1, countMessages(t, d, "mail.receipt"))
	})

	t.Run("concurrent deposits through Do", func(t *testing.T) {
		start := accountState(t, d, "alice")
		var wg sync.WaitGroup
		for g := range 4 {
			lock := []uow.Lock{uow.Optimistic, uow.ForUpdate}[g%2]
			wg.Go(func() {
				for range 10 {
					require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
						get := accounts(u).Get
						if lock == uow.ForUpdate {
							get = accounts(u).GetForUpdate
						}
						acc, err := get(ctx, "alice")
						if err == nil {
							acc.Deposit(1)
						}
						return err
					}, fastRetries))
				}
			})
		}
		wg.Wait()
		require.Equal(t, accountRow{start.Balance + 40, start.Version + 40}, accountState(t, d, "alice"))
	})
}

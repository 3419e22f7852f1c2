package mysqluow_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/uowtest"
)

type accountID string

// account is kept in the test's own account table by accountTable.
type account struct {
	aggregate.Root[accountID]
	Owner   string `json:"owner"`
	Balance int64  `json:"balance"`
}

func (*account) AggregateType() string { return "account" }

type deposited struct {
	Amount int64 `json:"amount"`
}

func (deposited) EventName() string { return "test.deposited" }

func newAccount(t testing.TB, id, owner string, balance int64) *account {
	t.Helper()
	root, err := aggregate.NewRoot(accountID(id))
	require.NoError(t, err)
	return &account{Root: root, Owner: owner, Balance: balance}
}

func (a *account) Deposit(n int64) {
	a.Balance += n
	a.Record(deposited{Amount: n})
}

// accountTable is a uow.Mapper keeping accounts in the table account (id, owner, balance,
// version), through the unit's transaction.
type accountTable struct{}

var _ uow.Mapper[*account] = accountTable{}

const accountDDL = `CREATE TABLE account (
	id VARCHAR(64) NOT NULL PRIMARY KEY,
	owner VARCHAR(255) NOT NULL,
	balance BIGINT NOT NULL,
	version BIGINT NOT NULL
) ENGINE=InnoDB`

func (accountTable) Load(ctx context.Context, u *uow.Unit, ids []string, lock uow.Lock) ([]*account, error) {
	tx, err := uow.TxOf[*sql.Tx](u)
	if err != nil {
		return nil, err
	}
	q := "SELECT id, owner, balance, version FROM account WHERE id IN (?" + strings.Repeat(", ?", len(ids)-1) + ")"
	if lock == uow.ForUpdate {
		q += " FOR UPDATE"
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*account
	for rows.Next() {
		var id string
		var a account
		var version int64
		if err := rows.Scan(&id, &a.Owner, &a.Balance, &version); err != nil {
			return nil, err
		}
		if a.Root, err = aggregate.RestoreRoot(accountID(id), version); err != nil {
			return nil, err
		}
		out = append(out, &a)
	}
	return out, rows.Err()
}

func (accountTable) Insert(ctx context.Context, u *uow.Unit, a *account) error {
	tx, err := uow.TxOf[*sql.Tx](u)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO account (id, owner, balance, version) VALUES (?, ?, ?, 1)", a.ID(), a.Owner, a.Balance)
	if me := (*mysql.MySQLError)(nil); errors.As(err, &me) && me.Number == 1062 {
		return fmt.Errorf("%w: account %s: %w", uow.ErrDuplicate, a.ID(), err)
	}
	return err
}

func (accountTable) Update(ctx context.Context, u *uow.Unit, a *account, expected int64) error {
	tx, err := uow.TxOf[*sql.Tx](u)
	if err != nil {
		return err
	}
	return casResult(tx.ExecContext(ctx, "UPDATE account SET owner = ?, balance = ?, version = version + 1 WHERE id = ? AND version = ?",
		a.Owner, a.Balance, a.ID(), expected))
}

func (accountTable) Delete(ctx context.Context, u *uow.Unit, a *account, expected int64) error {
	tx, err := uow.TxOf[*sql.Tx](u)
	if err != nil {
		return err
	}
	return casResult(tx.ExecContext(ctx, "DELETE FROM account WHERE id = ? AND version = ?", a.ID(), expected))
}

func casResult(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%w: account changed meanwhile", uow.ErrConflict)
	}
	return nil
}

type accountRow struct {
	owner            string
	balance, version int64
}

func readAccount(t *testing.T, db *sql.DB, id string) accountRow {
	t.Helper()
	var r accountRow
	require.NoError(t, db.QueryRowContext(t.Context(), "SELECT owner, balance, version FROM account WHERE id = ?", id).Scan(&r.owner, &r.balance, &r.version))
	return r
}

func TestMapper(t *testing.T) {
	ctx := t.Context()
	d, db := newDriver(t, nil)
	_, err := db.ExecContext(ctx, accountDDL)
	require.NoError(t, err)
	s := uow.NewStore(d, nil)
	repo := func(u *uow.Unit) *uow.Repository[account, accountID, *account] {
		return uow.MappedRepo[account, accountID](u, accountTable{})
	}

	// Add: a row at version 1.
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		return repo(u).Add(ctx, newAccount(t, "a1", "Ann", 10))
	}, nil))
	require.Equal(t, accountRow{"Ann", 10, 1}, readAccount(t, db, "a1"))
	err = uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		return repo(u).Add(ctx, newAccount(t, "a1", "Bob", 0))
	}, nil)
	require.ErrorIs(t, err, uow.ErrDuplicate)

	// Identity map; a change writes the row with the version CAS and the event to the outbox.
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		a, err := repo(u).Get(ctx, "a1")
		if err != nil {
			return err
		}
		again, err := repo(u).GetForUpdate(ctx, "a1")
		if err != nil {
			return err
		}
		require.Same(t, a, again, "loading one ID twice gives one pointer")
		a.Deposit(5)
		return nil
	}, nil))
	require.Equal(t, accountRow{"Ann", 15, 2}, readAccount(t, db, "a1"))
	msgs := uowtest.Messages(t, d)
	require.Len(t, msgs, 1)
	require.Equal(t, "test.deposited", msgs[0].Name)
	require.Equal(t, "a1", msgs[0].Key)
	require.Equal(t, "2", msgs[0].Headers[uow.HeaderVersion])

	// Two units changing the account: the second commit conflicts, and its event is not stored.
	a, b := begin(t, s), begin(t, s)
	ra, err := repo(a).Get(ctx, "a1")
	require.NoError(t, err)
	rb, err := repo(b).Get(ctx, "a1")
	require.NoError(t, err)
	ra.Deposit(1)
	rb.Deposit(100)
	require.NoError(t, a.Commit(ctx))
	require.ErrorIs(t, b.Commit(ctx), uow.ErrConflict)
	require.Equal(t, accountRow{"Ann", 16, 3}, readAccount(t, db, "a1"))
	require.Len(t, uowtest.Messages(t, d), 2)

	// A commit that fails after the mapper wrote the row (an outbox message with an ID taken)
	// stores neither the row nor any message.
	taken := uowtest.Messages(t, d)[0].ID
	err = uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		a, err := repo(u).Get(ctx, "a1")
		if err != nil {
			return err
		}
		a.Deposit(1000)
		return u.Emit(uow.Message{ID: taken, Topic: "t", Name: "again"})
	}, nil)
	require.Error(t, err)
	require.Equal(t, accountRow{"Ann", 16, 3}, readAccount(t, db, "a1"), "the account row rolled back with the outbox")
	require.Len(t, uowtest.Messages(t, d), 2)

	// Remove: the row is deleted with the version check.
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		a, err := repo(u).Get(ctx, "a1")
		if err != nil {
			return err
		}
		return repo(u).Remove(ctx, a)
	}, nil))
	var n int
	require.NoError(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM account").Scan(&n))
	require.Zero(t, n)
}

// begin starts a unit rolled back when the test ends.
func begin(t *testing.T, s *uow.Store) *uow.Unit {
	t.Helper()
	u, err := s.Begin(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = u.Rollback(context.Background()) })
	return u
}

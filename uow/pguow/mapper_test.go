package pguow_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// accounts keeps Accounts in the test's own account table (id, owner, balance, version) through
// the unit's pgx transaction: a custom relational mapping as users write one.
type accounts struct {
	table string
	loads atomic.Int64
}

var _ uow.Mapper[*Account] = (*accounts)(nil)

func (m *accounts) Load(ctx context.Context, u *uow.Unit, ids []string, lock uow.Lock) ([]*Account, error) {
	m.loads.Add(1)
	tx, err := uow.TxOf[pgx.Tx](u)
	if err != nil {
		return nil, err
	}
	q := "SELECT id, owner, balance, version FROM " + m.table + " WHERE id = ANY($1) ORDER BY id"
	if lock == uow.ForUpdate {
		q += " FOR UPDATE"
	}
	rows, err := tx.Query(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Account, error) {
		var id, owner string
		var balance, version int64
		if err := r.Scan(&id, &owner, &balance, &version); err != nil {
			return nil, err
		}
		root, err := aggregate.RestoreRoot(id, version)
		return &Account{Root: root, Owner: owner, Balance: balance}, err
	})
}

func (m *accounts) Insert(ctx context.Context, u *uow.Unit, a *Account) error {
	tx, err := uow.TxOf[pgx.Tx](u)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "INSERT INTO "+m.table+" (id, owner, balance, version) VALUES ($1, $2, $3, 1)", a.ID(), a.Owner, a.Balance)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: account %s: %w", uow.ErrDuplicate, a.ID(), err)
	}
	return err
}

func (m *accounts) Update(ctx context.Context, u *uow.Unit, a *Account, expected int64) error {
	return m.cas(ctx, u, a, expected,
		"UPDATE "+m.table+" SET owner = $3, balance = $4, version = version + 1 WHERE id = $1 AND version = $2", a.Owner, a.Balance)
}

func (m *accounts) Delete(ctx context.Context, u *uow.Unit, a *Account, expected int64) error {
	return m.cas(ctx, u, a, expected, "DELETE FROM "+m.table+" WHERE id = $1 AND version = $2")
}

func (m *accounts) cas(ctx context.Context, u *uow.Unit, a *Account, expected int64, q string, args ...any) error {
	tx, err := uow.TxOf[pgx.Tx](u)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, q, append([]any{a.ID(), expected}, args...)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: account %s is no longer at version %d", uow.ErrConflict, a.ID(), expected)
	}
	return nil
}

// newMapped returns a migrated driver with an account table and its mapper.
func newMapped(t *testing.T) (*pguow.Driver, *uow.Store, *accounts) {
	t.Helper()
	d := newDriver(t, nil)
	m := &accounts{table: `"` + schemaOf(t, d) + `".account`}
	_, err := d.Pool().Exec(t.Context(), "CREATE TABLE "+m.table+
		" (id TEXT PRIMARY KEY, owner TEXT NOT NULL, balance BIGINT NOT NULL, version BIGINT NOT NULL)")
	require.NoError(t, err)
	return d, uow.NewStore(d, nil), m
}

type accountRow struct {
	Owner            string
	Balance, Version int64
}

func (m *accounts) row(t *testing.T, d *pguow.Driver, id string) (accountRow, bool) {
	t.Helper()
	var r accountRow
	err := d.Pool().QueryRow(t.Context(), "SELECT owner, balance, version FROM "+m.table+" WHERE id = $1", id).
		Scan(&r.Owner, &r.Balance, &r.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false
	}
	require.NoError(t, err)
	return r, true
}

func TestMapper(t *testing.T) {
	ctx := t.Context()
	d, s, m := newMapped(t)

	// Add: a row at version 1, no document.
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		return uow.MappedRepo[Account, string](u, m).Add(ctx, newAccount(t, "acc-1", "Ann", 10))
	}, nil))
	row, ok := m.row(t, d, "acc-1")
	require.True(t, ok)
	require.Equal(t, accountRow{"Ann", 10, 1}, row)
	var docs int
	require.NoError(t, d.Pool().QueryRow(ctx, `SELECT count(*) FROM "`+schemaOf(t, d)+`".ddd_aggregate`).Scan(&docs))
	require.Zero(t, docs)
	err := uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		return uow.MappedRepo[Account, string](u, &accounts{table: m.table}).Add(ctx, newAccount(t, "acc-1", "Eve", 0))
	}, nil)
	require.ErrorIs(t, err, uow.ErrDuplicate)

	// Identity map: one load, one pointer; unchanged, so not written.
	m.loads.Store(0)
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		r := uow.MappedRepo[Account, string](u, m)
		a1, err := r.Get(ctx, "acc-1")
		require.NoError(t, err)
		a2, err := r.GetForUpdate(ctx, "acc-1")
		require.NoError(t, err)
		require.Same(t, a1, a2)
		return nil
	}, nil))
	require.Equal(t, int64(2), m.loads.Load(), "Get, then GetForUpdate taking the lock")
	row, _ = m.row(t, d, "acc-1")
	require.Equal(t, int64(1), row.Version)

	// Update: the row at version 2 and the event in the outbox, in one transaction.
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		a, err := uow.MappedRepo[Account, string](u, m).Get(ctx, "acc-1")
		if err != nil {
			return err
		}
		a.Credit(5)
		return nil
	}, nil))
	row, _ = m.row(t, d, "acc-1")
	require.Equal(t, accountRow{"Ann", 15, 2}, row)
	msgs := uowtest.Messages(t, d)
	require.Len(t, msgs, 1)
	require.Equal(t, "bank.Credited", msgs[0].Name)
	require.Equal(t, "acc-1", msgs[0].Key)
	require.Equal(t, "2", msgs[0].Headers[uow.HeaderVersion])
	require.JSONEq(t, `{"account":"acc-1","amount":5}`, string(msgs[0].Payload))
}

func TestMapperConflict(t *testing.T) {
	ctx := t.Context()
	d, s, m := newMapped(t)
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		return uow.MappedRepo[Account, string](u, m).Add(ctx, newAccount(t, "acc-1", "Ann", 10))
	}, nil))

	// Two units change one account: the second to commit conflicts, and neither its row
	// change nor its event is stored.
	u1 := begin(t, s)
	u2 := begin(t, s)
	a1, err := uow.MappedRepo[Account, string](u1, m).Get(ctx, "acc-1")
	require.NoError(t, err)
	a2, err := uow.MappedRepo[Account, string](u2, m).Get(ctx, "acc-1")
	require.NoError(t, err)
	a1.Credit(1)
	a2.Credit(100)
	require.NoError(t, u1.Commit(ctx))
	require.ErrorIs(t, u2.Commit(ctx), uow.ErrConflict)
	row, _ := m.row(t, d, "acc-1")
	require.Equal(t, accountRow{"Ann", 11, 2}, row)
	require.Len(t, uowtest.Messages(t, d), 1)

	// Do retries such conflicts: concurrent credits lose nothing.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				assertNoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
					a, err := uow.MappedRepo[Account, string](u, m).Get(ctx, "acc-1")
					if err != nil {
						return err
					}
					a.Credit(1)
					return nil
				}, &uow.DoOptions{MaxAttempts: 100}))
			}
		})
	}
	wg.Wait()
	row, _ = m.row(t, d, "acc-1")
	require.Equal(t, accountRow{"Ann", 31, 22}, row)
	require.Len(t, uowtest.Messages(t, d), 21)
}

func TestMapperAtomicity(t *testing.T) {
	ctx := t.Context()
	d, s, m := newMapped(t)
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		if err := uow.MappedRepo[Account, string](u, m).Add(ctx, newAccount(t, "acc-1", "Ann", 10)); err != nil {
			return err
		}
		return uow.Repo[Account, string](u).Add(ctx, newAccount(t, "doc-1", "Doc", 0))
	}, nil))
	before := len(uowtest.Messages(t, d))

	// The account row is written (by the mapper, during Commit) but a document insert of the
	// same commit fails: the row change rolls back with it, and no message is stored.
	u := begin(t, s)
	a, err := uow.MappedRepo[Account, string](u, m).Get(ctx, "acc-1")
	require.NoError(t, err)
	a.Credit(5)
	require.NoError(t, u.Emit(uow.Message{Topic: "t", Name: "n"}))
	require.NoError(t, uow.Repo[Account, string](u).Add(ctx, newAccount(t, "doc-2", "Doc", 0)))
	// Meanwhile another transaction adds doc-2.
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		return uow.Repo[Account, string](u).Add(ctx, newAccount(t, "doc-2", "Other", 0))
	}, nil))
	require.ErrorIs(t, u.Commit(ctx), uow.ErrDuplicate)
	row, _ := m.row(t, d, "acc-1")
	require.Equal(t, accountRow{"Ann", 10, 1}, row, "the mapped row rolled back with the failed commit")
	require.Len(t, uowtest.Messages(t, d), before)

	// The mapper's update conflicts: the document changes and messages of the unit are not
	// stored either.
	u = begin(t, s)
	a, err = uow.MappedRepo[Account, string](u, m).Get(ctx, "acc-1")
	require.NoError(t, err)
	a.Credit(5)
	doc, err := uow.Repo[Account, string](u).Get(ctx, "doc-1")
	require.NoError(t, err)
	doc.Credit(7)
	_, err = d.Pool().Exec(ctx, "UPDATE "+m.table+" SET version = version + 1 WHERE id = 'acc-1'")
	require.NoError(t, err)
	require.ErrorIs(t, u.Commit(ctx), uow.ErrConflict)
	b, v := balance(t, s, "doc-1")
	require.Equal(t, [2]int64{0, 1}, [2]int64{b, v})
	require.Len(t, uowtest.Messages(t, d), before)

	// Rollback discards the mapped row change too.
	u = begin(t, s)
	_, err = uow.MappedRepo[Account, string](u, m).GetForUpdate(ctx, "acc-1")
	require.NoError(t, err)
	tx, err := uow.TxOf[pgx.Tx](u)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "UPDATE "+m.table+" SET balance = 0 WHERE id = 'acc-1'")
	require.NoError(t, err)
	require.NoError(t, u.Rollback(ctx))
	row, _ = m.row(t, d, "acc-1")
	require.Equal(t, int64(10), row.Balance)
}

// assertNoError reports err from any goroutine without stopping it.
func assertNoError(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}

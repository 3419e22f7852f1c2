package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// The bank's repositories: each takes its aggregate's own ID type.
type (
	accountRepo  = uow.Repository[Account, AccountNumber, *Account]
	transferRepo = uow.Repository[Transfer, TransferID, *Transfer]
	depositRepo  = uow.Repository[Deposit, DepositID, *Deposit]
)

// storage keeps the bank's aggregates on one kind of store: the account, transfer and deposit
// tables on the SQL drivers, JSON documents on any other (memuow).
type storage interface {
	accounts(u *uow.Unit) *accountRepo
	transfers(u *uow.Unit) *transferRepo
	deposits(u *uow.Unit) *depositRepo
	// apply adds each change's delta to its account's stored balance, and its size to the
	// account's credits or debits, in the unit's transaction, atomically and without reading
	// the balance first where the store can (the eventual strategy), and returns the balances
	// they left, in the order of changes. It takes the accounts in number order, so two units
	// applying overlapping changes cannot deadlock. A missing account is an error wrapping
	// ErrUnknownAccount; a change that would leave a balance beyond the largest the bank keeps
	// one wrapping ErrInvalidInput, and nothing is changed.
	apply(ctx context.Context, u *uow.Unit, changes []Change) ([]money.Money, error)
	// queries is the read side.
	queries
}

// storageFor returns the storage of the bank on d: tables on the SQL drivers, documents on others.
func storageFor(s *uow.Store) storage {
	switch d := s.Driver().(type) {
	case *sqliteuow.Driver:
		return newTables(dialectSQLite, "", newSQLPool(d.DB(), sqliteuow.Classify), sqliteTx)
	case *pguow.Driver:
		return newTables(dialectPostgres, d.Schema(), newPgxPool(d.Pool()), pgTx)
	case *mysqluow.Driver:
		return newTables(dialectMySQL, "", newSQLPool(d.DB(), mysqluow.Classify), mysqlTx)
	default:
		return documents{store: s}
	}
}

// documents keeps every aggregate as a JSON document through uow.Repo: any driver, no SQL.
type documents struct{ store *uow.Store }

func (documents) accounts(u *uow.Unit) *accountRepo   { return uow.Repo[Account, AccountNumber](u) }
func (documents) transfers(u *uow.Unit) *transferRepo { return uow.Repo[Transfer, TransferID](u) }
func (documents) deposits(u *uow.Unit) *depositRepo   { return uow.Repo[Deposit, DepositID](u) }

// apply changes the accounts' documents. A document store has no "add to a column": the
// balances are read and written back under the version compare-and-set, so a concurrent change
// makes the unit retry (on documents the eventual strategy behaves like the optimistic one).
func (s documents) apply(ctx context.Context, u *uow.Unit, changes []Change) ([]money.Money, error) {
	repo := s.accounts(u)
	if _, err := loadAccounts(ctx, repo, changes[0].Account, changes[1].Account); err != nil {
		return nil, err
	}
	moved := make([]LedgerLine, len(changes))
	accs := make([]*Account, len(changes))
	for i, c := range changes { // every change checked before any is made
		a, err := repo.Get(ctx, c.Account)
		if err != nil {
			return nil, err
		}
		if moved[i], err = a.moved(c.Delta); err != nil {
			return nil, err
		}
		accs[i] = a
	}
	out := make([]money.Money, len(changes))
	for i, a := range accs {
		a.set(moved[i])
		out[i] = moved[i].Balance
	}
	return out, nil
}

// loadAccounts loads two accounts in number order (so units write them in that order) and
// returns them in the order asked; a missing one wraps ErrUnknownAccount.
func loadAccounts(ctx context.Context, repo *accountRepo, a, b AccountNumber) ([2]*Account, error) {
	ids := []AccountNumber{a, b}
	slices.Sort(ids)
	got, err := repo.GetMany(ctx, ids...)
	if errors.Is(err, uow.ErrNotFound) {
		for _, id := range ids { // name the missing one
			if _, err := repo.Get(ctx, id); err != nil {
				return [2]*Account{}, unknownAccount(id, err)
			}
		}
	}
	if err != nil {
		return [2]*Account{}, err
	}
	if a != ids[0] {
		got[0], got[1] = got[1], got[0]
	}
	return [2]*Account{got[0], got[1]}, nil
}

// unknownAccount turns a repository's not-found error for account n into the business error.
func unknownAccount(n AccountNumber, err error) error {
	if errors.Is(err, uow.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrUnknownAccount, n)
	}
	return err
}

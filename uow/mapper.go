package uow

import (
	"context"

	"github.com/dddkit/ddd/aggregate"
)

// Mapper keeps aggregates of type T in tables of the user's own (an account table, a transfer
// table) instead of JSON documents, while the unit keeps the identity map, version
// compare-and-set and outbox atomicity. Its methods run in the unit's transaction: they reach it
// with [TxOf] (a *sql.Tx, a pgx.Tx, per driver). The unit calls Load when a repository
// method needs aggregates it does not track, and Insert, Update and Delete during Commit, before
// the outbox and inbox are written in the same transaction.
//
// A mapped aggregate counts as changed when it recorded events since it was loaded: domain
// methods record an event for every state change. A Mapper must be safe for concurrent use.
type Mapper[T aggregate.Aggregate] interface {
	// Load returns the stored aggregates with the given IDs, each rebuilt with
	// aggregate.RestoreRoot at its stored version; missing IDs are left out. With ForUpdate
	// the rows stay locked until the transaction ends (SELECT ... FOR UPDATE).
	Load(ctx context.Context, u *Unit, ids []string, lock Lock) ([]T, error)
	// Insert stores a new aggregate at version 1. An existing ID is an error wrapping
	// ErrDuplicate, which the unit reports as a conflict (the repository found the ID free
	// before, so another unit inserted it since) and Do retries. Keep ErrDuplicate for the ID:
	// a violation of another unique key of your table is an error of its own (a business rule
	// error, say), or every retry would meet it again.
	Insert(ctx context.Context, u *Unit, a T) error
	// Update stores a at version expected+1 if its row is still at version expected
	// (UPDATE ... SET version = version + 1 WHERE id = ? AND version = ?); a row at another
	// version, or none, is an error wrapping ErrConflict.
	Update(ctx context.Context, u *Unit, a T, expected int64) error
	// Delete removes a's row if it is still at version expected, else an error wrapping
	// ErrConflict.
	Delete(ctx context.Context, u *Unit, a T, expected int64) error
}

// MappedRepo returns the repository of A (used as *A) with IDs of type K in unit u, stored
// through m:
//
//	accounts := uow.MappedRepo[Account, AccountID](u, accountTables)
//
// Its Find and FindFunc return ErrUnsupported: query the mapped tables through [TxOf].
func MappedRepo[A any, K ~string, T Aggregate[A, K]](u *Unit, m Mapper[T]) *Repository[A, K, T] {
	r := Repo[A, K, T](u)
	r.mapper = m
	return r
}

// mappedOps are a Mapper's write methods without its type parameter, for the unit's commit.
type mappedOps struct {
	insert func(context.Context, *Unit, aggregate.Aggregate) error
	update func(context.Context, *Unit, aggregate.Aggregate, int64) error
	delete func(context.Context, *Unit, aggregate.Aggregate, int64) error
}

func mappedOpsOf[T aggregate.Aggregate](m Mapper[T]) *mappedOps {
	return &mappedOps{
		insert: func(ctx context.Context, u *Unit, a aggregate.Aggregate) error { return m.Insert(ctx, u, a.(T)) },
		update: func(ctx context.Context, u *Unit, a aggregate.Aggregate, v int64) error {
			return m.Update(ctx, u, a.(T), v)
		},
		delete: func(ctx context.Context, u *Unit, a aggregate.Aggregate, v int64) error {
			return m.Delete(ctx, u, a.(T), v)
		},
	}
}

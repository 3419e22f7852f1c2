package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
)

type accountID string

// account is the benchmark's aggregate, stored as a JSON document by both implementations.
type account struct {
	aggregate.Root[accountID]
	Owner   string `json:"owner"`
	Balance int64  `json:"balance"`
}

func (*account) AggregateType() string { return "account" }

// transferred is the one event of a transfer, recorded on the debited account.
type transferred struct {
	From   accountID `json:"from"`
	To     accountID `json:"to"`
	Amount int64     `json:"amount"`
}

func (transferred) EventName() string { return "bench.Transferred" }

func idOf(i int) string { return fmt.Sprintf("acc-%06d", i) }

// seed adds rows accounts through the library.
func seed(ctx context.Context, store *uow.Store, rows int) error {
	const batch = 500
	for start := 0; start < rows; start += batch {
		err := uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
			for i := start; i < min(start+batch, rows); i++ {
				root, err := aggregate.NewRoot(accountID(idOf(i)))
				if err != nil {
					return err
				}
				if err := uow.Repo[account, accountID](u).Add(ctx, &account{Root: root, Owner: "owner", Balance: 1_000_000}); err != nil {
					return err
				}
			}
			return nil
		}, nil)
		if err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
	}
	return nil
}

// libraryTransfer is the library's transfer: a Do loading both accounts in one read.
func libraryTransfer(store *uow.Store) func(ctx context.Context, from, to int, amount int64) error {
	opts := &uow.DoOptions{MaxAttempts: 100, MinBackoff: 100 * time.Microsecond, MaxBackoff: 5 * time.Millisecond}
	return func(ctx context.Context, from, to int, amount int64) error {
		return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
			accs, err := uow.Repo[account, accountID](u).GetMany(ctx, accountID(idOf(from)), accountID(idOf(to)))
			if err != nil {
				return err
			}
			src, dst := accs[0], accs[1]
			src.Balance -= amount
			dst.Balance += amount
			src.Record(transferred{From: src.ID(), To: dst.ID(), Amount: amount})
			return nil
		}, opts)
	}
}

// handRow is a row the hand-written transfers read and write.
type handRow struct {
	id      string
	version int64
	doc     account
}

// rowScanner is what pgx.Rows and *sql.Rows have in common.
type rowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// readHandRows decodes the (id, version, data) rows of a hand-written select.
func readHandRows(rs rowScanner) ([]handRow, error) {
	var read []handRow
	for rs.Next() {
		var r handRow
		var data []byte
		if err := rs.Scan(&r.id, &r.version, &data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &r.doc); err != nil {
			return nil, err
		}
		read = append(read, r)
	}
	return read, rs.Err()
}

// handChange applies the transfer to the two rows read (in any order) and returns the new
// documents and the outbox message, as the library would write them.
func handChange(rows []handRow, from, to int, amount int64, now time.Time) (src, dst handRow, data [2][]byte, msg uow.Message, err error) {
	if len(rows) != 2 {
		return src, dst, data, msg, fmt.Errorf("read %d accounts, want 2", len(rows))
	}
	src, dst = rows[0], rows[1]
	if src.id != idOf(from) {
		src, dst = dst, src
	}
	src.doc.Balance -= amount
	dst.doc.Balance += amount
	if data[0], err = json.Marshal(&src.doc); err != nil {
		return
	}
	if data[1], err = json.Marshal(&dst.doc); err != nil {
		return
	}
	payload, err := json.Marshal(transferred{From: accountID(src.id), To: accountID(dst.id), Amount: amount})
	if err != nil {
		return
	}
	msg = uow.Message{
		ID: uuid.Must(uuid.NewV7()).String(), Topic: "account", Key: src.id, Name: "bench.Transferred",
		Payload: payload, CreatedAt: now,
		Headers: map[string]string{
			uow.HeaderAggregateType: "account", uow.HeaderAggregateID: src.id,
			uow.HeaderVersion: fmt.Sprint(src.version + 1),
		},
	}
	return src, dst, data, msg, nil
}

// errRetry marks a hand-written attempt that lost a version race.
var errRetry = fmt.Errorf("version moved: %w", uow.ErrConflict)

// retry runs attempt until it does not lose a race, like Do.
func retry(ctx context.Context, attempt func(context.Context) error) error {
	for range 100 {
		err := attempt(ctx)
		if err != errRetry {
			return err
		}
	}
	return fmt.Errorf("gave up: %w", errRetry)
}

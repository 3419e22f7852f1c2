package uow_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// recordingDriver is memuow with every commit's Changes recorded, and the mapper calls logged in
// the same log, so a test sees the order of everything a commit writes.
type recordingDriver struct {
	*memuow.Driver
	d   *memuow.Driver
	log *[]string
}

func (r recordingDriver) Begin(ctx context.Context) (driver.Tx, error) {
	tx, err := r.d.Begin(ctx)
	return recordingTx{Tx: tx, log: r.log}, err
}

type recordingTx struct {
	driver.Tx
	log *[]string
}

func (r recordingTx) Processed(ctx context.Context, consumer, messageID string) (bool, error) {
	return r.Tx.(driver.InboxReader).Processed(ctx, consumer, messageID)
}

func (r recordingTx) Commit(ctx context.Context, c *driver.Changes) error {
	for _, w := range c.Writes {
		*r.log = append(*r.log, fmt.Sprintf("doc %d %s %s", w.Op, w.Record.Kind, w.Record.ID))
	}
	for _, m := range c.Messages {
		*r.log = append(*r.log, "message "+m.Key+" "+m.Name)
	}
	for _, m := range c.Inbox {
		*r.log = append(*r.log, "mark "+m.Consumer+" "+m.MessageID)
	}
	return r.Tx.Commit(ctx, c)
}

// Ledger is a second kind of document aggregate: its kind sorts after Account's.
type Ledger struct {
	aggregate.Root[string]
	Entries int `json:"entries"`
}

// AggregateType is Ledger's stable name: its storage kind and the topic of its events.
func (*Ledger) AggregateType() string { return "Ledger" }

type Noted struct {
	N int `json:"n"`
}

func (Noted) EventName() string { return "ledger.Noted" }

func (l *Ledger) Note() {
	l.Entries++
	l.Record(Noted{N: l.Entries})
}

// TestCommitWritesInOneGlobalOrder: whatever order a unit loads and adds its aggregates in, the
// commit writes the mapped ones first, then the documents, each by kind and then ID, so that
// two units writing the same rows lock them in the same order; the messages keep the order the
// unit tracked the aggregates in, and the inbox marks are sorted.
func TestCommitWritesInOneGlobalOrder(t *testing.T) {
	ctx := context.Background()
	var log []string
	mem := memuow.New(nil)
	s := uow.NewStore(recordingDriver{Driver: mem, d: mem, log: &log}, nil)
	table := &accountTable{rows: map[string]accountRow{}}
	table.trace = &log

	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		for _, id := range []string{"c", "a", "b"} {
			l, err := aggregate.NewRoot(id)
			if err != nil {
				return err
			}
			if err := uow.Repo[Ledger, string](u).Add(ctx, &Ledger{Root: l}); err != nil {
				return err
			}
			acc, err := OpenAccount(AccountID(id), id, 10)
			if err != nil {
				return err
			}
			if err := uow.Repo[Account, AccountID](u).Add(ctx, acc); err != nil {
				return err
			}
			mapped, err := OpenAccount(AccountID("m-"+id), id, 10)
			if err != nil {
				return err
			}
			if err := uow.MappedRepo[Account, AccountID](u, table).Add(ctx, mapped); err != nil {
				return err
			}
		}
		return nil
	}, nil))

	log = nil
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		for _, id := range []string{"b", "c", "a"} { // tracked in this order
			l, err := uow.Repo[Ledger, string](u).Get(ctx, id)
			if err != nil {
				return err
			}
			l.Note()
			acc, err := uow.Repo[Account, AccountID](u).Get(ctx, AccountID(id))
			if err != nil {
				return err
			}
			acc.Credit(1)
			mapped, err := uow.MappedRepo[Account, AccountID](u, table).Get(ctx, AccountID("m-"+id))
			if err != nil {
				return err
			}
			mapped.Credit(1)
		}
		for _, m := range []string{"z", "y"} {
			if _, err := u.MarkProcessed(ctx, "consumer", m); err != nil {
				return err
			}
		}
		return nil
	}, nil))
	writes := slices.DeleteFunc(log, func(l string) bool { return strings.HasPrefix(l, "mapped load") })
	assert.Equal(t, []string{
		"mapped update m-a expected=1", "mapped update m-b expected=1", "mapped update m-c expected=1",
		"doc 2 Account a", "doc 2 Account b", "doc 2 Account c",
		"doc 2 Ledger a", "doc 2 Ledger b", "doc 2 Ledger c",
		"message b ledger.Noted", "message b bank.Credited", "message m-b bank.Credited",
		"message c ledger.Noted", "message c bank.Credited", "message m-c bank.Credited",
		"message a ledger.Noted", "message a bank.Credited", "message m-a bank.Credited",
		"mark consumer y", "mark consumer z",
	}, writes)
}

// getOrAdd returns the account id, adding it with the given owner when it does not exist.
func getOrAdd(ctx context.Context, repo *uow.Repository[Account, AccountID, *Account], id AccountID, owner string) (*Account, error) {
	return repo.GetOrAdd(ctx, id, func(id AccountID) (*Account, error) { return OpenAccount(id, owner, 0) })
}

// TestConcurrentFirstAddIsAConflict: two units that both find an ID free and add it race; the
// one that commits second gets a conflict (wrapping ErrDuplicate too), which Do retries, so
// GetOrAdd converges on the one aggregate, with every racer's change applied, instead of
// failing. Add of an ID the unit itself finds stored stays ErrDuplicate, not retried. On
// documents and through a Mapper.
func TestConcurrentFirstAddIsAConflict(t *testing.T) {
	ctx := context.Background()
	for _, repoOf := range []struct {
		name string
		repo func(u *uow.Unit, table *accountTable) *uow.Repository[Account, AccountID, *Account]
	}{
		{"documents", func(u *uow.Unit, _ *accountTable) *uow.Repository[Account, AccountID, *Account] {
			return uow.Repo[Account, AccountID](u)
		}},
		{"mapped", func(u *uow.Unit, table *accountTable) *uow.Repository[Account, AccountID, *Account] {
			return uow.MappedRepo[Account, AccountID](u, table)
		}},
	} {
		t.Run(repoOf.name, func(t *testing.T) {
			s := uow.NewStore(memuow.New(nil), nil)
			table := &accountTable{rows: map[string]accountRow{}}

			// Two units both see "new" missing, then both add it: the second commit lost.
			a, b := begin(t, s), begin(t, s)
			for i, u := range []*uow.Unit{a, b} {
				_, err := getOrAdd(ctx, repoOf.repo(u, table), "new", fmt.Sprint("owner", i))
				require.NoError(t, err)
			}
			require.NoError(t, a.Commit(ctx))
			err := b.Commit(ctx)
			require.ErrorIs(t, err, uow.ErrConflict, "a lost race is a conflict")
			require.ErrorIs(t, err, uow.ErrDuplicate, "and says what it lost")

			// Through Do, every racer converges on the one aggregate and credits it.
			var wg sync.WaitGroup
			owners := make([]string, 8)
			errs := make([]error, 8)
			for i := range owners {
				wg.Go(func() {
					errs[i] = uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
						acc, err := getOrAdd(ctx, repoOf.repo(u, table), "racy", fmt.Sprint("owner", i))
						if err == nil {
							owners[i] = acc.Owner
							acc.Credit(1)
						}
						return err
					}, &uow.DoOptions{MaxAttempts: 100, MinBackoff: time.Microsecond, MaxBackoff: time.Millisecond})
				})
			}
			wg.Wait()
			for i := range owners {
				require.NoError(t, errs[i], "racer %d", i)
			}
			u := begin(t, s)
			racy, err := repoOf.repo(u, table).Get(ctx, "racy")
			require.NoError(t, err)
			require.Contains(t, owners, racy.Owner)
			for i := range owners {
				require.Equal(t, racy.Owner, owners[i], "racer %d got the one aggregate", i)
			}
			require.Equal(t, int64(len(owners)), racy.Balance, "every racer's credit is applied")
			require.Equal(t, int64(len(owners)), racy.Version(), "one insert, then one update per other racer")
			require.NoError(t, u.Rollback(ctx))

			// Add of an ID the unit finds stored is a duplicate, and Do does not retry it.
			attempts := 0
			err = uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
				attempts++
				acc, err := OpenAccount("racy", "late", 0)
				if err != nil {
					return err
				}
				return repoOf.repo(u, table).Add(ctx, acc)
			}, nil)
			require.ErrorIs(t, err, uow.ErrDuplicate)
			require.NotErrorIs(t, err, uow.ErrConflict)
			require.Equal(t, 1, attempts)
		})
	}
}

package memuow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

type counter struct {
	N int `json:"n"`
}

// increment adds one to counter c in one transaction, emitting a message with the new version.
func increment(ctx context.Context, d *memuow.Driver, lock uow.Lock, keyed bool) error {
	tx, err := d.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if keyed {
		if err := tx.(driver.KeyLocker).LockKeys(ctx, []string{"counter"}); err != nil {
			return err
		}
	}
	recs, err := tx.Load(ctx, "counter", []string{"c"}, lock)
	if err != nil {
		return err
	}
	if len(recs) != 1 {
		return errors.New("counter not found")
	}
	var v counter
	if err := json.Unmarshal(recs[0].Data, &v); err != nil {
		return err
	}
	v.N++
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	r := recs[0]
	r.Data = data
	m := uow.Message{ID: strconv.FormatInt(r.Version+1, 10), Name: "incremented"}
	return tx.Commit(ctx, &driver.Changes{Writes: []driver.Write{{Op: driver.Update, Record: r}}, Messages: []uow.Message{m}})
}

func TestConcurrentIncrements(t *testing.T) {
	const goroutines, increments = 8, 100
	tests := []struct {
		name          string
		lock          uow.Lock
		keyed         bool
		wantConflicts bool
	}{
		{"optimistic with retries", uow.Optimistic, false, true},
		{"for update", uow.ForUpdate, false, false},
		{"keyed lock", uow.Optimistic, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			d := memuow.New(nil)
			require.NoError(t, commit(t, d, writes(ins("counter", "c", `{"n":0}`))))

			var conflicts atomic.Int64
			errs := make(chan error, goroutines)
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					for range increments {
						for {
							err := increment(ctx, d, tc.lock, tc.keyed)
							if errors.Is(err, uow.ErrConflict) {
								conflicts.Add(1)
								continue
							}
							if err != nil {
								errs <- err
								return
							}
							break
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}

			r, ok := d.Get("counter", "c")
			require.True(t, ok)
			require.Equal(t, int64(1+goroutines*increments), r.Version)
			require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, goroutines*increments), string(r.Data))
			msgs := d.Messages()
			require.Len(t, msgs, goroutines*increments)
			for i, m := range msgs {
				require.Equal(t, strconv.Itoa(i+2), m.ID, "messages in commit order")
			}
			if !tc.wantConflicts {
				require.Zero(t, conflicts.Load())
			}
			t.Logf("%d conflicts retried", conflicts.Load())
		})
	}
}

// TestConcurrentMixedLoad runs inserts, updates, finds and purges at once, for the race detector.
func TestConcurrentMixedLoad(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("%d-%d", g, i)
				tx, _ := d.Begin(ctx)
				if err := tx.Commit(ctx, &driver.Changes{
					Writes:   []driver.Write{ins("k", id, `{"g":`+strconv.Itoa(g)+`}`)},
					Messages: []uow.Message{msg(id)},
					Inbox:    []driver.InboxMark{mark("c", id)},
				}); err != nil {
					panic(err)
				}
				tx, _ = d.Begin(ctx)
				_, _ = tx.(driver.Querier).Find(ctx, "k", []uow.Field{{Name: "g", Value: g}})
				_, _ = tx.Load(ctx, "k", []string{id}, uow.ForUpdate)
				_ = tx.Commit(ctx, writes(upd("k", id, 1, `{}`)))
				_ = d.Messages()
				_, _ = d.PurgeInbox(ctx, mark("", "").At)
			}
		})
	}
	wg.Wait()
	require.Equal(t, 400, d.Count("k"))
	require.Len(t, d.Messages(), 400)
	require.Equal(t, 400, d.InboxLen())
}

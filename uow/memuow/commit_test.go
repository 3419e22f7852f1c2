package memuow_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

func TestCommit(t *testing.T) {
	seed := &driver.Changes{
		Writes: []driver.Write{ins("account", "a", `{"n":1}`), ins("account", "b", `{"n":2}`), upd("account", "b", 1, `{"n":3}`)},
		Inbox:  []driver.InboxMark{mark("c", "m0")},
	}
	seeded := map[string]driver.Record{
		"account/a": rec("account", "a", 1, `{"n":1}`),
		"account/b": rec("account", "b", 2, `{"n":3}`),
	}
	tests := []struct {
		name      string
		changes   *driver.Changes
		wantErr   error
		errText   string                   // the error names the record or mark
		want      map[string]driver.Record // committed records of kinds account and order, ids a to c
		wantMsgs  int
		wantMarks int
	}{
		{name: "insert stores version 1", changes: writes(ins("account", "c", `{"n":9}`)),
			want: with(seeded, rec("account", "c", 1, `{"n":9}`))},
		{name: "insert ignores the given version", changes: writes(driver.Write{Op: driver.Insert, Record: rec("account", "c", 7, `{}`)}),
			want: with(seeded, rec("account", "c", 1, `{}`))},
		{name: "same ID, other kind", changes: writes(ins("order", "a", `{}`)),
			want: with(seeded, rec("order", "a", 1, `{}`))},
		{name: "insert of an existing record", changes: writes(ins("account", "a", `{}`)),
			wantErr: uow.ErrDuplicate, errText: `account "a"`, want: seeded},
		{name: "update at the stored version", changes: writes(upd("account", "b", 2, `{"n":4}`)),
			want: with(seeded, rec("account", "b", 3, `{"n":4}`))},
		{name: "update at an older version", changes: writes(upd("account", "b", 1, `{"n":4}`)),
			wantErr: uow.ErrConflict, errText: `account "b"`, want: seeded},
		{name: "update at a newer version", changes: writes(upd("account", "b", 3, `{"n":4}`)),
			wantErr: uow.ErrConflict, errText: `account "b"`, want: seeded},
		{name: "update of a missing record", changes: writes(upd("account", "c", 1, `{}`)),
			wantErr: uow.ErrConflict, errText: `account "c"`, want: seeded},
		{name: "delete at the stored version", changes: writes(del("account", "b", 2)),
			want: without(seeded, "account/b")},
		{name: "delete at another version", changes: writes(del("account", "b", 1)),
			wantErr: uow.ErrConflict, errText: `account "b"`, want: seeded},
		{name: "delete of a missing record", changes: writes(del("order", "a", 1)),
			wantErr: uow.ErrConflict, errText: `order "a"`, want: seeded},
		{name: "writes run in order: insert then update", changes: writes(ins("account", "c", `{"n":1}`), upd("account", "c", 1, `{"n":2}`)),
			want: with(seeded, rec("account", "c", 2, `{"n":2}`))},
		{name: "writes run in order: delete then insert", changes: writes(del("account", "a", 1), ins("account", "a", `{"new":true}`)),
			want: with(seeded, rec("account", "a", 1, `{"new":true}`))},
		{name: "writes run in order: update twice at one version", changes: writes(upd("account", "a", 1, `{}`), upd("account", "a", 1, `{}`)),
			wantErr: uow.ErrConflict, errText: `account "a"`, want: seeded},
		{name: "unknown op", changes: writes(driver.Write{Op: 42, Record: rec("account", "c", 0, `{}`)}),
			wantErr: uow.ErrInvalid, errText: `account "c"`, want: seeded},
		{name: "messages and marks", changes: &driver.Changes{Messages: []uow.Message{msg("1"), msg("2")}, Inbox: []driver.InboxMark{mark("c", "m1"), mark("d", "m0")}},
			want: seeded, wantMsgs: 2, wantMarks: 2},
		{name: "existing inbox mark", changes: &driver.Changes{Inbox: []driver.InboxMark{mark("c", "m0")}},
			wantErr: uow.ErrConflict, errText: `"m0"`, want: seeded},
		{name: "inbox mark twice in one commit", changes: &driver.Changes{Inbox: []driver.InboxMark{mark("c", "m1"), mark("c", "m1")}},
			wantErr: uow.ErrConflict, errText: `"m1"`, want: seeded},
		{name: "nil changes", changes: nil, want: seeded},
		{name: "atomic: a bad last write stores nothing", changes: &driver.Changes{
			Writes:   []driver.Write{ins("account", "c", `{}`), upd("account", "a", 1, `{"n":5}`), del("account", "b", 2), upd("account", "a", 1, `{}`)},
			Messages: []uow.Message{msg("1")},
			Inbox:    []driver.InboxMark{mark("c", "m1")},
		}, wantErr: uow.ErrConflict, want: seeded},
		{name: "atomic: a bad first write stores nothing", changes: &driver.Changes{
			Writes:   []driver.Write{ins("account", "a", `{}`), ins("account", "c", `{}`)},
			Messages: []uow.Message{msg("1")},
			Inbox:    []driver.InboxMark{mark("c", "m1")},
		}, wantErr: uow.ErrDuplicate, want: seeded},
		{name: "atomic: a bad mark stores nothing", changes: &driver.Changes{
			Writes:   []driver.Write{ins("account", "c", `{}`)},
			Messages: []uow.Message{msg("1")},
			Inbox:    []driver.InboxMark{mark("c", "m1"), mark("c", "m0")},
		}, wantErr: uow.ErrConflict, want: seeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := memuow.New(nil)
			require.NoError(t, commit(t, d, seed))

			err := commit(t, d, tc.changes)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorContains(t, err, tc.errText)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, snapshot(d))
			require.Len(t, d.Messages(), tc.wantMsgs)
			require.Equal(t, 1+tc.wantMarks, d.InboxLen())
		})
	}
}

// snapshot returns the committed records of kinds account and order with IDs a to c, keyed by
// kind/id.
func snapshot(d *memuow.Driver) map[string]driver.Record {
	out := map[string]driver.Record{}
	for _, kind := range []string{"account", "order"} {
		n := 0
		for _, id := range []string{"a", "b", "c"} {
			if r, ok := d.Get(kind, id); ok {
				out[kind+"/"+id] = r
				n++
			}
		}
		if n != d.Count(kind) {
			panic("records outside the snapshot")
		}
	}
	return out
}

func with(m map[string]driver.Record, rs ...driver.Record) map[string]driver.Record {
	out := map[string]driver.Record{}
	for k, v := range m {
		out[k] = v
	}
	for _, r := range rs {
		out[r.Kind+"/"+r.ID] = r
	}
	return out
}

func without(m map[string]driver.Record, keys ...string) map[string]driver.Record {
	out := with(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func TestCommitMessagesInOrder(t *testing.T) {
	d := memuow.New(nil)
	require.NoError(t, commit(t, d, &driver.Changes{Messages: []uow.Message{msg("1"), msg("2")}}))
	require.NoError(t, commit(t, d, &driver.Changes{Messages: []uow.Message{msg("3")}}))
	require.Error(t, commit(t, d, &driver.Changes{Messages: []uow.Message{msg("x")}, Writes: []driver.Write{del("account", "a", 1)}}))
	require.NoError(t, commit(t, d, &driver.Changes{Messages: []uow.Message{msg("4"), msg("5")}}))

	var ids []string
	for _, m := range d.Messages() {
		ids = append(ids, m.ID)
	}
	require.Equal(t, []string{"1", "2", "3", "4", "5"}, ids)
	require.Equal(t, msg("1"), d.Messages()[0])
}

func TestReadsSeeCommittedDataOnly(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	require.NoError(t, commit(t, d, writes(ins("account", "a", `{"n":1}`))))

	reader := begin(t, d)
	load := func() []driver.Record {
		recs, err := reader.Load(ctx, "account", []string{"a", "b"}, uow.Optimistic)
		require.NoError(t, err)
		return recs
	}
	find := func() []driver.Record {
		recs, err := reader.Find(ctx, "account", []uow.Field{{Name: "n", Value: 2}})
		require.NoError(t, err)
		return recs
	}
	processed := func() bool {
		ok, err := reader.Processed(ctx, "c", "m")
		require.NoError(t, err)
		return ok
	}

	// A writer whose commit waits for a lock: nothing of it is visible meanwhile.
	holder := begin(t, d)
	_, err := holder.Load(ctx, "account", []string{"a"}, uow.ForUpdate)
	require.NoError(t, err)
	writer := begin(t, d)
	done := async(func() error {
		return writer.Commit(ctx, &driver.Changes{
			Writes:   []driver.Write{upd("account", "a", 1, `{"n":2}`), ins("account", "b", `{"n":2}`)},
			Messages: []uow.Message{msg("1")},
			Inbox:    []driver.InboxMark{mark("c", "m")},
		})
	})
	requireBlocked(t, done)
	require.Equal(t, []driver.Record{rec("account", "a", 1, `{"n":1}`)}, load())
	require.Empty(t, find())
	require.False(t, processed())
	require.Empty(t, d.Messages())

	require.NoError(t, holder.Rollback(ctx))
	require.NoError(t, await(t, done))

	// Read committed: the open reader sees the commit at once.
	want := []driver.Record{rec("account", "a", 2, `{"n":2}`), rec("account", "b", 1, `{"n":2}`)}
	require.Equal(t, want, load())
	require.Equal(t, want, find())
	require.True(t, processed())
	require.Len(t, d.Messages(), 1)
	require.NoError(t, reader.Rollback(ctx))
}

func TestLoad(t *testing.T) {
	d := memuow.New(nil)
	require.NoError(t, commit(t, d, writes(ins("account", "b", `{}`), ins("account", "a", `{}`), ins("order", "c", `{}`))))
	for _, lock := range []uow.Lock{uow.Optimistic, uow.ForUpdate} {
		tx := begin(t, d)
		recs, err := tx.Load(t.Context(), "account", []string{"c", "b", "x", "a", "b"}, lock)
		require.NoError(t, err)
		require.Equal(t, []driver.Record{rec("account", "a", 1, `{}`), rec("account", "b", 1, `{}`)}, recs, "lock %d", lock)

		recs, err = tx.Load(t.Context(), "account", nil, lock)
		require.NoError(t, err)
		require.Empty(t, recs)
		require.NoError(t, tx.Rollback(t.Context()))
	}

	tx := begin(t, d)
	_, err := tx.Load(t.Context(), "account", []string{"a"}, uow.Lock(9))
	require.ErrorIs(t, err, uow.ErrInvalid)
}

func TestDataIsCopied(t *testing.T) {
	ctx := t.Context()
	d := memuow.New(nil)
	data := []byte(`{"n":1}`)
	m := uow.Message{ID: "1", Payload: []byte(`{"p":1}`), Headers: map[string]string{"h": "1"}}
	require.NoError(t, commit(t, d, &driver.Changes{Writes: []driver.Write{{Op: driver.Insert, Record: driver.Record{Kind: "k", ID: "a", Data: data}}}, Messages: []uow.Message{m}}))

	// The caller reuses its slices and maps.
	data[2] = 'X'
	m.Payload[2] = 'X'
	m.Headers["h"] = "X"

	// The caller changes what it read.
	r, ok := d.Get("k", "a")
	require.True(t, ok)
	r.Data[2] = 'Y'
	tx := begin(t, d)
	recs, err := tx.Load(ctx, "k", []string{"a"}, uow.Optimistic)
	require.NoError(t, err)
	recs[0].Data[2] = 'Y'
	recs, err = tx.Find(ctx, "k", nil)
	require.NoError(t, err)
	recs[0].Data[2] = 'Y'
	got := d.Messages()
	got[0].Payload[2] = 'Y'
	got[0].Headers["h"] = "Y"

	r, _ = d.Get("k", "a")
	require.Equal(t, `{"n":1}`, string(r.Data))
	require.Equal(t, `{"p":1}`, string(d.Messages()[0].Payload))
	require.Equal(t, map[string]string{"h": "1"}, d.Messages()[0].Headers)
}

func TestUnitDone(t *testing.T) {
	ends := []struct {
		name string
		end  func(context.Context, *memuow.Tx) error
	}{
		{"commit", func(ctx context.Context, tx *memuow.Tx) error { return tx.Commit(ctx, writes(ins("k", "a", `{}`))) }},
		{"failed commit", func(ctx context.Context, tx *memuow.Tx) error {
			require.Error(t, tx.Commit(ctx, writes(del("k", "missing", 1))))
			return nil
		}},
		{"rollback", func(ctx context.Context, tx *memuow.Tx) error { return tx.Rollback(ctx) }},
	}
	ops := []struct {
		name string
		op   func(context.Context, *memuow.Tx) error
	}{
		{"load", func(ctx context.Context, tx *memuow.Tx) error {
			_, err := tx.Load(ctx, "k", []string{"a"}, uow.Optimistic)
			return err
		}},
		{"load for update", func(ctx context.Context, tx *memuow.Tx) error {
			_, err := tx.Load(ctx, "k", []string{"a"}, uow.ForUpdate)
			return err
		}},
		{"find", func(ctx context.Context, tx *memuow.Tx) error {
			_, err := tx.Find(ctx, "k", nil)
			return err
		}},
		{"lock keys", func(ctx context.Context, tx *memuow.Tx) error { return tx.LockKeys(ctx, []string{"x"}) }},
		{"processed", func(ctx context.Context, tx *memuow.Tx) error {
			_, err := tx.Processed(ctx, "c", "m")
			return err
		}},
		{"commit", func(ctx context.Context, tx *memuow.Tx) error { return tx.Commit(ctx, writes(ins("k", "b", `{}`))) }},
		{"empty commit", func(ctx context.Context, tx *memuow.Tx) error { return tx.Commit(ctx, &driver.Changes{}) }},
	}
	for _, end := range ends {
		for _, op := range ops {
			t.Run(end.name+"/"+op.name, func(t *testing.T) {
				d := memuow.New(nil)
				tx := begin(t, d)
				require.NoError(t, end.end(t.Context(), tx))
				require.ErrorIs(t, op.op(t.Context(), tx), uow.ErrUnitDone)
				require.NoError(t, tx.Rollback(t.Context()))
				require.NoError(t, tx.Rollback(t.Context()))
				require.Same(t, tx, tx.Native())
				_, ok := d.Get("k", "b")
				require.False(t, ok)
			})
		}
	}
}

func TestCanceledContext(t *testing.T) {
	d := memuow.New(nil)
	ctx, cancel := context.WithCancel(t.Context())
	tx := begin(t, d)
	cancel()

	_, err := d.Begin(ctx)
	require.ErrorIs(t, err, context.Canceled)
	_, err = tx.Load(ctx, "k", []string{"a"}, uow.Optimistic)
	require.ErrorIs(t, err, context.Canceled)
	_, err = tx.Find(ctx, "k", nil)
	require.ErrorIs(t, err, context.Canceled)
	_, err = tx.Processed(ctx, "c", "m")
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, tx.LockKeys(ctx, []string{"x"}), context.Canceled)
	_, err = d.PurgeInbox(ctx, time.Now())
	require.ErrorIs(t, err, context.Canceled)

	// A commit with a done context stores nothing and ends the transaction.
	require.ErrorIs(t, tx.Commit(ctx, writes(ins("k", "a", `{}`))), context.Canceled)
	require.Zero(t, d.Count("k"))
	require.ErrorIs(t, tx.Commit(t.Context(), writes(ins("k", "a", `{}`))), uow.ErrUnitDone)
}

func TestZeroDriver(t *testing.T) {
	var d memuow.Driver
	require.NoError(t, commit(t, &d, &driver.Changes{Writes: []driver.Write{ins("k", "a", `{}`)}, Inbox: []driver.InboxMark{mark("c", "m")}}))
	require.Equal(t, 1, d.Count("k"))
	require.Equal(t, 1, d.InboxLen())
}

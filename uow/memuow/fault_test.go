package memuow_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

func TestInjectFault(t *testing.T) {
	errBoom := errors.New("boom")
	errSecond := errors.New("second")
	named := func(name string) func(*driver.Changes) bool {
		return func(c *driver.Changes) bool { return len(c.Messages) > 0 && c.Messages[0].ID == name }
	}
	full := func(id string) *driver.Changes {
		return &driver.Changes{Writes: []driver.Write{ins("k", id, `{}`)}, Messages: []uow.Message{msg(id)}, Inbox: []driver.InboxMark{mark("c", id)}}
	}
	// dupOfX is a commit of record, message and mark id that fails: it inserts record x again.
	dupOfX := func(id string) *driver.Changes {
		c := full(id)
		c.Writes = append(c.Writes, ins("k", "x", `{}`))
		return c
	}
	type step struct {
		changes *driver.Changes
		wantErr error // nil: success
		stored  bool  // the commit's record, message and mark are stored
	}
	tests := []struct {
		name   string
		faults []memuow.Fault
		steps  []step
	}{
		{"before, default error", []memuow.Fault{{}}, []step{
			{full("1"), memuow.ErrFault, false},
			{full("2"), nil, true},
		}},
		{"before, own error", []memuow.Fault{{Err: errBoom}}, []step{
			{full("1"), errBoom, false},
			{full("2"), nil, true},
		}},
		{"after: stored, but the caller gets an error", []memuow.Fault{{After: true, Err: errBoom}}, []step{
			{full("1"), errBoom, true},
			{full("2"), nil, true},
		}},
		{"after, default error", []memuow.Fault{{After: true}}, []step{
			{full("1"), memuow.ErrFault, true},
		}},
		{"match picks the commit", []memuow.Fault{{Err: errBoom, Match: named("2")}}, []step{
			{full("1"), nil, true},
			{full("2"), errBoom, false},
			{full("3"), nil, true},
		}},
		{"faults are taken in the order injected", []memuow.Fault{{Err: errBoom}, {Err: errSecond, After: true}}, []step{
			{full("1"), errBoom, false},
			{full("2"), errSecond, true},
			{full("3"), nil, true},
		}},
		{"the first matching fault is taken", []memuow.Fault{{Err: errBoom, Match: named("2")}, {Err: errSecond}}, []step{
			{full("1"), errSecond, false},
			{full("2"), errBoom, false},
			{full("2"), nil, true},
		}},
		{"a before fault beats a commit that would fail", []memuow.Fault{{Err: errBoom, Match: named("y")}}, []step{
			{writes(ins("k", "x", `{}`)), nil, false},
			{dupOfX("y"), errBoom, false},
			{dupOfX("y"), uow.ErrDuplicate, false},
		}},
		{"an after fault waits for a commit that succeeds", []memuow.Fault{{After: true, Err: errBoom}}, []step{
			{writes(del("k", "x", 1)), uow.ErrConflict, false},
			{full("1"), errBoom, true},
			{full("2"), nil, true},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := memuow.New(nil)
			for _, f := range tc.faults {
				d.InjectFault(f)
			}
			for i, s := range tc.steps {
				before := len(d.Messages())
				err := commit(t, d, s.changes)
				if s.wantErr == nil {
					require.NoError(t, err, "step %d", i)
				} else {
					require.ErrorIs(t, err, s.wantErr, "step %d", i)
				}
				if len(s.changes.Messages) == 0 {
					continue
				}
				id := s.changes.Messages[0].ID
				_, ok := d.Get("k", id)
				require.Equal(t, s.stored, ok, "step %d: record", i)
				tx := begin(t, d)
				ok, err = tx.Processed(t.Context(), "c", id)
				require.NoError(t, err)
				require.Equal(t, s.stored, ok, "step %d: mark", i)
				if s.stored {
					require.Len(t, d.Messages(), before+1, "step %d: message", i)
				} else {
					require.Len(t, d.Messages(), before, "step %d: message", i)
				}
			}
		})
	}
}

func TestFaultReleasesLocks(t *testing.T) {
	for _, after := range []bool{false, true} {
		d := memuow.New(nil)
		require.NoError(t, commit(t, d, writes(ins("k", "a", `{}`))))
		d.InjectFault(memuow.Fault{After: after})
		tx := begin(t, d)
		_, err := tx.Load(t.Context(), "k", []string{"a"}, uow.ForUpdate)
		require.NoError(t, err)
		require.NoError(t, tx.LockKeys(t.Context(), []string{"key"}))
		require.ErrorIs(t, tx.Commit(t.Context(), writes(upd("k", "a", 1, `{}`))), memuow.ErrFault)
		require.ErrorIs(t, tx.Commit(t.Context(), nil), uow.ErrUnitDone)

		other := begin(t, d)
		_, err = other.Load(t.Context(), "k", []string{"a"}, uow.ForUpdate)
		require.NoError(t, err)
		require.NoError(t, other.LockKeys(t.Context(), []string{"key"}))
		r, _ := d.Get("k", "a")
		require.Equal(t, map[bool]int64{false: 1, true: 2}[after], r.Version)
	}
}

package memuow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

func TestProcessed(t *testing.T) {
	d := memuow.New(nil)
	tx := begin(t, d)
	c := &driver.Changes{Inbox: []driver.InboxMark{mark("billing", "m1")}}
	tests := []struct {
		consumer, id string
		want         bool
	}{
		{"billing", "m1", true},
		{"billing", "m2", false},
		{"shipping", "m1", false},
	}
	for _, tc := range tests {
		ok, err := tx.Processed(t.Context(), tc.consumer, tc.id)
		require.NoError(t, err)
		require.False(t, ok, "nothing is committed yet")
	}
	require.NoError(t, tx.Commit(t.Context(), c))

	tx = begin(t, d)
	for _, tc := range tests {
		ok, err := tx.Processed(t.Context(), tc.consumer, tc.id)
		require.NoError(t, err)
		require.Equal(t, tc.want, ok, "%s %s", tc.consumer, tc.id)
	}
}

func TestPurgeInbox(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		before time.Time
		want   int
	}{
		{"before the first", t0, 0},
		{"strictly before", t0.Add(time.Hour), 1},
		{"all but the last", t0.Add(2 * time.Hour), 2},
		{"all", t0.Add(3 * time.Hour), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := memuow.New(nil)
			var marks []driver.InboxMark
			for i := range 3 {
				marks = append(marks, driver.InboxMark{Consumer: "c", MessageID: string(rune('a' + i)), At: t0.Add(time.Duration(i) * time.Hour)})
			}
			require.NoError(t, commit(t, d, &driver.Changes{Inbox: marks}))

			n, err := d.PurgeInbox(t.Context(), tc.before)
			require.NoError(t, err)
			require.Equal(t, tc.want, n)
			require.Equal(t, 3-tc.want, d.InboxLen())
			tx := begin(t, d)
			for i, m := range marks {
				ok, err := tx.Processed(t.Context(), "c", m.MessageID)
				require.NoError(t, err)
				require.Equal(t, i >= tc.want, ok)
			}

			n, err = d.PurgeInbox(t.Context(), tc.before)
			require.NoError(t, err)
			require.Zero(t, n, "a second purge finds nothing")

			// A purged mark can be written again.
			if tc.want > 0 {
				require.NoError(t, commit(t, d, &driver.Changes{Inbox: marks[:1]}))
			}
		})
	}
}

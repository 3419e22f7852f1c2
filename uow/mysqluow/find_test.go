package mysqluow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/uow"
)

type oddID string

// odd has field names and values that JSON paths and SQL strings must quote.
type odd struct {
	aggregate.Root[oddID]
	Lt     string `json:"a<b"`
	Amp    string `json:"x&y"`
	Dot    string `json:"p.q"`
	Space  string `json:"s p"`
	Dollar string `json:"$"`
	Accent string `json:"é"`
	Status string `json:"status"`
}

func (*odd) AggregateType() string { return "odd" }

// Find narrows by the string fields in SQL (JSON_EXTRACT) and decides with jsonmatch: field names
// that need quoting in a JSON path, values with quotes, escapes and non-ASCII characters, and
// case all compare exactly.
func TestFindQuoting(t *testing.T) {
	ctx := t.Context()
	d, _ := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	tricky := `O'Brien "q" \ <tag> & ü ` + "\u2028 \t 🙂"
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		for i, v := range []string{"one", tricky, "One"} {
			root, err := aggregate.NewRoot(oddID(string(rune('a' + i))))
			require.NoError(t, err)
			o := &odd{Root: root, Lt: v, Amp: v, Dot: v, Space: v, Dollar: v, Accent: v, Status: v}
			if err := uow.Repo[odd, oddID](u).Add(ctx, o); err != nil {
				return err
			}
		}
		return nil
	}, nil))

	u := begin(t, s)
	repo := uow.Repo[odd, oddID](u)
	for _, name := range []string{"a<b", "x&y", "p.q", "s p", "$", "é", "status"} {
		for _, c := range []struct {
			value, want string
		}{
			{"one", "a"},
			{tricky, "b"},
			{"One", "c"},
			{"ONE", ""},
			{"one ", ""},
			{strings.ToUpper(tricky), ""},
		} {
			got, err := repo.Find(ctx, uow.Field{Name: name, Value: c.value})
			require.NoError(t, err, "Find(%s=%q)", name, c.value)
			ids := make([]string, len(got))
			for i, o := range got {
				ids[i] = o.AggregateID()
			}
			require.Equal(t, c.want, strings.Join(ids, ","), "Find(%s=%q)", name, c.value)
		}
	}
	got, err := repo.Find(ctx, uow.Field{Name: "status", Value: "one"}, uow.Field{Name: "é", Value: "one"}, uow.Field{Name: "a<b", Value: "One"})
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = repo.Find(ctx, uow.Field{Name: `no"such\field`, Value: "one"})
	require.NoError(t, err)
	require.Empty(t, got)
}

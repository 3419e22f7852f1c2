package aggregate_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/internal/rootaccess"
)

// The test aggregate shared by the tests of this package.
type accountID string

type account struct {
	aggregate.Root[accountID]
	Balance int64
}

func (*account) AggregateType() string { return "account" }

var _ aggregate.Aggregate = (*account)(nil)

// The test events shared by the tests of this package.
type deposited struct {
	Amount int64 `json:"amount"`
}

func (deposited) EventName() string { return "test.Deposited" }

type withdrawn struct {
	Amount int64 `json:"amount"`
}

func (withdrawn) EventName() string { return "test.Withdrawn" }

func newAccount(t *testing.T, id accountID) *account {
	t.Helper()
	root, err := aggregate.NewRoot(id)
	require.NoError(t, err)
	return &account{Root: root}
}

func TestNewRoot(t *testing.T) {
	tests := []struct {
		name    string
		id      accountID
		wantErr error
	}{
		{name: "valid ID", id: "acc-1"},
		{name: "empty ID", id: "", wantErr: aggregate.ErrInvalidID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := aggregate.NewRoot(tc.id)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Equal(t, aggregate.Root[accountID]{}, r)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.id, r.ID())
			require.Equal(t, string(tc.id), r.AggregateID())
			require.Zero(t, r.Version())
			require.Empty(t, r.Recorded())
		})
	}
}

func TestRestoreRoot(t *testing.T) {
	tests := []struct {
		name    string
		id      accountID
		version int64
		wantErr error
	}{
		{name: "version 1", id: "acc-1", version: 1},
		{name: "version 42", id: "acc-1", version: 42},
		{name: "empty ID", id: "", version: 1, wantErr: aggregate.ErrInvalidID},
		{name: "version 0", id: "acc-1", version: 0, wantErr: aggregate.ErrInvalidVersion},
		{name: "negative version", id: "acc-1", version: -1, wantErr: aggregate.ErrInvalidVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := aggregate.RestoreRoot(tc.id, tc.version)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.id, r.ID())
			require.Equal(t, tc.version, r.Version())
			require.Empty(t, r.Recorded())
		})
	}
}

func TestRecord(t *testing.T) {
	tests := []struct {
		name  string
		calls [][]aggregate.Event
		want  []aggregate.Event
	}{
		{name: "nothing", calls: nil, want: []aggregate.Event{}},
		{name: "no events in a call", calls: [][]aggregate.Event{{}}, want: []aggregate.Event{}},
		{
			name:  "one call, several events",
			calls: [][]aggregate.Event{{deposited{1}, withdrawn{2}, deposited{3}}},
			want:  []aggregate.Event{deposited{1}, withdrawn{2}, deposited{3}},
		},
		{
			name:  "several calls append in order",
			calls: [][]aggregate.Event{{deposited{1}}, {withdrawn{2}, deposited{3}}, {withdrawn{4}}},
			want:  []aggregate.Event{deposited{1}, withdrawn{2}, deposited{3}, withdrawn{4}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccount(t, "acc-1")
			for _, events := range tc.calls {
				a.Record(events...)
			}
			got := a.Recorded()
			if len(tc.want) == 0 {
				require.Empty(t, got)
				return
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestRecordedReturnsACopy(t *testing.T) {
	a := newAccount(t, "acc-1")
	a.Record(deposited{1}, deposited{2})

	got := a.Recorded()
	got[0] = withdrawn{99}
	_ = append(got[:1], withdrawn{100}) // would overwrite index 1 if the backing array were shared

	require.Equal(t, []aggregate.Event{deposited{1}, deposited{2}}, a.Recorded())

	// Recording after taking a copy does not change the copy either.
	snapshot := a.Recorded()
	a.Record(deposited{3})
	require.Len(t, snapshot, 2)
	require.Len(t, a.Recorded(), 3)
}

func TestRecordNilPanics(t *testing.T) {
	tests := []struct {
		name   string
		events []aggregate.Event
	}{
		{name: "single nil", events: []aggregate.Event{nil}},
		{name: "nil after a valid event", events: []aggregate.Event{deposited{1}, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccount(t, "acc-1")
			require.Panics(t, func() { a.Record(tc.events...) })
			require.Empty(t, a.Recorded(), "a panicking Record records nothing")
		})
	}
}

func TestAggregateViaPointer(t *testing.T) {
	var agg aggregate.Aggregate = newAccount(t, "acc-7")
	require.Equal(t, "acc-7", agg.AggregateID())
	require.Zero(t, agg.Version())

	// The value type does not implement Aggregate: the methods are on the pointer.
	var v any = account{}
	_, ok := v.(aggregate.Aggregate)
	require.False(t, ok)
}

func TestRootAloneIsNotAnAggregate(t *testing.T) {
	// Every aggregate names itself: embedding Root without declaring AggregateType is not enough.
	var v any = &struct{ aggregate.Root[accountID] }{}
	_, ok := v.(aggregate.Aggregate)
	require.False(t, ok)
	_, ok = any(&account{}).(aggregate.Aggregate)
	require.True(t, ok)
}

func TestJSONOmitsRoot(t *testing.T) {
	tests := []struct {
		name string
		a    func(t *testing.T) *account
		want string
	}{
		{
			name: "new aggregate",
			a:    func(t *testing.T) *account { a := newAccount(t, "acc-1"); a.Balance = 5; return a },
			want: `{"Balance":5}`,
		},
		{
			name: "restored aggregate with recorded events",
			a: func(t *testing.T) *account {
				root, err := aggregate.RestoreRoot[accountID]("acc-2", 3)
				require.NoError(t, err)
				a := &account{Root: root, Balance: -7}
				a.Record(deposited{1})
				return a
			},
			want: `{"Balance":-7}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.a(t))
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(b))
		})
	}
}

func TestRootAccessRestore(t *testing.T) {
	tests := []struct {
		name    string
		target  func(t *testing.T) any
		id      string
		version int64
		wantErr error // nil: success; errAny: some error not wrapping a sentinel
	}{
		{name: "sets ID and version", target: recordedTarget, id: "acc-9", version: 4},
		{name: "version 1", target: recordedTarget, id: "acc-9", version: 1},
		{name: "zero aggregate", target: func(*testing.T) any { return &account{} }, id: "acc-9", version: 2},
		{name: "empty ID", target: recordedTarget, id: "", version: 1, wantErr: aggregate.ErrInvalidID},
		{name: "version 0", target: recordedTarget, id: "acc-9", version: 0, wantErr: aggregate.ErrInvalidVersion},
		{name: "negative version", target: recordedTarget, id: "acc-9", version: -3, wantErr: aggregate.ErrInvalidVersion},
		{name: "aggregate by value", target: func(*testing.T) any { return account{} }, id: "acc-9", version: 1, wantErr: errAny},
		{name: "not an aggregate", target: func(*testing.T) any { return &struct{ Balance int64 }{} }, id: "acc-9", version: 1, wantErr: errAny},
		{name: "nil", target: func(*testing.T) any { return nil }, id: "acc-9", version: 1, wantErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := tc.target(t)
			err := rootaccess.Restore(target, tc.id, tc.version)
			switch {
			case tc.wantErr == errAny:
				require.Error(t, err)
				return
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
				// Nothing changed.
				a := target.(*account)
				require.Equal(t, accountID("acc-1"), a.ID())
				require.Len(t, a.Recorded(), 1)
				return
			}
			require.NoError(t, err)
			a := target.(*account)
			require.Equal(t, accountID(tc.id), a.ID())
			require.Equal(t, tc.id, a.AggregateID())
			require.Equal(t, tc.version, a.Version())
			require.Empty(t, a.Recorded())
		})
	}
}

func TestRootAccessCommitted(t *testing.T) {
	tests := []struct {
		name    string
		from    int64 // the version before the commit; 0 is a new aggregate
		version int64
		wantErr error
	}{
		{name: "first commit", from: 0, version: 1},
		{name: "next version", from: 3, version: 4},
		{name: "same version", from: 3, version: 3},
		{name: "jump ahead", from: 3, version: 10},
		{name: "move back", from: 3, version: 2, wantErr: aggregate.ErrInvalidVersion},
		{name: "move back to 0", from: 1, version: 0, wantErr: aggregate.ErrInvalidVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := recordedAccount(t)
			if tc.from > 0 {
				require.NoError(t, rootaccess.Restore(a, "acc-1", tc.from))
				a.Record(deposited{2}, withdrawn{1})
			}
			before := a.Recorded()

			err := rootaccess.Committed(a, tc.version)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Equal(t, tc.from, a.Version(), "version unchanged")
				require.Equal(t, before, a.Recorded(), "events kept")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.version, a.Version())
			require.Empty(t, a.Recorded())
			require.Equal(t, accountID("acc-1"), a.ID())
		})
	}
}

func TestRootAccessCommittedRejectsNonAggregates(t *testing.T) {
	tests := []struct {
		name   string
		target any
	}{
		{name: "aggregate by value", target: account{}},
		{name: "plain struct", target: &struct{ Balance int64 }{}},
		{name: "string", target: "acc-1"},
		{name: "nil", target: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, rootaccess.Committed(tc.target, 1))
		})
	}
}

// errAny marks a table case that expects an error without a sentinel to match.
var errAny = errors.New("any error")

func recordedTarget(t *testing.T) any { return recordedAccount(t) }

// recordedAccount returns a new account "acc-1" with one recorded event.
func recordedAccount(t *testing.T) *account {
	t.Helper()
	a := newAccount(t, "acc-1")
	a.Record(deposited{1})
	return a
}

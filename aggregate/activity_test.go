package aggregate_test

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/aggregate"
)

// order is an aggregate that tracks partner activities in its state.
type order struct {
	aggregate.Root[accountID]
	Payments  aggregate.Activities          `json:"payments"`
	Shipments aggregate.SequencedActivities `json:"shipments"`
}

// --- Activities ---

func TestActivitiesZeroValue(t *testing.T) {
	var a aggregate.Activities
	require.False(t, a.Seen("p", "x"))
	require.Zero(t, a.Len("p"))

	b, err := json.Marshal(a)
	require.NoError(t, err)
	require.JSONEq(t, `{}`, string(b))

	require.True(t, a.Record("p", "x"))
	require.True(t, a.Seen("p", "x"))
}

func TestActivitiesRecord(t *testing.T) {
	type rec struct {
		partner, activity string
		want              bool
	}
	tests := []struct {
		name    string
		records []rec
		wantLen map[string]int
	}{
		{
			name:    "new then duplicate",
			records: []rec{{"p", "a", true}, {"p", "a", false}, {"p", "a", false}},
			wantLen: map[string]int{"p": 1},
		},
		{
			name:    "any order",
			records: []rec{{"p", "c", true}, {"p", "a", true}, {"p", "b", true}, {"p", "a", false}, {"p", "c", false}},
			wantLen: map[string]int{"p": 3},
		},
		{
			name:    "partners are independent",
			records: []rec{{"p", "a", true}, {"q", "a", true}, {"q", "a", false}, {"p", "a", false}, {"r", "b", true}},
			wantLen: map[string]int{"p": 1, "q": 1, "r": 1, "s": 0},
		},
		{
			name:    "empty partner and activity are values like any other",
			records: []rec{{"", "", true}, {"", "", false}, {"", "a", true}},
			wantLen: map[string]int{"": 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a aggregate.Activities
			for i, r := range tc.records {
				require.Equal(t, r.want, a.Record(r.partner, r.activity), "record %d: %s/%s", i, r.partner, r.activity)
				require.True(t, a.Seen(r.partner, r.activity))
			}
			for p, n := range tc.wantLen {
				require.Equal(t, n, a.Len(p), "partner %q", p)
			}
			require.False(t, a.Seen("p", "never"))
			require.False(t, a.Seen("unknown", "a"))
		})
	}
}

func TestActivitiesJSON(t *testing.T) {
	var a aggregate.Activities
	for _, r := range [][2]string{{"q", "z"}, {"p", "b"}, {"p", "a"}, {"q", "y"}, {"p", "c"}} {
		a.Record(r[0], r[1])
	}
	b, err := json.Marshal(a)
	require.NoError(t, err)
	require.Equal(t, `{"p":["a","b","c"],"q":["y","z"]}`, string(b), "sorted")

	var back aggregate.Activities
	back.Record("old", "gone")
	require.NoError(t, json.Unmarshal(b, &back))
	require.False(t, back.Seen("old", "gone"), "decoding replaces the contents")
	for _, r := range [][2]string{{"q", "z"}, {"p", "b"}, {"p", "a"}, {"q", "y"}, {"p", "c"}} {
		require.True(t, back.Seen(r[0], r[1]))
		require.False(t, back.Record(r[0], r[1]))
	}
	require.Equal(t, 3, back.Len("p"))
	require.Equal(t, 2, back.Len("q"))
}

func TestActivitiesUnmarshalRejectsMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{name: "not JSON", in: `not json`},
		{name: "array", in: `["a"]`},
		{name: "string for list", in: `{"p":"a"}`},
		{name: "numbers in list", in: `{"p":[1,2]}`},
		{name: "nested object", in: `{"p":{"a":true}}`},
		{name: "truncated", in: `{"p":["a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a aggregate.Activities
			a.Record("p", "kept")
			err := a.UnmarshalJSON([]byte(tc.in))
			require.ErrorIs(t, err, aggregate.ErrInvalidActivity)
			require.True(t, a.Seen("p", "kept"))
			require.Equal(t, 1, a.Len("p"))
			b, err := json.Marshal(a)
			require.NoError(t, err)
			require.JSONEq(t, `{"p":["kept"]}`, string(b))
		})
	}
}

// --- SequencedActivities ---

type seqRecord struct {
	partner string
	n       uint64
	want    bool
	wantErr error
}

func TestSequencedActivitiesRecord(t *testing.T) {
	tests := []struct {
		name          string
		window        uint64
		records       []seqRecord
		wantHighWater map[string]uint64
		wantPending   map[string]int
	}{
		{
			name:          "in order",
			records:       []seqRecord{{"p", 1, true, nil}, {"p", 2, true, nil}, {"p", 3, true, nil}},
			wantHighWater: map[string]uint64{"p": 3}, wantPending: map[string]int{"p": 0},
		},
		{
			name:          "duplicates below the mark",
			records:       []seqRecord{{"p", 1, true, nil}, {"p", 2, true, nil}, {"p", 1, false, nil}, {"p", 2, false, nil}},
			wantHighWater: map[string]uint64{"p": 2}, wantPending: map[string]int{"p": 0},
		},
		{
			name:          "out of order waits above the mark",
			records:       []seqRecord{{"p", 3, true, nil}, {"p", 5, true, nil}},
			wantHighWater: map[string]uint64{"p": 0}, wantPending: map[string]int{"p": 2},
		},
		{
			name:          "duplicates above the mark",
			records:       []seqRecord{{"p", 3, true, nil}, {"p", 3, false, nil}, {"p", 5, true, nil}, {"p", 5, false, nil}},
			wantHighWater: map[string]uint64{"p": 0}, wantPending: map[string]int{"p": 2},
		},
		{
			name:          "filling a gap absorbs what is contiguous",
			records:       []seqRecord{{"p", 4, true, nil}, {"p", 2, true, nil}, {"p", 3, true, nil}, {"p", 6, true, nil}, {"p", 1, true, nil}},
			wantHighWater: map[string]uint64{"p": 4}, wantPending: map[string]int{"p": 1},
		},
		{
			name:          "filling the last gap empties pending",
			records:       []seqRecord{{"p", 3, true, nil}, {"p", 2, true, nil}, {"p", 1, true, nil}},
			wantHighWater: map[string]uint64{"p": 3}, wantPending: map[string]int{"p": 0},
		},
		{
			name:          "partners are independent",
			records:       []seqRecord{{"p", 1, true, nil}, {"q", 1, true, nil}, {"q", 2, true, nil}, {"p", 3, true, nil}, {"q", 1, false, nil}},
			wantHighWater: map[string]uint64{"p": 1, "q": 2, "r": 0}, wantPending: map[string]int{"p": 1, "q": 0, "r": 0},
		},
		{
			name: "activity 0 is invalid",
			records: []seqRecord{
				{"p", 0, false, aggregate.ErrInvalidActivity}, {"p", 1, true, nil}, {"p", 0, false, aggregate.ErrInvalidActivity},
			},
			wantHighWater: map[string]uint64{"p": 1}, wantPending: map[string]int{"p": 0},
		},
		{
			name:   "window: mark plus window is the highest accepted",
			window: 4,
			records: []seqRecord{
				{"p", 5, false, aggregate.ErrActivityWindow}, {"p", 4, true, nil},
				{"p", 1, true, nil}, {"p", 6, false, aggregate.ErrActivityWindow}, {"p", 5, true, nil},
			},
			wantHighWater: map[string]uint64{"p": 1}, wantPending: map[string]int{"p": 2},
		},
		{
			name:   "window: a refused activity is new once in the window",
			window: 2,
			records: []seqRecord{
				{"p", 3, false, aggregate.ErrActivityWindow}, {"p", 1, true, nil}, {"p", 3, true, nil},
				{"p", 3, false, nil}, {"p", 2, true, nil},
			},
			wantHighWater: map[string]uint64{"p": 3}, wantPending: map[string]int{"p": 0},
		},
		{
			name:          "window of 1 accepts only the next activity",
			window:        1,
			records:       []seqRecord{{"p", 2, false, aggregate.ErrActivityWindow}, {"p", 1, true, nil}, {"p", 2, true, nil}, {"p", 4, false, aggregate.ErrActivityWindow}},
			wantHighWater: map[string]uint64{"p": 2}, wantPending: map[string]int{"p": 0},
		},
		{
			name:   "zero window is the default window",
			window: 0,
			records: []seqRecord{
				{"p", aggregate.DefaultWindow + 1, false, aggregate.ErrActivityWindow},
				{"p", aggregate.DefaultWindow, true, nil},
			},
			wantHighWater: map[string]uint64{"p": 0}, wantPending: map[string]int{"p": 1},
		},
		{
			name:          "huge activity numbers",
			window:        math.MaxUint64,
			records:       []seqRecord{{"p", math.MaxUint64, true, nil}, {"p", math.MaxUint64, false, nil}, {"p", 1, true, nil}},
			wantHighWater: map[string]uint64{"p": 1}, wantPending: map[string]int{"p": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := aggregate.SequencedActivities{Window: tc.window}
			for i, r := range tc.records {
				seenBefore := s.Seen(r.partner, r.n)
				got, err := s.Record(r.partner, r.n)
				if r.wantErr != nil {
					require.ErrorIs(t, err, r.wantErr, "record %d: %s/%d", i, r.partner, r.n)
					require.False(t, got)
					require.False(t, s.Seen(r.partner, r.n), "an error records nothing")
					continue
				}
				require.NoError(t, err, "record %d: %s/%d", i, r.partner, r.n)
				require.Equal(t, r.want, got, "record %d: %s/%d", i, r.partner, r.n)
				require.Equal(t, !seenBefore, got)
				require.True(t, s.Seen(r.partner, r.n))
			}
			for p, hw := range tc.wantHighWater {
				require.Equal(t, hw, s.HighWater(p), "high water of %q", p)
			}
			for p, n := range tc.wantPending {
				require.Equal(t, n, s.Pending(p), "pending of %q", p)
			}
		})
	}
}

func TestSequencedActivitiesZeroValue(t *testing.T) {
	var s aggregate.SequencedActivities
	require.False(t, s.Seen("p", 1))
	require.False(t, s.Seen("p", 0))
	require.Zero(t, s.HighWater("p"))
	require.Zero(t, s.Pending("p"))

	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `{"partners":{}}`, string(b), "the default window is left out")

	ok, err := s.Record("p", 1)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(1), s.HighWater("p"))

	var back aggregate.SequencedActivities
	b, err = json.Marshal(s)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, s, back, "a round trip keeps the default window at 0")
}

func TestTrackersIgnoreJSONNull(t *testing.T) {
	var a aggregate.Activities
	a.Record("p", "x")
	require.NoError(t, json.Unmarshal([]byte("null"), &a))
	require.True(t, a.Seen("p", "x"), "null leaves the value alone, as encoding/json does")

	s := aggregate.SequencedActivities{Window: 8}
	_, err := s.Record("p", 1)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(" null "), &s))
	require.True(t, s.Seen("p", 1))
	require.Equal(t, uint64(8), s.Window)
}

func TestSequencedActivitiesErrorsLeaveStateUnchanged(t *testing.T) {
	tests := []struct {
		name    string
		partner string
		n       uint64
		wantErr error
	}{
		{name: "beyond the window, known partner", partner: "p", n: 2 + 8 + 1, wantErr: aggregate.ErrActivityWindow},
		{name: "far beyond the window", partner: "p", n: math.MaxUint64, wantErr: aggregate.ErrActivityWindow},
		{name: "beyond the window, new partner", partner: "new", n: 9, wantErr: aggregate.ErrActivityWindow},
		{name: "activity 0, known partner", partner: "p", n: 0, wantErr: aggregate.ErrInvalidActivity},
		{name: "activity 0, new partner", partner: "new", n: 0, wantErr: aggregate.ErrInvalidActivity},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := aggregate.SequencedActivities{Window: 8}
			for _, n := range []uint64{1, 2, 5, 7} {
				_, err := s.Record("p", n)
				require.NoError(t, err)
			}
			before, err := json.Marshal(s)
			require.NoError(t, err)

			ok, err := s.Record(tc.partner, tc.n)
			require.ErrorIs(t, err, tc.wantErr)
			require.False(t, ok)

			after, err := json.Marshal(s)
			require.NoError(t, err)
			require.JSONEq(t, string(before), string(after))
			require.Equal(t, uint64(2), s.HighWater("p"))
			require.Equal(t, 2, s.Pending("p"))
			require.Zero(t, s.HighWater("new"))
			require.Zero(t, s.Pending("new"))
		})
	}
}

func TestSequencedActivitiesJSONForm(t *testing.T) {
	s := aggregate.SequencedActivities{Window: 16}
	for _, n := range []uint64{15, 1, 2, 12, 10, 3, 4, 5, 6, 7, 8, 9} {
		_, err := s.Record("p", n)
		require.NoError(t, err)
	}
	_, err := s.Record("q", 1)
	require.NoError(t, err)

	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `{"window":16,"partners":{"p":{"upTo":10,"above":[12,15]},"q":{"upTo":1}}}`, string(b))
}

func TestTrackersJSONRoundTripInAggregate(t *testing.T) {
	root, err := aggregate.NewRoot[accountID]("ord-1")
	require.NoError(t, err)
	o := &order{Root: root, Shipments: aggregate.SequencedActivities{Window: 32}}
	o.Payments.Record("payments", "pay-2")
	o.Payments.Record("payments", "pay-1")
	o.Payments.Record("refunds", "ref-1")
	for _, n := range []uint64{1, 2, 4, 9} {
		_, err := o.Shipments.Record("warehouse", n)
		require.NoError(t, err)
	}
	_, err = o.Shipments.Record("carrier", 3)
	require.NoError(t, err)

	b, err := json.Marshal(o)
	require.NoError(t, err)
	require.JSONEq(t, `{
		"payments": {"payments": ["pay-1", "pay-2"], "refunds": ["ref-1"]},
		"shipments": {"window": 32, "partners": {
			"warehouse": {"upTo": 2, "above": [4, 9]},
			"carrier": {"upTo": 0, "above": [3]}
		}}
	}`, string(b))

	var back order
	require.NoError(t, json.Unmarshal(b, &back))

	for _, act := range []string{"pay-1", "pay-2"} {
		require.True(t, back.Payments.Seen("payments", act))
	}
	require.True(t, back.Payments.Seen("refunds", "ref-1"))
	require.False(t, back.Payments.Seen("payments", "pay-3"))
	require.Equal(t, 2, back.Payments.Len("payments"))

	require.Equal(t, uint64(32), back.Shipments.Window)
	for _, p := range []string{"warehouse", "carrier", "nobody"} {
		require.Equal(t, o.Shipments.HighWater(p), back.Shipments.HighWater(p), p)
		require.Equal(t, o.Shipments.Pending(p), back.Shipments.Pending(p), p)
		for n := uint64(0); n <= 40; n++ {
			require.Equal(t, o.Shipments.Seen(p, n), back.Shipments.Seen(p, n), "%s/%d", p, n)
		}
	}

	// The decoded trackers carry on where the originals stopped.
	ok, err := back.Shipments.Record("warehouse", 3)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, uint64(4), back.Shipments.HighWater("warehouse"))
	ok, err = back.Shipments.Record("warehouse", 4+32+1)
	require.ErrorIs(t, err, aggregate.ErrActivityWindow)
	require.False(t, ok)
	require.False(t, back.Payments.Record("payments", "pay-1"))

	// The round trip did not touch the original.
	require.Equal(t, uint64(2), o.Shipments.HighWater("warehouse"))
}

func TestSequencedActivitiesUnmarshal(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantWindow uint64
		seen       map[string][]uint64
		wantHW     map[string]uint64
		wantPend   map[string]int
	}{
		{
			name:       "documented form",
			in:         `{"window":1024,"partners":{"p":{"upTo":10,"above":[12,15]}}}`,
			wantWindow: 1024,
			seen:       map[string][]uint64{"p": {1, 10, 12, 15}},
			wantHW:     map[string]uint64{"p": 10}, wantPend: map[string]int{"p": 2},
		},
		{
			name:       "no window is the default",
			in:         `{"partners":{"p":{"upTo":0,"above":[1024]}}}`,
			wantWindow: 0,
			seen:       map[string][]uint64{"p": {1024}},
			wantHW:     map[string]uint64{"p": 0}, wantPend: map[string]int{"p": 1},
		},
		{
			name:       "no partners",
			in:         `{"window":3}`,
			wantWindow: 3,
			wantHW:     map[string]uint64{"p": 0}, wantPend: map[string]int{"p": 0},
		},
		{
			name:       "above at the edge of the window",
			in:         `{"window":5,"partners":{"p":{"upTo":2,"above":[4,7]}}}`,
			wantWindow: 5,
			seen:       map[string][]uint64{"p": {1, 2, 4, 7}},
			wantHW:     map[string]uint64{"p": 2}, wantPend: map[string]int{"p": 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := aggregate.SequencedActivities{Window: 99}
			_, err := s.Record("old", 1)
			require.NoError(t, err)

			require.NoError(t, json.Unmarshal([]byte(tc.in), &s))
			require.Equal(t, tc.wantWindow, s.Window)
			require.False(t, s.Seen("old", 1), "decoding replaces the contents")
			for p, ns := range tc.seen {
				for _, n := range ns {
					require.True(t, s.Seen(p, n), "%s/%d", p, n)
				}
			}
			for p, hw := range tc.wantHW {
				require.Equal(t, hw, s.HighWater(p))
			}
			for p, n := range tc.wantPend {
				require.Equal(t, n, s.Pending(p))
			}
		})
	}
}

func TestSequencedActivitiesUnmarshalRejectsBrokenInvariants(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{name: "not JSON", in: `not json`},
		{name: "array", in: `[]`},
		{name: "negative window", in: `{"window":-1}`},
		{name: "negative mark", in: `{"partners":{"p":{"upTo":-1}}}`},
		{name: "partner without state", in: `{"partners":{"p":null}}`},
		{name: "partner as a number", in: `{"partners":{"p":3}}`},
		{name: "above not sorted", in: `{"window":10,"partners":{"p":{"upTo":1,"above":[5,3]}}}`},
		{name: "above with a duplicate", in: `{"window":10,"partners":{"p":{"upTo":1,"above":[3,3]}}}`},
		{name: "above at the mark", in: `{"window":10,"partners":{"p":{"upTo":4,"above":[4]}}}`},
		{name: "above below the mark", in: `{"window":10,"partners":{"p":{"upTo":4,"above":[2]}}}`},
		{name: "above just over the mark (contiguous, should be absorbed)", in: `{"window":10,"partners":{"p":{"upTo":4,"above":[5]}}}`},
		{name: "activity 0 above", in: `{"window":10,"partners":{"p":{"upTo":0,"above":[0]}}}`},
		{name: "beyond the window", in: `{"window":4,"partners":{"p":{"upTo":1,"above":[6]}}}`},
		{name: "beyond the default window", in: `{"partners":{"p":{"upTo":0,"above":[1025]}}}`},
		{name: "above a mark at the maximum", in: `{"window":10,"partners":{"p":{"upTo":18446744073709551615,"above":[5]}}}`},
		{name: "one bad partner among good ones", in: `{"window":10,"partners":{"a":{"upTo":1},"b":{"upTo":1,"above":[1]},"c":{"upTo":2}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := aggregate.SequencedActivities{Window: 7}
			for _, n := range []uint64{1, 3} {
				_, err := s.Record("p", n)
				require.NoError(t, err)
			}
			before, err := json.Marshal(s)
			require.NoError(t, err)

			err = s.UnmarshalJSON([]byte(tc.in))
			require.ErrorIs(t, err, aggregate.ErrInvalidActivity)

			after, err := json.Marshal(s)
			require.NoError(t, err)
			require.JSONEq(t, string(before), string(after))
			require.Equal(t, uint64(7), s.Window)
			require.Equal(t, uint64(1), s.HighWater("p"))
			require.Equal(t, 1, s.Pending("p"))

			// Inside an aggregate, json.Unmarshal reports the same error.
			var o order
			err = json.Unmarshal([]byte(`{"shipments":`+tc.in+`}`), &o)
			if !errors.Is(err, aggregate.ErrInvalidActivity) {
				// encoding/json reports syntax errors of the whole document itself.
				var syn *json.SyntaxError
				require.ErrorAs(t, err, &syn)
			}
		})
	}
}

// --- Properties ---

var partners = []string{"p", "q", "r"}

// trackerState is what the bounded tracker must agree on with a model.
type trackerState struct {
	model aggregate.Activities // the unbounded tracker, fed the same deliveries
	seq   aggregate.SequencedActivities
	n     uint64 // activities are 1..n
	w     uint64
}

// highWater computes the expected mark from the model: the longest prefix 1..h seen.
func (s *trackerState) highWater(p string) uint64 {
	h := uint64(0)
	for h < s.n && s.model.Seen(p, strconv.FormatUint(h+1, 10)) {
		h++
	}
	return h
}

func (s *trackerState) check(t require.TestingT, p string) {
	hw := s.highWater(p)
	require.Equal(t, hw, s.seq.HighWater(p), "high water of %s", p)
	// (b) bounded memory.
	require.LessOrEqual(t, s.seq.Pending(p), int(s.w), "pending of %s", p)
	require.Equal(t, s.model.Len(p)-int(hw), s.seq.Pending(p), "pending of %s", p)
	for k := uint64(1); k <= s.n; k++ {
		if want := s.model.Seen(p, strconv.FormatUint(k, 10)); s.seq.Seen(p, k) != want {
			require.Failf(t, "Seen disagrees", "%s/%d: want %v", p, k, want)
		}
	}
	// (c) a partner with every activity delivered is fully absorbed.
	if s.model.Len(p) == int(s.n) {
		require.Equal(t, s.n, s.seq.HighWater(p))
		require.Zero(t, s.seq.Pending(p))
	}
}

// deliver delivers (p, k) to both trackers and checks that they agree. It reports whether the
// bounded tracker refused it as beyond its window.
func (s *trackerState) deliver(t require.TestingT, p string, k uint64) (refused bool) {
	hw := s.seq.HighWater(p)
	pending := s.seq.Pending(p)
	gotB, err := s.seq.Record(p, k)
	if errors.Is(err, aggregate.ErrActivityWindow) {
		// (a) a refusal is only for activities more than W above the mark, never seen before,
		// and changes nothing; the delivery is skipped for both trackers.
		require.False(t, gotB)
		require.Greater(t, k, hw)
		require.Greater(t, k-hw, s.w, "refused %s/%d with mark %d and window %d", p, k, hw, s.w)
		require.False(t, s.model.Seen(p, strconv.FormatUint(k, 10)), "refused %s/%d that was seen", p, k)
		require.Equal(t, hw, s.seq.HighWater(p))
		require.Equal(t, pending, s.seq.Pending(p))
		require.False(t, s.seq.Seen(p, k))
		return true
	}
	require.NoError(t, err)
	gotU := s.model.Record(p, strconv.FormatUint(k, 10))
	require.Equal(t, gotU, gotB, "new %s/%d", p, k)
	return false
}

// roundTrip replaces the bounded tracker with its JSON round trip inside an aggregate, after
// checking that the copy answers Seen exactly as the original for every partner and activity.
func (s *trackerState) roundTrip(t require.TestingT) {
	root, err := aggregate.NewRoot[accountID]("ord-1")
	require.NoError(t, err)
	b, err := json.Marshal(&order{Root: root, Shipments: s.seq, Payments: s.model})
	require.NoError(t, err)
	var back order
	require.NoError(t, json.Unmarshal(b, &back))
	for _, p := range append(partners, "other") {
		require.Equal(t, s.seq.HighWater(p), back.Shipments.HighWater(p))
		require.Equal(t, s.seq.Pending(p), back.Shipments.Pending(p))
		require.Equal(t, s.model.Len(p), back.Payments.Len(p))
		for k := uint64(0); k <= s.n+s.w+1; k++ {
			if want := s.seq.Seen(p, k); back.Shipments.Seen(p, k) != want {
				require.Failf(t, "Seen changed by a JSON round trip", "%s/%d: want %v", p, k, want)
			}
			a := strconv.FormatUint(k, 10)
			if want := s.model.Seen(p, a); back.Payments.Seen(p, a) != want {
				require.Failf(t, "Activities.Seen changed by a JSON round trip", "%s/%s: want %v", p, a, want)
			}
		}
	}
	s.seq, s.model = back.Shipments, back.Payments
}

func TestSequencedActivitiesAgreesWithActivities(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := &trackerState{
			n: rapid.Uint64Range(1, 150).Draw(t, "n"),
			w: rapid.Uint64Range(1, 64).Draw(t, "window"),
		}
		s.seq.Window = s.w
		refused := make(map[string]map[uint64]bool)
		for _, p := range partners {
			refused[p] = make(map[uint64]bool)
		}

		deliver := func(p string, k uint64) {
			if s.deliver(t, p, k) {
				refused[p][k] = true
			} else if refused[p][k] {
				// Redelivered within the window, a refused activity is still new.
				require.True(t, s.seq.Seen(p, k))
				delete(refused[p], k)
			}
			s.check(t, p)
		}

		steps := rapid.IntRange(0, 300).Draw(t, "steps")
		for range steps {
			p := rapid.SampledFrom(partners).Draw(t, "partner")
			var k uint64
			switch rapid.IntRange(0, 2).Draw(t, "kind") {
			case 0: // anywhere
				k = rapid.Uint64Range(1, s.n).Draw(t, "k")
			case 1: // near the mark: in the window or just past it
				k = s.seq.HighWater(p) + rapid.Uint64Range(1, s.w+1).Draw(t, "ahead")
			default: // a redelivery of something likely seen
				k = rapid.Uint64Range(1, s.seq.HighWater(p)+1).Draw(t, "again")
			}
			k = min(k, s.n)
			deliver(p, k)
			if rapid.IntRange(0, 9).Draw(t, "roundTrip") == 0 {
				s.roundTrip(t)
			}
		}

		// The senders redeliver everything in order: every refused activity arrives in the
		// window and must be new then; every partner ends fully absorbed.
		for _, p := range partners {
			for k := uint64(1); k <= s.n; k++ {
				deliver(p, k)
			}
			require.Empty(t, refused[p], "refused activities of %s never accepted", p)
			require.Equal(t, s.n, s.seq.HighWater(p))
			require.Zero(t, s.seq.Pending(p))
			require.Equal(t, int(s.n), s.model.Len(p))
		}
		s.roundTrip(t)
		for _, p := range partners {
			s.check(t, p)
		}
	})
}

// A tracker decoded from any valid encoding keeps its invariants under further deliveries.
func TestSequencedActivitiesDecodedInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := rapid.Uint64Range(1, 64).Draw(t, "window")
		upTo := rapid.Uint64Range(0, 1000).Draw(t, "upTo")
		var above []uint64 // in upTo+2..upTo+w: none when w is 1
		if w >= 2 {
			above = rapid.SliceOfNDistinct(rapid.Uint64Range(upTo+2, upTo+w), 0, int(w-1), rapid.ID[uint64]).Draw(t, "above")
		}
		enc := map[string]any{"window": w, "partners": map[string]any{"p": map[string]any{"upTo": upTo, "above": sortedCopy(above)}}}
		b, err := json.Marshal(enc)
		require.NoError(t, err)

		var s aggregate.SequencedActivities
		require.NoError(t, json.Unmarshal(b, &s))
		require.Equal(t, upTo, s.HighWater("p"))
		require.Equal(t, len(above), s.Pending("p"))

		for range rapid.IntRange(0, 50).Draw(t, "steps") {
			k := rapid.Uint64Range(1, upTo+w+5).Draw(t, "k")
			hw, seen := s.HighWater("p"), s.Seen("p", k)
			ok, err := s.Record("p", k)
			if errors.Is(err, aggregate.ErrActivityWindow) {
				require.Greater(t, k-hw, w)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, !seen, ok)
			require.True(t, s.Seen("p", k))
			require.LessOrEqual(t, s.Pending("p"), int(w))
			require.GreaterOrEqual(t, s.HighWater("p"), hw)
		}
	})
}

func sortedCopy(xs []uint64) []uint64 {
	out := append([]uint64(nil), xs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

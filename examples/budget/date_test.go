package budget_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/budget"
)

// ymd returns the day y-m-d and panics if there is no such day: for fixed dates in tests.
func ymd(y int, m time.Month, d int) budget.Date {
	date, err := budget.NewDate(y, m, d)
	if err != nil {
		panic(err)
	}
	return date
}

func TestNewDate(t *testing.T) {
	cases := []struct {
		name    string
		y       int
		m       time.Month
		d       int
		want    string // String of the day; "" when the day does not exist
		invalid bool
	}{
		{name: "ordinary day", y: 2026, m: time.January, d: 5, want: "2026-01-05"},
		{name: "last day of the year", y: 2026, m: time.December, d: 31, want: "2026-12-31"},
		{name: "Feb 29 in a leap year", y: 2024, m: time.February, d: 29, want: "2024-02-29"},
		{name: "Feb 29 in a leap century", y: 2000, m: time.February, d: 29, want: "2000-02-29"},
		{name: "Feb 29 in a non-leap year", y: 2026, m: time.February, d: 29, invalid: true},
		{name: "Feb 29 in a non-leap century", y: 1900, m: time.February, d: 29, invalid: true},
		{name: "Feb 30", y: 2024, m: time.February, d: 30, invalid: true},
		{name: "April 31", y: 2026, m: time.April, d: 31, invalid: true},
		{name: "month 13", y: 2026, m: 13, d: 1, invalid: true},
		{name: "month 0", y: 2026, m: 0, d: 1, invalid: true},
		{name: "day 0", y: 2026, m: time.January, d: 0, invalid: true},
		{name: "day 32", y: 2026, m: time.January, d: 32, invalid: true},
		{name: "negative day", y: 2026, m: time.January, d: -1, invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := budget.NewDate(tc.y, tc.m, tc.d)
			if tc.invalid {
				require.ErrorIs(t, err, budget.ErrInvalid)
				assert.True(t, d.IsZero(), "a failed NewDate returns the zero Date")
				return
			}
			require.NoError(t, err)
			assert.False(t, d.IsZero())
			assert.Equal(t, tc.want, d.String())
			p, err := budget.ParseDate(tc.want)
			require.NoError(t, err)
			assert.True(t, p == d, "NewDate and ParseDate of the same day are ==")
		})
	}
}

func TestParseDate(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    budget.Date
		invalid bool
	}{
		{name: "valid", in: "2026-01-05", want: ymd(2026, time.January, 5)},
		{name: "end of month", in: "2026-01-31", want: ymd(2026, time.January, 31)},
		{name: "Feb 29 in a leap year", in: "2024-02-29", want: ymd(2024, time.February, 29)},
		{name: "Feb 29 in a non-leap year", in: "2026-02-29", invalid: true},
		{name: "no leading zeros", in: "2026-1-5", invalid: true},
		{name: "day 32", in: "2026-01-32", invalid: true},
		{name: "month 13", in: "2026-13-01", invalid: true},
		{name: "month 00", in: "2026-00-10", invalid: true},
		{name: "empty", in: "", invalid: true},
		{name: "with time and zone", in: "2026-01-05T00:00:00Z", invalid: true},
		{name: "leading space", in: " 2026-01-05", invalid: true},
		{name: "trailing space", in: "2026-01-05 ", invalid: true},
		{name: "slashes", in: "2026/01/05", invalid: true},
		{name: "day first", in: "05-01-2026", invalid: true},
		{name: "two-digit year", in: "26-01-05", invalid: true},
		{name: "not a date", in: "no date", invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := budget.ParseDate(tc.in)
			if tc.invalid {
				require.Error(t, err)
				assert.True(t, errors.Is(err, budget.ErrInvalid), "error %v does not wrap ErrInvalid", err)
				assert.True(t, d.IsZero())
				return
			}
			require.NoError(t, err)
			assert.True(t, d == tc.want, "got %s, want %s", d, tc.want)
			assert.Equal(t, tc.in, d.String())
		})
	}
}

func TestDateOrder(t *testing.T) {
	jan5, jan6, feb1 := ymd(2026, time.January, 5), ymd(2026, time.January, 6), ymd(2026, time.February, 1)
	cases := []struct {
		name          string
		d, e          budget.Date
		before, after bool
	}{
		{name: "same day", d: jan5, e: jan5},
		{name: "day before", d: jan5, e: jan6, before: true},
		{name: "day after", d: jan6, e: jan5, after: true},
		{name: "earlier month", d: jan6, e: feb1, before: true},
		{name: "later year", d: ymd(2027, time.January, 1), e: ymd(2026, time.December, 31), after: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.before, tc.d.Before(tc.e), "Before")
			assert.Equal(t, tc.after, tc.d.After(tc.e), "After")
			assert.Equal(t, !tc.before && !tc.after, tc.d == tc.e, "==")
		})
	}
}

func TestDateAddDays(t *testing.T) {
	cases := []struct {
		name string
		from budget.Date
		n    int
		want string
	}{
		{name: "zero days", from: ymd(2026, time.January, 5), n: 0, want: "2026-01-05"},
		{name: "next day", from: ymd(2026, time.January, 5), n: 1, want: "2026-01-06"},
		{name: "previous day", from: ymd(2026, time.January, 5), n: -1, want: "2026-01-04"},
		{name: "into next month", from: ymd(2026, time.January, 31), n: 1, want: "2026-02-01"},
		{name: "into previous month", from: ymd(2026, time.March, 1), n: -1, want: "2026-02-28"},
		{name: "onto a leap day", from: ymd(2024, time.February, 28), n: 1, want: "2024-02-29"},
		{name: "over a leap day", from: ymd(2024, time.February, 28), n: 2, want: "2024-03-01"},
		{name: "into next year", from: ymd(2026, time.December, 31), n: 1, want: "2027-01-01"},
		{name: "a whole year", from: ymd(2026, time.January, 5), n: 365, want: "2027-01-05"},
		{name: "a leap year back", from: ymd(2025, time.January, 5), n: -366, want: "2024-01-05"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.from.AddDays(tc.n)
			assert.Equal(t, tc.want, got.String())
			want, err := budget.ParseDate(tc.want)
			require.NoError(t, err)
			assert.True(t, got == want, "AddDays gives a Date == to the parsed day")
			assert.True(t, got.AddDays(-tc.n) == tc.from, "AddDays(-n) undoes AddDays(n)")
		})
	}
}

func TestDateStringAndIsZero(t *testing.T) {
	cases := []struct {
		name   string
		d      budget.Date
		zero   bool
		string string
	}{
		{name: "zero Date", d: budget.Date{}, zero: true, string: "no date"},
		{name: "a day", d: ymd(2026, time.January, 5), string: "2026-01-05"},
		{name: "year 1000", d: ymd(1000, time.March, 1), string: "1000-03-01"},
		{name: "year 9999", d: ymd(9999, time.December, 31), string: "9999-12-31"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.zero, tc.d.IsZero())
			assert.Equal(t, tc.string, tc.d.String())
		})
	}
}

func TestDateOf(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("UTC-5", -5*60*60)
	}
	cases := []struct {
		name string
		t    time.Time
		want budget.Date
	}{
		{name: "UTC midnight", t: time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC), want: ymd(2026, time.January, 5)},
		{name: "UTC end of day", t: time.Date(2026, time.January, 5, 23, 59, 59, 999, time.UTC), want: ymd(2026, time.January, 5)},
		{name: "late evening west of UTC", t: time.Date(2026, time.January, 5, 23, 30, 0, 0, ny), want: ymd(2026, time.January, 5)},
		{name: "early morning east of UTC", t: time.Date(2026, time.January, 5, 0, 30, 0, 0, time.FixedZone("UTC+9", 9*60*60)), want: ymd(2026, time.January, 5)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := budget.DateOf(tc.t)
			assert.True(t, got == tc.want, "got %s, want %s", got, tc.want)
		})
	}
}

func TestDateText(t *testing.T) {
	cases := []struct {
		name string
		d    budget.Date
		text string
	}{
		{name: "zero Date", d: budget.Date{}, text: ""},
		{name: "a day", d: ymd(2026, time.January, 5), text: "2026-01-05"},
		{name: "leap day", d: ymd(2024, time.February, 29), text: "2024-02-29"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.d.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.text, string(b))

			back := ymd(1999, time.July, 1) // overwritten by the decode
			require.NoError(t, back.UnmarshalText(b))
			assert.True(t, back == tc.d, "round trip: got %s, want %s", back, tc.d)

			// And inside a JSON document, as the events and the stored budget carry it.
			type doc struct {
				D budget.Date `json:"d"`
			}
			j, err := json.Marshal(doc{tc.d})
			require.NoError(t, err)
			assert.JSONEq(t, `{"d":"`+tc.text+`"}`, string(j))
			var got doc
			require.NoError(t, json.Unmarshal(j, &got))
			assert.True(t, got.D == tc.d)
		})
	}

	t.Run("invalid text", func(t *testing.T) {
		for _, in := range []string{"2026-1-5", "2026-02-30", "no date", " "} {
			d := ymd(2026, time.January, 5)
			err := d.UnmarshalText([]byte(in))
			assert.ErrorIs(t, err, budget.ErrInvalid, "%q", in)
			assert.True(t, d == ymd(2026, time.January, 5), "%q: a failed decode leaves the Date unchanged", in)
		}
	})
}

func TestParseDateRejectsYearsOutOfRange(t *testing.T) {
	for _, s := range []string{"0001-01-01", "0999-12-31"} {
		_, err := budget.ParseDate(s)
		assert.ErrorIs(t, err, budget.ErrInvalid, s)
	}
	for _, y := range []int{1, 999, 10000} {
		_, err := budget.NewDate(y, time.January, 1)
		assert.ErrorIs(t, err, budget.ErrInvalid, y)
	}
	d, err := budget.ParseDate("1000-01-01")
	require.NoError(t, err)
	assert.Equal(t, "1000-01-01", d.String())
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{
		"2026-01-05",
		"2024-02-29",
		"2026-02-29",
		"2026-12-31",
		"0000-01-01",
		"9999-12-31",
		"2026-1-5",
		"2026-01-32",
		"2026-13-01",
		"",
		"2026-01-05T00:00:00Z",
		" 2026-01-05",
		"+026-01-05",
		"no date",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := budget.ParseDate(s)
		if err != nil {
			if !errors.Is(err, budget.ErrInvalid) {
				t.Fatalf("ParseDate(%q): error %v does not wrap ErrInvalid", s, err)
			}
			if !d.IsZero() {
				t.Fatalf("ParseDate(%q) failed but returned %s", s, d)
			}
			return
		}
		if d.IsZero() {
			t.Fatalf("ParseDate(%q) succeeded with the zero Date", s)
		}
		if got := d.String(); got != s {
			t.Fatalf("ParseDate(%q).String() = %q: the only accepted form is the canonical one", s, got)
		}
		again, err := budget.ParseDate(d.String())
		if err != nil {
			t.Fatalf("ParseDate(%q).String() = %q does not parse: %v", s, d.String(), err)
		}
		if again != d {
			t.Fatalf("ParseDate(%q) re-parsed from %q is %s, not %s", s, d.String(), again, d)
		}
		text, err := d.MarshalText()
		if err != nil {
			t.Fatalf("MarshalText of %s: %v", d, err)
		}
		var back budget.Date
		if err := back.UnmarshalText(text); err != nil {
			t.Fatalf("UnmarshalText(%q): %v", text, err)
		}
		if back != d {
			t.Fatalf("text round trip of %s gave %s", d, back)
		}
	})
}

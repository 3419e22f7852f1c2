package budget

import (
	"fmt"
	"time"
)

// Date is a calendar day of the years 1000 to 9999, with no time of day or zone: budgets run over
// days. The zero Date is not a valid day. Dates compare with Before, After and ==, and encode as
// "2026-01-31".
type Date struct {
	t time.Time // midnight UTC of the day
}

const dateLayout = "2006-01-02"

// NewDate returns the day y-m-d; a day that does not exist (February 30) or a year outside 1000
// to 9999 is an error wrapping ErrInvalid.
func NewDate(y int, m time.Month, d int) (Date, error) {
	t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || t.Month() != m || t.Day() != d || y < 1000 || y > 9999 {
		return Date{}, fmt.Errorf("%w: %04d-%02d-%02d is not a day of the years 1000 to 9999", ErrInvalid, y, int(m), d)
	}
	return Date{t}, nil
}

// DateOf returns the day of t in t's location.
func DateOf(t time.Time) Date {
	return Date{time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}

// ParseDate parses "2026-01-31"; anything else, and years before 1000, are errors wrapping
// ErrInvalid.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || t.Year() < 1000 {
		return Date{}, fmt.Errorf("%w: date %q: want YYYY-MM-DD, years 1000 to 9999", ErrInvalid, s)
	}
	return Date{t}, nil
}

// IsZero reports whether d is the zero Date (no day).
func (d Date) IsZero() bool { return d.t.IsZero() }

// Before reports whether d is an earlier day than e.
func (d Date) Before(e Date) bool { return d.t.Before(e.t) }

// After reports whether d is a later day than e.
func (d Date) After(e Date) bool { return d.t.After(e.t) }

// AddDays returns the day n days after d (before it when n is negative).
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// String returns the day as "2026-01-31".
func (d Date) String() string {
	if d.IsZero() {
		return "no date"
	}
	return d.t.Format(dateLayout)
}

// MarshalText encodes the day as "2026-01-31"; the zero Date as "".
func (d Date) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return []byte{}, nil
	}
	return []byte(d.t.Format(dateLayout)), nil
}

// UnmarshalText decodes what MarshalText writes.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

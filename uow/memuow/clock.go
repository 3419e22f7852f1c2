package memuow

import (
	"sync"
	"time"
)

// Clock is a fake clock for tests: its time moves only when Advance or Set moves it. It
// satisfies interface{ Now() time.Time }, the clock the unit of work takes.
//
// A Clock is safe for concurrent use by multiple goroutines. The zero value is a clock stopped
// at the zero time.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock stopped at start, without its monotonic clock reading.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start.Round(0)}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d, which may be negative.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t, without its monotonic clock reading.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.Round(0)
}

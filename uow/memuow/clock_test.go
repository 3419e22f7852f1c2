package memuow_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

var _ uow.Clock = (*memuow.Clock)(nil)

func TestClock(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	c := memuow.NewClock(t0)
	require.Equal(t, t0, c.Now())
	require.Equal(t, t0, c.Now(), "it stands still")
	c.Advance(90 * time.Second)
	require.Equal(t, t0.Add(90*time.Second), c.Now())
	c.Advance(-time.Minute)
	require.Equal(t, t0.Add(30*time.Second), c.Now())
	c.Set(t0.Add(-time.Hour))
	require.Equal(t, t0.Add(-time.Hour), c.Now())

	var zero memuow.Clock
	require.True(t, zero.Now().IsZero())

	now := time.Now()
	require.Equal(t, now.Round(0), memuow.NewClock(now).Now(), "without the monotonic reading")
}

func TestClockConcurrent(t *testing.T) {
	c := memuow.NewClock(time.Time{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	require.Equal(t, time.Time{}.Add(800*time.Second), c.Now())
}

package pguow

import (
	"context"
	"time"
)

// Listen returns a channel that receives a value soon after any commit wrote outbox messages to
// this driver's tables, from any process: pass it as outbox.RelayOptions.Wake so an idle relay
// publishes at once instead of at its next poll. It LISTENs on a connection of its own, taken from
// the pool, until ctx is done; after a lost connection it reconnects (pausing a second between
// tries) and sends one value, since notifications may have been missed meanwhile. Values are
// coalesced: the channel holds at most one, and a relay that wakes drains everything due anyway.
// Polling stays the relay's fallback, so a notification lost in a crash costs at most a poll
// interval.
func (d *Driver) Listen(ctx context.Context) <-chan struct{} {
	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go func() {
		first := true
		for ctx.Err() == nil {
			if !first {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
			first = false
			d.listenOnce(ctx, signal)
		}
	}()
	return wake
}

// listenOnce holds one listening connection until it fails or ctx is done.
func (d *Driver) listenOnce(ctx context.Context, signal func()) {
	pc, err := d.pool.Acquire(ctx)
	if err != nil {
		return
	}
	conn := pc.Hijack() // a listening connection never goes back to the pool
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+quoteIdent(d.tables.Channel)); err != nil {
		return
	}
	signal() // anything committed before LISTEN took effect is due now
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return
		}
		signal()
	}
}

package pguow_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
)

// TestListenWakesOnCommittedMessages: a commit that writes a message, through another driver on
// the same tables (another process, say), wakes the listener; a commit without messages does
// not.
func TestListenWakesOnCommittedMessages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDriver(t, nil)
	wake := d.Listen(ctx)
	select {
	case <-wake: // the first signal once LISTEN is in place
	case <-time.After(10 * time.Second):
		t.Fatal("no signal once listening")
	}
	store := uow.NewStore(d, nil)

	require.NoError(t, uow.Do(ctx, store, func(context.Context, *uow.Unit) error { return nil }, nil))
	select {
	case <-wake:
		t.Fatal("woken by a commit that wrote no message")
	case <-time.After(200 * time.Millisecond):
	}

	require.NoError(t, uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "t", Key: "k", Name: "n"})
	}, nil))
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("a commit with a message did not wake the listener")
	}
}

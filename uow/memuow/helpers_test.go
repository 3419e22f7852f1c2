package memuow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// blockWindow is how long an operation must stay blocked to count as waiting for a lock.
const blockWindow = 50 * time.Millisecond

func begin(t testing.TB, d *memuow.Driver) *memuow.Tx {
	t.Helper()
	tx, err := d.Begin(t.Context())
	require.NoError(t, err)
	return tx.(*memuow.Tx)
}

// commit commits c in a new transaction.
func commit(t testing.TB, d *memuow.Driver, c *driver.Changes) error {
	t.Helper()
	return begin(t, d).Commit(t.Context(), c)
}

func writes(ws ...driver.Write) *driver.Changes { return &driver.Changes{Writes: ws} }

func ins(kind, id, data string) driver.Write {
	return driver.Write{Op: driver.Insert, Record: driver.Record{Kind: kind, ID: id, Data: []byte(data)}}
}

func upd(kind, id string, version int64, data string) driver.Write {
	return driver.Write{Op: driver.Update, Record: driver.Record{Kind: kind, ID: id, Version: version, Data: []byte(data)}}
}

func del(kind, id string, version int64) driver.Write {
	return driver.Write{Op: driver.Delete, Record: driver.Record{Kind: kind, ID: id, Version: version}}
}

func rec(kind, id string, version int64, data string) driver.Record {
	return driver.Record{Kind: kind, ID: id, Version: version, Data: []byte(data)}
}

func msg(id string) uow.Message {
	return uow.Message{ID: id, Topic: "t", Key: "k", Name: "n", Payload: []byte(`{}`)}
}

func mark(consumer, messageID string) driver.InboxMark {
	return driver.InboxMark{Consumer: consumer, MessageID: messageID, At: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// async runs f in a new goroutine and delivers its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// requireBlocked checks that ch stays empty for blockWindow.
func requireBlocked(t testing.TB, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("expected the operation to wait for a lock; it returned %v", err)
	case <-time.After(blockWindow):
	}
}

// await returns the error ch delivers, failing if it takes more than a few seconds.
func await(t testing.TB, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the operation is still blocked")
		return nil
	}
}

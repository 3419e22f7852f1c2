package uowtest

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// The clauses of this file use the driver's transactions directly, for obligations of driver.Tx
// that units do not exercise on their own.

// txCommit commits c in a fresh transaction, then rolls it back, which must do nothing.
func (e *env) txCommit(c *driver.Changes) error {
	e.t.Helper()
	tx, err := e.d.Begin(e.ctx)
	if err != nil {
		e.t.Fatalf("Driver.Begin: %v", err)
	}
	err = tx.Commit(e.ctx, c)
	if rerr := tx.Rollback(e.ctx); rerr != nil {
		e.t.Errorf("Tx.Rollback after Commit: %v, want nil", rerr)
	}
	return err
}

// txLoad loads records in a fresh transaction, keyed by ID.
func (e *env) txLoad(kind string, ids ...string) map[string]driver.Record {
	e.t.Helper()
	tx, err := e.d.Begin(e.ctx)
	if err != nil {
		e.t.Fatalf("Driver.Begin: %v", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	recs, err := tx.Load(e.ctx, kind, ids, uow.Optimistic)
	if err != nil {
		e.t.Fatalf("Tx.Load(%s, %v): %v", kind, ids, err)
	}
	out := make(map[string]driver.Record, len(recs))
	for _, r := range recs {
		if _, dup := out[r.ID]; dup {
			e.t.Errorf("Tx.Load(%s, %v) returned %s twice", kind, ids, r.ID)
		}
		out[r.ID] = r
	}
	return out
}

// wantRecord checks one loaded record.
func (e *env) wantRecord(recs map[string]driver.Record, kind, id string, version int64, data string) {
	e.t.Helper()
	r, ok := recs[id]
	switch {
	case !ok:
		e.t.Errorf("record %s %s: not loaded, want it at version %d", kind, id, version)
	case r.Kind != kind || r.ID != id:
		e.t.Errorf("record %s %s: loaded as kind %q ID %q", kind, id, r.Kind, r.ID)
	case r.Version != version:
		e.t.Errorf("record %s %s: version %d, want %d", kind, id, r.Version, version)
	case !jsonEqual(r.Data, []byte(data)):
		e.t.Errorf("record %s %s: data %s, want %s", kind, id, r.Data, data)
	}
}

func insert(kind, id, data string) driver.Write {
	return driver.Write{Op: driver.Insert, Record: driver.Record{Kind: kind, ID: id, Data: []byte(data)}}
}

func update(kind, id string, expected int64, data string) driver.Write {
	return driver.Write{Op: driver.Update, Record: driver.Record{Kind: kind, ID: id, Version: expected, Data: []byte(data)}}
}

func remove(kind, id string, expected int64) driver.Write {
	return driver.Write{Op: driver.Delete, Record: driver.Record{Kind: kind, ID: id, Version: expected}}
}

// testTxRecords: Tx.Load returns the stored records that exist; Tx.Commit inserts at version 1,
// updates and deletes with a version compare-and-set (ErrConflict otherwise), refuses a second
// insert (ErrDuplicate), keeps kinds apart, stores nothing of a failing commit, stores messages
// in the order given with every field, and refuses an existing inbox mark (ErrConflict).
func testTxRecords(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	const kind, other = "doc", "otherdoc"

	if got := e.txLoad(kind, "a"); len(got) != 0 {
		t.Errorf("Tx.Load of a missing ID returned %v, want nothing", got)
	}
	noErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{
		insert(kind, "a", `{"v":1,"s":"x"}`),
		insert(kind, "b", `{"v":2}`),
	}}), "Tx.Commit of two inserts")
	got := e.txLoad(kind, "a", "b", "c")
	if len(got) != 2 {
		t.Errorf("Tx.Load(a, b, c) returned %d records, want 2 (c does not exist)", len(got))
	}
	e.wantRecord(got, kind, "a", 1, `{"v":1,"s":"x"}`)
	e.wantRecord(got, kind, "b", 1, `{"v":2}`)

	wantErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{insert(kind, "c", `{}`), insert(kind, "a", `{"v":9}`)}}),
		uow.ErrDuplicate, "Tx.Commit inserting an existing record")
	wantErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{insert(kind, "c", `{}`), update(kind, "a", 7, `{"v":9}`)}}),
		uow.ErrConflict, "Tx.Commit updating a record at the wrong version")
	got = e.txLoad(kind, "a", "c")
	e.wantRecord(got, kind, "a", 1, `{"v":1,"s":"x"}`)
	if _, ok := got["c"]; ok {
		t.Errorf("record %s c was inserted by commits that failed", kind)
	}

	noErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{update(kind, "a", 1, `{"v":10}`)}}), "Tx.Commit updating at the stored version")
	e.wantRecord(e.txLoad(kind, "a"), kind, "a", 2, `{"v":10}`)
	for _, c := range []struct {
		name string
		w    driver.Write
	}{
		{"updating a record at an old version", update(kind, "a", 1, `{"v":11}`)},
		{"updating a missing record", update(kind, "zz", 1, `{"v":11}`)},
		{"deleting a record at an old version", remove(kind, "a", 1)},
		{"deleting a missing record", remove(kind, "zz", 1)},
	} {
		wantErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{c.w}}), uow.ErrConflict, "Tx.Commit "+c.name)
	}
	e.wantRecord(e.txLoad(kind, "a"), kind, "a", 2, `{"v":10}`)

	noErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{remove(kind, "a", 2)}}), "Tx.Commit deleting at the stored version")
	if got := e.txLoad(kind, "a"); len(got) != 0 {
		t.Errorf("Tx.Load after the delete returned %v, want nothing", got)
	}
	noErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{insert(kind, "a", `{"v":20}`)}}), "Tx.Commit inserting a deleted ID again")
	e.wantRecord(e.txLoad(kind, "a"), kind, "a", 1, `{"v":20}`)

	if got := e.txLoad(other, "a", "b"); len(got) != 0 {
		t.Errorf("Tx.Load of kind %s returned records of kind %s: %v", other, kind, got)
	}
	noErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{insert(other, "b", `{"o":true}`)}}), "Tx.Commit inserting an ID another kind uses")
	e.wantRecord(e.txLoad(other, "b"), other, "b", 1, `{"o":true}`)
	e.wantRecord(e.txLoad(kind, "b"), kind, "b", 1, `{"v":2}`)

	// Messages: stored in the order given, every field kept.
	before := len(e.messages())
	at := e.clock.Now()
	msgs := []uow.Message{
		{ID: uuid.Must(uuid.NewV7()).String(), Topic: "t1", Key: "k1", Name: "n.first", Payload: []byte(`{"i":1}`),
			Headers: map[string]string{"h": "v", uow.HeaderCorrelationID: "corr"}, CreatedAt: at},
		{ID: uuid.Must(uuid.NewV7()).String(), Topic: "t2", Key: "k2", Name: "n.second", Payload: []byte(`{"i":2,"s":"two"}`),
			CreatedAt: at, DeliverAfter: at.Add(90 * time.Minute)},
		{ID: uuid.Must(uuid.NewV7()).String(), Topic: "t1", Key: "k1", Name: "n.third", Payload: []byte(`[1,2,3]`),
			CreatedAt: at.Add(time.Second)},
	}
	noErr(t, e.txCommit(&driver.Changes{Messages: msgs}), "Tx.Commit of messages only")
	stored := e.messages()
	if len(stored) != before+len(msgs) {
		t.Fatalf("after committing %d messages the outbox holds %d, want %d", len(msgs), len(stored), before+len(msgs))
	}
	for i, want := range msgs {
		wantMessage(t, stored[before+i], want, "stored message "+want.Name)
	}

	if !e.caps().inbox {
		return
	}
	mark := driver.InboxMark{Consumer: "tx-consumer", MessageID: "tx-message", At: at}
	noErr(t, e.txCommit(&driver.Changes{Inbox: []driver.InboxMark{mark}}), "Tx.Commit of an inbox mark")
	tx, err := e.d.Begin(e.ctx)
	if err != nil {
		t.Fatalf("Driver.Begin: %v", err)
	}
	done, err := tx.(driver.InboxReader).Processed(e.ctx, mark.Consumer, mark.MessageID)
	_ = tx.Rollback(e.ctx)
	if err != nil || !done {
		t.Errorf("Processed of a committed mark = %v, %v; want true, nil", done, err)
	}
	wantErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{insert(kind, "d", `{}`)}, Inbox: []driver.InboxMark{mark}}),
		uow.ErrConflict, "Tx.Commit of an inbox mark that exists")
	if got := e.txLoad(kind, "d"); len(got) != 0 {
		t.Errorf("record %s d was inserted by a commit whose inbox mark conflicted", kind)
	}
}

// wantMessage checks that a stored message equals the one committed.
func wantMessage(t testing.TB, got, want uow.Message, what string) {
	t.Helper()
	if got.ID != want.ID || got.Topic != want.Topic || got.Key != want.Key || got.Name != want.Name {
		t.Errorf("%s: ID, topic, key, name = %q, %q, %q, %q; want %q, %q, %q, %q", what,
			got.ID, got.Topic, got.Key, got.Name, want.ID, want.Topic, want.Key, want.Name)
	}
	if !jsonEqual(got.Payload, want.Payload) {
		t.Errorf("%s: payload %s, want %s", what, got.Payload, want.Payload)
	}
	if !headersEqual(got.Headers, want.Headers) {
		t.Errorf("%s: headers %v, want %v", what, got.Headers, want.Headers)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s: created at %v, want %v", what, got.CreatedAt, want.CreatedAt)
	}
	if !got.DeliverAfter.Equal(want.DeliverAfter) {
		t.Errorf("%s: deliver after %v, want %v", what, got.DeliverAfter, want.DeliverAfter)
	}
}

// headersEqual compares headers, a nil map equal to an empty one.
func headersEqual(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return maps.Equal(a, b)
}

// testTxEnd: a transaction ends with one Commit or Rollback; Rollback after Commit (successful or
// not), or a second Rollback, returns nil; an empty commit succeeds.
func testTxEnd(t testing.TB, newDriver func(testing.TB) driver.Driver) {
	e := start(t, newDriver)
	begin := func() driver.Tx {
		t.Helper()
		tx, err := e.d.Begin(e.ctx)
		if err != nil {
			t.Fatalf("Driver.Begin: %v", err)
		}
		return tx
	}

	tx := begin()
	noErr(t, tx.Rollback(e.ctx), "Tx.Rollback")
	noErr(t, tx.Rollback(e.ctx), "Tx.Rollback a second time")

	tx = begin()
	noErr(t, tx.Commit(e.ctx, &driver.Changes{}), "Tx.Commit of empty changes")
	noErr(t, tx.Rollback(e.ctx), "Tx.Rollback after Commit")

	tx = begin()
	wantErr(t, tx.Commit(e.ctx, &driver.Changes{Writes: []driver.Write{update("doc", "missing", 3, `{}`)}}),
		uow.ErrConflict, "Tx.Commit updating a missing record")
	noErr(t, tx.Rollback(e.ctx), "Tx.Rollback after a failed Commit")

	// A rolled-back transaction's loads leave nothing behind: the next one writes freely.
	tx = begin()
	if _, err := tx.Load(e.ctx, "doc", []string{"x"}, uow.ForUpdate); err != nil {
		t.Errorf("Tx.Load ForUpdate of a missing ID: %v", err)
	}
	noErr(t, tx.Rollback(e.ctx), "Tx.Rollback after a load")
	noErr(t, e.txCommit(&driver.Changes{Writes: []driver.Write{insert("doc", "x", `{"ok":true}`)}}), "Tx.Commit after a rolled-back load")
	if names := slices.Collect(maps.Keys(e.txLoad("doc", "x"))); strings.Join(names, ",") != "x" {
		t.Errorf("Tx.Load(x) after inserting x returned %v", names)
	}
}

package memuow_test

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
)

// model is the reference the driver is checked against: the committed state as plain maps.
type model struct {
	records map[string]driver.Record // by kind/id
	marks   map[string]bool          // by consumer/id
	msgs    []string                 // message IDs
}

func (m model) clone() model {
	return model{records: maps.Clone(m.records), marks: maps.Clone(m.marks), msgs: append([]string(nil), m.msgs...)}
}

// apply returns the model after committing c, or the sentinel error the commit fails with.
func (m model) apply(c *driver.Changes) (model, error) {
	next := m.clone()
	for _, w := range c.Writes {
		k := w.Record.Kind + "/" + w.Record.ID
		cur, ok := next.records[k]
		switch w.Op {
		case driver.Insert:
			if ok {
				return m, uow.ErrDuplicate
			}
			next.records[k] = driver.Record{Kind: w.Record.Kind, ID: w.Record.ID, Version: 1, Data: w.Record.Data}
		case driver.Update:
			if !ok || cur.Version != w.Record.Version {
				return m, uow.ErrConflict
			}
			next.records[k] = driver.Record{Kind: w.Record.Kind, ID: w.Record.ID, Version: cur.Version + 1, Data: w.Record.Data}
		case driver.Delete:
			if !ok || cur.Version != w.Record.Version {
				return m, uow.ErrConflict
			}
			delete(next.records, k)
		}
	}
	for _, mk := range c.Inbox {
		k := mk.Consumer + "/" + mk.MessageID
		if next.marks[k] {
			return m, uow.ErrConflict
		}
		next.marks[k] = true
	}
	for _, msg := range c.Messages {
		next.msgs = append(next.msgs, msg.ID)
	}
	return next, nil
}

var (
	propKinds = []string{"k1", "k2"}
	propIDs   = []string{"a", "b", "c"}
	propMsgs  = []string{"m1", "m2", "m3", "m4"}
)

// observe reads the driver's committed state into a model.
func observe(t *rapid.T, d *memuow.Driver) model {
	m := model{records: map[string]driver.Record{}, marks: map[string]bool{}}
	for _, kind := range propKinds {
		n := 0
		for _, id := range propIDs {
			if r, ok := d.Get(kind, id); ok {
				m.records[kind+"/"+id] = r
				n++
			}
		}
		require.Equal(t, n, d.Count(kind))
	}
	tx, err := d.Begin(t.Context())
	require.NoError(t, err)
	for _, id := range propMsgs {
		ok, err := tx.(driver.InboxReader).Processed(t.Context(), "c", id)
		require.NoError(t, err)
		if ok {
			m.marks["c/"+id] = true
		}
	}
	require.NoError(t, tx.Rollback(t.Context()))
	require.Equal(t, len(m.marks), d.InboxLen())
	for _, msg := range d.Messages() {
		m.msgs = append(m.msgs, msg.ID)
	}
	return m
}

// drawChanges draws a commit against the model's state: versions are mostly the current ones,
// so that many commits succeed, and sometimes arbitrary.
func drawChanges(t *rapid.T, m model, label string, seq *int) *driver.Changes {
	c := &driver.Changes{}
	for i := range rapid.IntRange(0, 3).Draw(t, label+" writes") {
		kind := rapid.SampledFrom(propKinds).Draw(t, fmt.Sprintf("%s kind %d", label, i))
		id := rapid.SampledFrom(propIDs).Draw(t, fmt.Sprintf("%s id %d", label, i))
		op := rapid.SampledFrom([]driver.Op{driver.Insert, driver.Update, driver.Delete}).Draw(t, fmt.Sprintf("%s op %d", label, i))
		version := m.records[kind+"/"+id].Version
		if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("%s stale %d", label, i)) == 0 {
			version = rapid.Int64Range(0, 4).Draw(t, fmt.Sprintf("%s version %d", label, i))
		}
		*seq++
		data := []byte(`{"seq":` + strconv.Itoa(*seq) + `}`)
		if op == driver.Delete {
			data = nil
		}
		if op == driver.Insert {
			version = 0
		}
		c.Writes = append(c.Writes, driver.Write{Op: op, Record: driver.Record{Kind: kind, ID: id, Version: version, Data: data}})
	}
	for range rapid.IntRange(0, 2).Draw(t, label+" messages") {
		*seq++
		c.Messages = append(c.Messages, uow.Message{ID: strconv.Itoa(*seq)})
	}
	for i := range rapid.IntRange(0, 2).Draw(t, label+" marks") {
		id := rapid.SampledFrom(propMsgs).Draw(t, fmt.Sprintf("%s mark %d", label, i))
		c.Inbox = append(c.Inbox, driver.InboxMark{Consumer: "c", MessageID: id})
	}
	return c
}

func classify(err error) error {
	for _, sentinel := range []error{uow.ErrDuplicate, uow.ErrConflict, memuow.ErrFault} {
		if errors.Is(err, sentinel) {
			return sentinel
		}
	}
	return err
}

// TestPropertyMatchesModel checks that for random commits of two interleaved transactions, with
// random faults, the driver's committed state is the model's, and a failed commit changes
// nothing (an After fault aside, which stores the commit by design).
func TestPropertyMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := memuow.New(nil)
		m := model{records: map[string]driver.Record{}, marks: map[string]bool{}}
		seq := 0
		// The fault the model expects next: "" (none), "before" or "after".
		pending := ""
		for step := range rapid.IntRange(1, 15).Draw(t, "steps") {
			if pending == "" {
				switch rapid.IntRange(0, 5).Draw(t, fmt.Sprintf("fault %d", step)) {
				case 0:
					d.InjectFault(memuow.Fault{})
					pending = "before"
				case 1:
					d.InjectFault(memuow.Fault{After: true})
					pending = "after"
				}
			}
			txs := make([]driver.Tx, 2)
			for i := range txs {
				tx, err := d.Begin(t.Context())
				require.NoError(t, err)
				txs[i] = tx
			}
			changes := []*driver.Changes{drawChanges(t, m, "tx0", &seq), drawChanges(t, m, "tx1", &seq)}
			if rapid.Bool().Draw(t, fmt.Sprintf("swap %d", step)) {
				txs[0], txs[1] = txs[1], txs[0]
			}
			for i, tx := range txs {
				want, wantErr := m.apply(changes[i])
				storedAnyway := false
				switch {
				case pending == "before":
					want, wantErr, pending = m, memuow.ErrFault, ""
				case pending == "after" && wantErr == nil:
					wantErr, pending, storedAnyway = memuow.ErrFault, "", true
				}
				before := observe(t, d)
				err := tx.Commit(t.Context(), changes[i])
				require.Equal(t, wantErr, classify(err), "commit %v", changes[i])
				got := observe(t, d)
				if err != nil && !storedAnyway {
					require.Equal(t, before, got, "a failed commit changes nothing")
				}
				require.Equal(t, want, got)
				m = want
			}
		}
	})
}

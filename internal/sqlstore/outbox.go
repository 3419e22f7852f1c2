package sqlstore

import (
	"fmt"
	"time"

	"github.com/dddkit/ddd/uow/driver"
)

// messageScanner scans rows of the columns of its before destinations, then msgCols, into
// destinations it reuses from row to row: one allocation per query, not several per row.
type messageScanner struct {
	id, topic, key, name string
	payload, headers     []byte
	created              int64
	after                *int64
	dest                 []any
}

// newMessageScanner returns a scanner of rows whose first columns go to before.
func newMessageScanner(before ...any) *messageScanner {
	s := &messageScanner{}
	s.dest = append(before, &s.id, &s.topic, &s.key, &s.name, &s.payload, &s.headers, &s.created, &s.after)
	return s
}

// scan scans the current row: its first columns into the before destinations, the rest into
// the message returned. A []byte destination gets a copy of the column, from database/sql and
// from pgx alike, so the payload is the message's own.
func (s *messageScanner) scan(scan func(...any) error) (driver.Message, error) {
	if err := scan(s.dest...); err != nil {
		return driver.Message{}, err
	}
	m := driver.Message{ID: s.id, Topic: s.topic, Key: s.key, Name: s.name, Payload: s.payload,
		CreatedAt: time.UnixMicro(s.created).UTC()}
	if s.after != nil {
		m.DeliverAfter = time.UnixMicro(*s.after).UTC()
	}
	var err error
	if m.Headers, err = decodeHeaders(s.headers); err != nil {
		return m, fmt.Errorf("headers of outbox message %s: %w", m.ID, err)
	}
	return m, nil
}

package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/dddkit/ddd/uow"
)

// ReadMessages returns every committed outbox message in the order stored (by seq): the
// drivers' Messages inspection helper for tests and tooling. Payload is nil where NULL, times
// are UTC, DeliverAfter is zero where NULL.
func ReadMessages(ctx context.Context, c Conn, d *Dialect, t Tables) ([]uow.Message, error) {
	out := []uow.Message{}
	q := "SELECT " + msgCols + " FROM " + t.Outbox + " o ORDER BY o.seq"
	err := c.Query(ctx, q, nil, func(scan func(...any) error) error {
		m, err := scanMessage(scan)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: reading the outbox: %w", d.Name, d.Classify(err))
	}
	return out, nil
}

// scanMessage scans a row of the columns before, then msgCols, into dest and a message.
func scanMessage(scan func(...any) error, before ...any) (uow.Message, error) {
	var (
		m                uow.Message
		payload, headers []byte
		created          int64
		after            *int64
	)
	dest := append(before, &m.ID, &m.Topic, &m.Key, &m.Name, &payload, &headers, &created, &after)
	if err := scan(dest...); err != nil {
		return m, err
	}
	if payload != nil {
		m.Payload = append([]byte{}, payload...)
	}
	var err error
	if m.Headers, err = decodeHeaders(headers); err != nil {
		return m, fmt.Errorf("headers of outbox message %s: %w", m.ID, err)
	}
	m.CreatedAt = time.UnixMicro(created).UTC()
	if after != nil {
		m.DeliverAfter = time.UnixMicro(*after).UTC()
	}
	return m, nil
}

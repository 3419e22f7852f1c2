package pguow

import (
	"context"
	"errors"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dddkit/ddd/internal/sqlstore"
)

// Key lanes partition the relay's claims by message key, so that a claim needs no probe of each
// message's earlier ones: every message belongs to lane hashtext(msg_key) & 31, and a claim
// (held or leased) first takes lanes, as transaction-scoped advisory locks, then selects only
// messages of its lanes. Two claims never share a lane, so no other claim holds an earlier
// message of a key a claim takes, and the claim needs to skip only the messages of migration
// 0005's index (parked, retrying, delayed, leased).
//
// A held claim takes every free lane while its relay is alone, and at most half of them for a
// while after a claim met a lane taken by another, so that two busy relays split the keys
// between them; a claim of half the lanes that finds nothing due tries again with every free
// lane, so that it never reports an empty outbox while messages wait in lanes nobody holds. A
// claim that finds no lane free waits for one, at most laneWait: the relay that holds them all is
// then publishing, and the lock is granted to the waiting claim when that relay's claim ends (the
// busy relay, meeting the lane at its next claim, then takes half). A claim that got none is
// empty and says so (driver.Contention), and its relay claims again at once.
const (
	laneCount    = 32
	laneWait     = 25 * time.Millisecond
	contendedFor = 2 * time.Second
)

// laneTakeSQL takes the lanes of a claim's transaction: it tries the lanes in the order of $2
// (int4[]) until it holds $3 of them, or, when none is free, waits for lane $4 (up to the
// transaction's lock_timeout). It stores the bitmask of the lanes taken in the transaction's
// setting ddd.lanes, for laneFilter, and returns it. It must run before the claim's select, as a
// statement of its own: a statement's snapshot is taken when it starts, and the select must see
// what the lanes' previous holders committed.
const laneTakeSQL = "SELECT set_config('ddd.lanes', m::text, true)::bigint FROM (SELECT COALESCE(" +
	"(SELECT bit_or(1::bigint << l) FROM (SELECT l FROM unnest($2::int4[]) AS u(l) WHERE pg_try_advisory_xact_lock($1::int4, l) LIMIT $3) s), " +
	"(SELECT 1::bigint << $4::int4 FROM (SELECT pg_advisory_xact_lock($1::int4, $4::int4)) w)) AS m) x"

// laneFilter is the condition that message o is in one of the lanes laneTakeSQL took; with all
// of them taken it is true without hashing the key.
var laneFilter = "((SELECT current_setting('ddd.lanes', true)::bigint) = " + strconv.Itoa(1<<laneCount-1) +
	" OR ((SELECT current_setting('ddd.lanes', true)::bigint) >> (hashtext(o.msg_key) & " + strconv.Itoa(laneCount-1) + ")) & 1 = 1)"

// lanes is the lane state of one outbox table: the advisory lock class of its lanes, and until
// when its claims take at most half of them.
type lanes struct {
	class int32
	half  atomic.Int64 // unix nanoseconds
}

// newLanes returns the lanes of the outbox table named table (quoted and qualified), whose lock
// class is a hash of the name, so that two tables' lanes are distinct.
func newLanes(table string) *lanes {
	return &lanes{class: hash32(table)}
}

// want returns how many lanes a held claim asks for: all of them, or half for contendedFor after
// a claim of this process met a lane taken by another.
func (l *lanes) want() int {
	if time.Now().UnixNano() < l.half.Load() {
		return laneCount / 2
	}
	return laneCount
}

// take returns laneTakeSQL's arguments for a claim asking for want lanes, tried from a random
// one on.
func (l *lanes) take(want int) []any {
	start := rand.N(int32(laneCount))
	order := make([]int32, laneCount)
	for i := range order {
		order[i] = (start + int32(i)) % laneCount
	}
	return []any{l.class, order, want, start}
}

// taken records the lanes a claim took: fewer than it asked for means another claim holds lanes,
// and this process's claims take at most half for contendedFor.
func (l *lanes) taken(mask int64, want int) {
	if bits.OnesCount64(uint64(mask)) < want {
		l.half.Store(time.Now().Add(contendedFor).UnixNano())
	}
}

// takeIn implements sqlstore.Lanes.Take for a leased claim's transaction c: it takes every free
// lane (a leased claim's transaction is short, and then ends).
func (l *lanes) takeIn(ctx context.Context, c sqlstore.Conn) error {
	_, err := c.Exec(ctx, []sqlstore.Stmt{{SQL: laneTimeoutSQL}, {SQL: laneTakeSQL, Args: l.take(laneCount)}})
	return noLanes(err)
}

// laneTimeoutSQL bounds the wait of laneTakeSQL for a free lane.
var laneTimeoutSQL = "SET LOCAL lock_timeout = " + strconv.FormatInt(laneWait.Milliseconds(), 10)

// noLanes returns sqlstore.ErrNoLanes for the lock timeout of a claim that found no lane free,
// and err otherwise. It records no contention: a relay learns of another once one of its claims
// gets fewer lanes than it asked for, as the one holding every lane does at its next claim after
// a lane was granted to the other's waiting claim, and as that waiting claim does.
func noLanes(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" {
		return sqlstore.ErrNoLanes
	}
	return err
}

package pguow

import (
	"hash/fnv"
	"slices"

	"github.com/dddkit/ddd/internal/sqlstore"
)

// The messages of a key are stored in the order their units commit (driver.Tx.Commit). An outbox
// row gets its seq when it is inserted, not when its transaction commits, so without more a
// unit that inserts a message and commits after another unit inserting one of the same key would
// still come first. A commit that stores messages therefore first takes a transaction-scoped
// advisory lock per message key, in the same batch as its writes, after the record writes and
// right before the message inserts: a second commit with one of those keys waits there until the
// first has committed, and its messages come later in seq. The locks are of the two-int4 kind
// (class: a hash of the outbox table's name; object: a 32-bit hash of the key), which share
// nothing with Unit.Lock's 64-bit ones; two keys with one hash only serialise more than needed.
// They are taken in ascending order and after every row lock of the commit, so commits never
// deadlock on them.
const (
	lockOutboxKeySQL  = "SELECT pg_advisory_xact_lock($1::int4, $2::int4)"
	lockOutboxKeysSQL = "SELECT pg_advisory_xact_lock($1::int4, k) FROM unnest($2::int4[]) AS u(k) ORDER BY k"
)

// outboxKeyLocker returns the Dialect.LockOutboxKeys of the outbox table named table (quoted and
// qualified).
func outboxKeyLocker(table string) func(keys []string) sqlstore.Stmt {
	class := hash32(table + "\x00message keys")
	return func(keys []string) sqlstore.Stmt {
		ids := make([]int32, len(keys))
		for i, k := range keys {
			ids[i] = hash32(k)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if len(ids) == 1 {
			return sqlstore.Stmt{SQL: lockOutboxKeySQL, Args: []any{class, ids[0]}}
		}
		return sqlstore.Stmt{SQL: lockOutboxKeysSQL, Args: []any{class, ids}}
	}
}

// hash32 is FNV-1a of s, as the int4 an advisory lock takes.
func hash32(s string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return int32(h.Sum32())
}

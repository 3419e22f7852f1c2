package mysqluow

import (
	"hash/fnv"
	"slices"
	"strings"

	"github.com/dddkit/ddd/internal/sqlstore"
)

// The messages of a key are stored in the order their units commit (driver.Tx.Commit). An outbox
// row gets its seq (AUTO_INCREMENT) when it is inserted, not when its transaction commits, so
// without more a unit that inserts a message and commits after another unit inserting one of the
// same key would still come first. A commit that stores messages therefore first locks, with
// SELECT ... FOR UPDATE, the rows of the lock table (migration 0003) that its keys hash to: a
// second commit with one of those keys waits there until the first has committed (InnoDB releases
// row locks at COMMIT), and its messages come later in seq. Two keys of one slot only serialise
// more than needed. The slots are locked in ascending order, in one statement, after every row
// write of the commit, so commits never deadlock on them; a wait longer than
// innodb_lock_wait_timeout is a conflict, like any lock wait. It costs a commit that stores
// messages one round trip.

// outboxSlots is the number of rows of the lock table.
const outboxSlots = 1 << 16

// outboxKeyLocker returns the Dialect.LockOutboxKeys of the lock table named table (quoted).
func outboxKeyLocker(table string) func(keys []string) sqlstore.Stmt {
	return func(keys []string) sqlstore.Stmt {
		slots := make([]uint32, len(keys))
		for i, k := range keys {
			h := fnv.New32a()
			_, _ = h.Write([]byte(k))
			slots[i] = h.Sum32() % outboxSlots
		}
		slices.Sort(slots)
		slots = slices.Compact(slots)
		args := make([]any, len(slots))
		for i, s := range slots {
			args[i] = int64(s)
		}
		return sqlstore.Stmt{
			SQL:  "SELECT slot FROM " + table + " WHERE slot IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(slots)), ", ") + ") ORDER BY slot FOR UPDATE",
			Args: args,
		}
	}
}

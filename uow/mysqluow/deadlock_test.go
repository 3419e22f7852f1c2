package mysqluow_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// deadlockCounter is a Driver whose transactions count the deadlocks (error 1213) the server
// reports to them.
type deadlockCounter struct {
	*mysqluow.Driver
	n *atomic.Int64
}

func (d deadlockCounter) Begin(ctx context.Context) (driver.Tx, error) {
	tx, err := d.Driver.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return deadlockCountingTx{Tx: tx.(*sqlstore.Tx), n: d.n}, nil
}

type deadlockCountingTx struct {
	*sqlstore.Tx
	n *atomic.Int64
}

func (t deadlockCountingTx) count(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1213 {
		t.n.Add(1)
	}
	return err
}

func (t deadlockCountingTx) Load(ctx context.Context, kind string, ids []string, lock uow.Lock) ([]driver.Record, error) {
	recs, err := t.Tx.Load(ctx, kind, ids, lock)
	return recs, t.count(err)
}

func (t deadlockCountingTx) LockKeys(ctx context.Context, keys []string) error {
	return t.count(t.Tx.LockKeys(ctx, keys))
}

func (t deadlockCountingTx) Commit(ctx context.Context, c *driver.Changes) error {
	return t.count(t.Tx.Commit(ctx, c))
}

// TestMixedStrategiesNoDeadlock: units of every locking strategy on shared aggregates
// (uowtest.MixedStrategies, three rounds with table prefixes of their own) meet no deadlock:
// commits write their rows in one order and lock their message keys after them, so units wait
// for each other and never deadlock. None of the test's transactions is told of a deadlock
// (error 1213), and the server's Innodb_deadlocks does not move, unless the deadlock it last
// detected is another test's, elsewhere on the server (the counter is server-wide).
func TestMixedStrategiesNoDeadlock(t *testing.T) {
	ctx := t.Context()
	dsn, db := newDatabase(t)
	var name string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name))
	serverDeadlocks := func() int64 {
		var variable string
		var n int64
		require.NoError(t, db.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'").Scan(&variable, &n))
		return n
	}

	var told atomic.Int64
	before := serverDeadlocks()
	for _, prefix := range []string{"a_", "b_", "c_"} {
		d := open(t, dsn, &mysqluow.Options{Prefix: prefix})
		require.NoError(t, d.Migrate(ctx))
		uowtest.MixedStrategies(t, deadlockCounter{Driver: d, n: &told})
	}
	require.Zero(t, told.Load(), "deadlocks reported to the test's transactions")
	if serverDeadlocks() != before {
		var typ, name2, status string
		require.NoError(t, db.QueryRowContext(ctx, "SHOW ENGINE INNODB STATUS").Scan(&typ, &name2, &status))
		_, latest, _ := strings.Cut(status, "LATEST DETECTED DEADLOCK")
		latest, _, _ = strings.Cut(latest, "\nTRANSACTIONS\n")
		require.NotContains(t, latest, "`"+name+"`", "the server's latest deadlock is in the test's database")
		t.Logf("Innodb_deadlocks moved, by a deadlock elsewhere on the server (another test's)")
	}
}

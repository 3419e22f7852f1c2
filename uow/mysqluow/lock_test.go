package mysqluow_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/mysqluow"
)

// lockWithin runs a unit on s that locks keys within d and commits, once: conflicts are not
// retried.
func lockWithin(ctx context.Context, s *uow.Store, d time.Duration, keys ...string) error {
	short, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return uow.Do(short, s, func(ctx context.Context, u *uow.Unit) error { return u.Lock(ctx, keys...) }, &uow.DoOptions{MaxAttempts: 1})
}

// Named locks are session-scoped: however a unit ends, its connection goes back to the pool
// without them. The pool has one connection, so each unit reuses the session of the one before.
func TestLocksReleasedWithTheUnit(t *testing.T) {
	ctx := t.Context()
	dsn, _ := newDatabase(t)
	d := open(t, dsn, nil)
	require.NoError(t, d.Migrate(ctx))
	d.DB().SetMaxOpenConns(1)
	s := uow.NewStore(d, nil)
	seedCounter(t, s, "x")
	other := uow.NewStore(open(t, dsn, nil), nil)

	for _, c := range []struct {
		name string
		end  func(u *uow.Unit) error
	}{
		{"commit", func(u *uow.Unit) error { return u.Commit(ctx) }},
		{"empty commit", func(u *uow.Unit) error { return u.Commit(ctx) }},
		{"rollback", func(u *uow.Unit) error { return u.Rollback(ctx) }},
		{"failed commit", func(u *uow.Unit) error {
			c, err := uow.Repo[counter, counterID](u).Get(ctx, "x")
			require.NoError(t, err)
			c.Inc()
			require.NoError(t, increment(ctx, other, "x"))
			require.ErrorIs(t, u.Commit(ctx), uow.ErrConflict)
			return nil
		}},
		{"failed lock", func(u *uow.Unit) error {
			cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			holder := begin(t, other)
			require.NoError(t, holder.Lock(ctx, "busy"))
			require.ErrorIs(t, u.Lock(cctx, "busy"), context.DeadlineExceeded)
			require.NoError(t, holder.Rollback(ctx))
			return u.Rollback(ctx)
		}},
	} {
		u, err := s.Begin(ctx)
		require.NoError(t, err)
		require.NoError(t, u.Lock(ctx, "k1", "k2"), c.name)
		require.NoError(t, u.Lock(ctx, "k2", "k3"), c.name+": re-locking")
		require.NoError(t, c.end(u), c.name)
		require.NoError(t, lockWithin(ctx, other, 5*time.Second, "k1", "k2", "k3"), "another store locking the keys after a unit's %s", c.name)
		require.NoError(t, lockWithin(ctx, s, 5*time.Second, "k1"), "the pool works after a unit's %s", c.name)
	}
}

// A key another transaction holds longer than LockTimeout fails with ErrConflict.
func TestLockTimeout(t *testing.T) {
	ctx := t.Context()
	dsn, _ := newDatabase(t)
	d := open(t, dsn, &mysqluow.Options{LockTimeout: 300 * time.Millisecond}) // rounded up to 1 s
	require.NoError(t, d.Migrate(ctx))
	s := uow.NewStore(d, nil)

	holder := begin(t, s)
	require.NoError(t, holder.Lock(ctx, "k"))
	start := time.Now()
	err := lockWithin(ctx, s, 10*time.Second, "k")
	require.ErrorIs(t, err, uow.ErrConflict)
	require.Contains(t, err.Error(), "lock wait timeout")
	waited := time.Since(start)
	require.Greater(t, waited, 500*time.Millisecond)
	require.Less(t, waited, 8*time.Second)

	// Row locks wait as long (innodb_lock_wait_timeout, set by Open).
	seedCounter(t, s, "x")
	_, err = uow.Repo[counter, counterID](holder).GetForUpdate(ctx, "x")
	require.NoError(t, err)
	err = uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		_, err := uow.Repo[counter, counterID](u).GetForUpdate(ctx, "x")
		return err
	}, &uow.DoOptions{MaxAttempts: 1})
	require.ErrorIs(t, err, uow.ErrConflict)
	require.NoError(t, holder.Rollback(ctx))
}

// Keys longer than a lock name allows are hashed: long keys lock apart, and each one locks.
func TestLongKeys(t *testing.T) {
	ctx := t.Context()
	d, _ := newDriver(t, nil)
	s := uow.NewStore(d, nil)
	long := strings.Repeat("k", 200)

	holder := begin(t, s)
	require.NoError(t, holder.Lock(ctx, long+"1", "é-ключ", "\xff"))
	require.NoError(t, lockWithin(ctx, s, 5*time.Second, long+"2", "é", "\xfe"), "keys that differ from the held ones")
	for _, key := range []string{long + "1", "é-ключ", "\xff"} {
		err := lockWithin(ctx, s, 200*time.Millisecond, key)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "locking held key %q: %v", key, err)
	}
}

// Named locks are server-wide; each store locks in a name space of its own (database and
// prefix), so two stores on one server never wait for each other's keys.
func TestLocksPerStore(t *testing.T) {
	ctx := t.Context()
	dsn, _ := newDatabase(t)
	plain := open(t, dsn, nil)
	app := open(t, dsn, &mysqluow.Options{Prefix: "app_"})
	require.NoError(t, plain.Migrate(ctx))
	require.NoError(t, app.Migrate(ctx))
	elsewhere, _ := newDriver(t, nil)

	holder := begin(t, uow.NewStore(plain, nil))
	require.NoError(t, holder.Lock(ctx, "k"))
	require.NoError(t, lockWithin(ctx, uow.NewStore(app, nil), 5*time.Second, "k"), "a store with another prefix")
	require.NoError(t, lockWithin(ctx, uow.NewStore(elsewhere, nil), 5*time.Second, "k"), "a store in another database")
	require.ErrorIs(t, lockWithin(ctx, uow.NewStore(open(t, dsn, nil), nil), 200*time.Millisecond, "k"), context.DeadlineExceeded,
		"another driver on the same store")
}

package backend_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer/internal/backend"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	t.Chdir(t.TempDir())

	b, err := backend.Open(ctx, "memory", nil)
	require.NoError(t, err)
	assert.Equal(t, "memory", b.Kind)
	require.NoError(t, b.Close())

	b, err = backend.Open(ctx, "", nil)
	require.NoError(t, err)
	assert.Equal(t, "sqlite", b.Kind)
	assert.Equal(t, "bank.db", b.Where)
	require.NoError(t, b.Close())
	_, err = os.Stat("bank.db")
	assert.NoError(t, err, "a store that is not fresh stays")

	b, err = backend.Open(ctx, "sqlite:other.db", &backend.Options{Fresh: true})
	require.NoError(t, err)
	where := b.Where
	assert.Equal(t, "other.db", filepath.Base(where))
	require.NoError(t, b.Close())
	_, err = os.Stat(where)
	assert.True(t, os.IsNotExist(err), "a fresh store is removed")

	for _, dsn := range []string{"oracle://x", "mysql://root@127.0.0.1:3306/"} {
		_, err := backend.Open(ctx, dsn, nil)
		assert.Error(t, err, dsn)
	}
}

func TestOpenServers(t *testing.T) {
	pg, my := os.Getenv("DDD_TEST_POSTGRES"), os.Getenv("DDD_TEST_MYSQL")
	if pg == "" || my == "" {
		if os.Getenv("DDD_REQUIRE_SERVICES") == "1" {
			t.Fatal("DDD_TEST_POSTGRES and DDD_TEST_MYSQL must be set when DDD_REQUIRE_SERVICES=1")
		}
		t.Skip("DDD_TEST_POSTGRES or DDD_TEST_MYSQL is not set")
	}
	// DDD_TEST_MYSQL is a go-sql-driver DSN (user@tcp(host:port)/db); --db takes a URL.
	user, rest, _ := strings.Cut(my, "@tcp(")
	addr, db, _ := strings.Cut(rest, ")/")
	for _, dsn := range []string{pg, "mysql://" + user + "@" + addr + "/" + db} {
		b, err := backend.Open(context.Background(), dsn, &backend.Options{Fresh: true})
		require.NoError(t, err, dsn)
		assert.NotContains(t, b.Where, "@tcp(")
		require.NoError(t, b.Close())
	}
}

package sqliteuow_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/sqliteuow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// open returns a migrated Driver on a fresh file of the test, closed when the test ends.
func open(t testing.TB, opts *sqliteuow.Options) (*sqliteuow.Driver, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "store.db")
	return openPath(t, path, opts), path
}

// openPath returns a migrated Driver on path, closed when the test ends.
func openPath(t testing.TB, path string, opts *sqliteuow.Options) *sqliteuow.Driver {
	t.Helper()
	d, err := sqliteuow.Open(t.Context(), path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	require.NoError(t, d.Migrate(t.Context()))
	return d
}

func TestConformance(t *testing.T) {
	uowtest.Run(t, func(t *testing.T) driver.Driver {
		d, _ := open(t, nil)
		return d
	})
}

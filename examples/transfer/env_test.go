package transfer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/teststore"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// The tests reach the services through the environment, as the library's own do (see package
// teststore).

// driverNames lists the drivers every storage test runs on.
var driverNames = teststore.Names

// openDriver opens a fresh driver of the named kind with the bank's tables, dropped when the
// test ends. For postgres and mariadb it also returns the DSN of the fresh schema or database
// (so that another process can open it), else "" (see teststore.Open).
func openDriver(t testing.TB, name string) (driver.Driver, string) {
	t.Helper()
	d, dsn := teststore.Open(t, name)
	require.NoError(t, transfer.Migrate(context.Background(), d))
	return d, dsn
}

// newBank returns a bank on a fresh store of the named driver.
func newBank(t testing.TB, name string, opts *transfer.Options) (*transfer.Bank, driver.Driver) {
	t.Helper()
	d, _ := openDriver(t, name)
	b, err := transfer.New(uow.NewStore(d, nil), opts)
	require.NoError(t, err)
	return b, d
}

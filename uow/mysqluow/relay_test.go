package mysqluow_test

import (
	"testing"

	"github.com/dddkit/ddd/internal/sqlstore/relaytest"
)

// TestRelay runs the SQL drivers' relay tests, each on a database of its own.
func TestRelay(t *testing.T) {
	relaytest.Run(t, func(t *testing.T) relaytest.Store {
		d, _ := newDriver(t, nil)
		return d
	})
}

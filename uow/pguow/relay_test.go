package pguow_test

import (
	"testing"

	"github.com/dddkit/ddd/internal/sqlstore/relaytest"
)

// TestRelay runs the SQL drivers' relay tests, each on a schema of its own.
func TestRelay(t *testing.T) {
	relaytest.Run(t, func(t *testing.T) relaytest.Store { return newDriver(t, nil) })
}

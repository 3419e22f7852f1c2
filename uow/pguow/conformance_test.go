package pguow_test

import (
	"testing"

	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/uowtest"
)

// TestConformance runs the driver contract's suite, each clause on a schema of its own.
func TestConformance(t *testing.T) {
	uowtest.Run(t, func(t *testing.T) driver.Driver { return newDriver(t, nil) })
}

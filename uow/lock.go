package uow

import "github.com/dddkit/ddd/uow/driver"

// Lock is the locking mode of a load: [Optimistic] or [ForUpdate].
type Lock = driver.Lock

const (
	// Optimistic loads take no lock: a concurrent change is caught at commit by the version
	// compare-and-set, and the unit fails with ErrConflict.
	Optimistic = driver.Optimistic
	// ForUpdate loads lock the row until the unit ends (SELECT ... FOR UPDATE): other writers
	// and ForUpdate loads of that row wait.
	ForUpdate = driver.ForUpdate
)

// Field is one equality condition of [Repository.Find] on a top-level field of the JSON
// document: Value is a string, bool, integer, float or nil.
type Field = driver.Field

// Package rootaccess lets the packages of this module that store aggregates (the unit of work,
// the test fixtures) perform the bookkeeping of aggregate.Root that domain code must not: setting
// the ID and version of a loaded aggregate and marking its events as committed.
//
// Package aggregate sets both hooks while it initialises, before any code of an importing package
// runs, and nothing changes them afterwards, so reading them needs no synchronisation.
package rootaccess

// Restore sets the ID and stored version of an aggregate just decoded from storage. a must embed
// aggregate.Root; anything else returns an error.
var Restore func(a any, id string, version int64) error

// Committed records that a commit stored a at the given version: it sets the version and drops
// the recorded events, which the commit has taken. a must embed aggregate.Root; anything else
// returns an error.
var Committed func(a any, version int64) error

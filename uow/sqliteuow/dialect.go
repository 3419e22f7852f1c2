package sqliteuow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dddkit/ddd/internal/sqlstore"
	"github.com/dddkit/ddd/uow/driver"
)

// maxParams is SQLite's SQLITE_MAX_VARIABLE_NUMBER in modernc.org/sqlite (32766 since SQLite
// 3.32).
const maxParams = 32766

// dialect is SQLite for the shared statements of internal/sqlstore.
var dialect = &sqlstore.Dialect{
	Name:  "sqlite",
	Param: func(int) string { return "?" },
	// The write transaction and the in-process row locks lock; SQLite has no FOR UPDATE.
	ForUpdate: "",
	// json_extract returns SQL text for a JSON string, so it compares with the filter's string;
	// what else it returns (numbers, JSON text of objects) only lets more rows through to
	// jsonmatch, never fewer.
	FieldText: func(param string) string { return "json_extract(data, " + param + ")" },
	FieldPath: fieldPath,
	Classify:  classify,
	// Keyed locks are in-process locks of the Driver's lock table (see Tx.LockKeys): the
	// shared Tx calls this only in a unit joined to the caller's transaction, which cannot hold
	// them until that transaction ends (see Driver.Join).
	LockKeys: func(context.Context, sqlstore.Conn, []string) error {
		return fmt.Errorf("%w: keyed locks in a unit joined to your transaction (the driver's in-process locks cannot be held until it ends)", driver.ErrUnsupported)
	},
	MaxParams: maxParams,
}

// fieldPath is the JSON path of a top-level field: a quoted label, with '"' and '\' escaped
// by a backslash. SQLite compares labels with the document's keys unescaped, so any name, and
// any escaping of the key in the document (encoding/json writes "<" as \u003c), matches.
func fieldPath(name string) string { return `$."` + pathEscaper.Replace(name) + `"` }

var pathEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// Classify returns err wrapped with the sentinel error that a unit of work acts on, by the
// SQLite result code of a modernc.org/sqlite error: SQLITE_BUSY and SQLITE_LOCKED, with their
// extended codes (the database's write lock not had within busy_timeout, a read snapshot too
// old to write from), wrap uow.ErrConflict, which uow.Do retries; SQLITE_CONSTRAINT_PRIMARYKEY
// and SQLITE_CONSTRAINT_UNIQUE wrap uow.ErrDuplicate. Any other error is returned unchanged, and
// so are nil and an error that already wraps either sentinel. The *sqlite.Error stays in the
// chain: errors.As still finds it.
//
// It is the classifier the driver uses on its own statements, exported for the SQL you run in a
// unit through uow.TxOf[*sql.Tx] (a uow.Mapper, sqlc queries):
//
//	_, err := tx.ExecContext(ctx, "INSERT INTO account (id, version, ...) VALUES (?, 1, ...)", ...)
//	return sqliteuow.Classify(err)
//
// A Mapper's Insert should report ErrDuplicate only for its aggregate's ID (the unit takes it for
// a lost race, reports ErrConflict and uow.Do retries); a violation of another unique key of
// your table is an error of its own, or every retry would meet it again.
func Classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) || errors.Is(err, driver.ErrConflict) || errors.Is(err, driver.ErrDuplicate) {
		return err
	}
	switch code := se.Code(); {
	case code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: the database is busy or locked by another connection: %w", driver.ErrConflict, err)
	case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %w", driver.ErrDuplicate, err)
	}
	return err
}

// classify is the dialect's Classify: Classify, with a hint when the driver's tables are
// missing.
func classify(err error) error {
	err = Classify(err)
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_ERROR && strings.Contains(se.Error(), "no such table") {
		return fmt.Errorf("%w (is the store migrated? call (*sqliteuow.Driver).Migrate first)", err)
	}
	return err
}

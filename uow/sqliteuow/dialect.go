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
	// Keyed locks are in-process locks of the Driver's lock table (see Tx.LockKeys); the
	// shared Tx never calls this.
	LockKeys:  func(context.Context, sqlstore.Conn, []string) error { return nil },
	MaxParams: maxParams,
}

// fieldPath is the JSON path of a top-level field: a quoted label, with '"' and '\' escaped
// by a backslash. SQLite compares labels with the document's keys unescaped, so any name, and
// any escaping of the key in the document (encoding/json writes "<" as \u003c), matches.
func fieldPath(name string) string { return `$."` + pathEscaper.Replace(name) + `"` }

var pathEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// classify translates a modernc.org/sqlite error: SQLITE_BUSY and SQLITE_LOCKED (and their
// extended codes: the write lock of another connection not obtained within busy_timeout) wrap
// driver.ErrConflict; primary key and unique violations wrap sqlstore.ErrUnique; "no such table"
// gets a hint to migrate. The original error stays in the chain; other errors, context errors
// among them, are returned as they are.
func classify(err error) error {
	var se *sqlite.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	switch code := se.Code(); {
	case code&0xff == sqlite3.SQLITE_BUSY || code&0xff == sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: another connection holds the database's write lock: %w", driver.ErrConflict, err)
	case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %w", sqlstore.ErrUnique, err)
	case code&0xff == sqlite3.SQLITE_ERROR && strings.Contains(se.Error(), "no such table"):
		return fmt.Errorf("%w (is the store migrated? call (*sqliteuow.Driver).Migrate first)", err)
	}
	return err
}

package mysqluow

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/uow"
)

func TestClassify(t *testing.T) {
	myErr := func(n uint16) error { return fmt.Errorf("statement 0: %w", &mysql.MySQLError{Number: n, Message: "m"}) }
	for _, c := range []struct {
		name string
		err  error
		want []error
		not  []error
	}{
		{"deadlock", myErr(1213), []error{uow.ErrConflict}, []error{uow.ErrDuplicate}},
		{"lock wait timeout", myErr(1205), []error{uow.ErrConflict}, nil},
		{"GET_LOCK deadlock (MySQL 8)", myErr(3058), []error{uow.ErrConflict}, nil},
		{"NOWAIT", myErr(3572), []error{uow.ErrConflict}, nil},
		{"record changed (MariaDB)", myErr(1020), []error{uow.ErrConflict}, nil},
		{"duplicate", myErr(1062), []error{uow.ErrDuplicate}, []error{uow.ErrConflict}},
		{"duplicate with key name", myErr(1586), []error{uow.ErrDuplicate}, nil},
		{"killed (MariaDB)", myErr(1927), []error{ErrConnLost}, []error{uow.ErrConflict}},
		{"invalid connection", fmt.Errorf("x: %w", mysql.ErrInvalidConn), []error{ErrConnLost, mysql.ErrInvalidConn}, []error{uow.ErrConflict}},
		{"bad connection", driver.ErrBadConn, []error{ErrConnLost, driver.ErrBadConn}, nil},
		{"cancelled", fmt.Errorf("x: %w", context.Canceled), []error{context.Canceled}, []error{ErrConnLost, uow.ErrConflict}},
		{"deadline", context.DeadlineExceeded, []error{context.DeadlineExceeded}, []error{ErrConnLost}},
		{"syntax", myErr(1064), nil, []error{uow.ErrConflict, uow.ErrDuplicate, ErrConnLost}},
	} {
		got := Classify(c.err)
		require.ErrorIs(t, got, c.err, "%s: the original error stays in the chain", c.name)
		for _, w := range c.want {
			require.ErrorIs(t, got, w, c.name)
		}
		for _, n := range c.not {
			require.NotErrorIs(t, got, n, c.name)
		}
		require.Equal(t, got, Classify(got), "%s: classifying twice changes nothing", c.name)
	}
	require.NoError(t, Classify(nil))
	got := classify(myErr(1146))
	require.Contains(t, got.Error(), "Migrate")
	var me *mysql.MySQLError
	require.True(t, errors.As(got, &me))
}

func TestLockName(t *testing.T) {
	ns := namespace("db", "app_")
	require.Len(t, ns, 8)
	require.NotEqual(t, ns, namespace("db", ""))
	require.NotEqual(t, ns, namespace("db2", "app_"))
	require.Equal(t, "ddd:"+ns+":account-1", lockName(ns, "account-1"))
	long := strings.Repeat("x", 100)
	names := map[string]bool{}
	for _, key := range []string{"", "k", long, long + "y", strings.Repeat("é", 40), "\xff", "\xfe", strings.Repeat("y", 51), strings.Repeat("y", 52)} {
		n := lockName(ns, key)
		require.LessOrEqual(t, len(n), 64, "lock name of %q", key)
		require.True(t, utf8.ValidString(n))
		require.False(t, names[n], "two keys share the name %q", n)
		names[n] = true
	}
}

func TestSeconds(t *testing.T) {
	require.EqualValues(t, 50, seconds(0, DefaultLockTimeout))
	require.EqualValues(t, 50, seconds(-time.Second, DefaultLockTimeout))
	require.EqualValues(t, 1, seconds(time.Millisecond, DefaultLockTimeout))
	require.EqualValues(t, 2, seconds(1500*time.Millisecond, DefaultLockTimeout))
	require.EqualValues(t, 3, seconds(3*time.Second, DefaultLockTimeout))
}

// The JSON path of any field name finds the field in a document written by encoding/json, on
// the real server: the SQL pre-filter of Find never drops a document that matches.
func TestFieldPathOnServer(t *testing.T) {
	db, err := sql.Open("mysql", testenv.MySQL(t))
	require.NoError(t, err)
	defer db.Close()
	d := newDialect(1)
	for _, name := range []string{
		"plain", "a<b", "x&y", `a"b`, `c\d`, "p.q", "s p", "$", "*", "[0]", "é", "ключ", "🙂",
		"tab\there", "nl\nhere", "\u2028", "'", "`", "", "\xff",
	} {
		doc, err := json.Marshal(map[string]string{name: "value ü \"q\"", "other": "x"})
		require.NoError(t, err)
		var got sql.NullString
		q := "SELECT " + d.FieldText("?") + " FROM (SELECT ? AS data) AS t"
		require.NoError(t, db.QueryRowContext(t.Context(), q, d.FieldPath(name), string(doc)).Scan(&got), "field %q", name)
		require.True(t, got.Valid, "field %q: path %s found nothing in %s", name, d.FieldPath(name), doc)
		require.Equal(t, "value ü \"q\"", got.String, "field %q", name)
	}
}

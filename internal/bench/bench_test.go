package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dddkit/ddd/uow/sqliteuow"
)

func TestParseLevels(t *testing.T) {
	got, err := parseLevels("1, 4,16")
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 4 || got[2] != 16 {
		t.Fatalf("parseLevels = %v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "a", "1,,2", "-4"} {
		if _, err := parseLevels(bad); err == nil {
			t.Errorf("parseLevels(%q) accepted it", bad)
		}
	}
}

func TestReport(t *testing.T) {
	var out bytes.Buffer
	report(&out, "sqlite", []result{
		{subject: libName, goroutines: 4, perSecond: 900, p50: time.Millisecond, p99: 3 * time.Millisecond},
		{subject: handName, goroutines: 4, perSecond: 1000, p50: time.Millisecond, p99: 2 * time.Millisecond},
	})
	if !strings.Contains(out.String(), "0.90x") {
		t.Fatalf("report lacks the ratio 0.90x:\n%s", out.String())
	}
}

// TestSQLiteSubjectsMoveMoneyCorrectly runs both implementations briefly and checks what they
// wrote: no money created or lost, one outbox row per transfer, versions moved once per change.
func TestSQLiteSubjectsMoveMoneyCorrectly(t *testing.T) {
	ctx := context.Background()
	const rows = 20
	path := filepath.Join(t.TempDir(), "bench.db")
	subjects, err := sqliteSubjects(ctx, path, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range subjects {
			s.close()
		}
	}()
	for _, s := range subjects {
		r, err := run(ctx, s, 2, rows, 300*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if r.errors != 0 || r.perSecond <= 0 {
			t.Fatalf("%s: %+v", s.name, r)
		}
	}
	for _, p := range []string{path, path + ".hand"} {
		db, err := sql.Open("sqlite", sqliteuow.DSN(p, nil))
		if err != nil {
			t.Fatal(err)
		}
		var total, versions int64
		rs, err := db.Query("SELECT version, data FROM ddd_aggregate WHERE kind = 'account'")
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var v int64
			var data []byte
			var a account
			if err := rs.Scan(&v, &data); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &a); err != nil {
				t.Fatal(err)
			}
			total += a.Balance
			versions += v - 1
		}
		rs.Close()
		var outbox int64
		if err := db.QueryRow("SELECT count(*) FROM ddd_outbox").Scan(&outbox); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if total != rows*1_000_000 {
			t.Errorf("%s: balances sum to %d, want %d", p, total, rows*1_000_000)
		}
		if outbox == 0 || versions != 2*outbox {
			t.Errorf("%s: %d outbox rows for %d version steps; want one row per transfer of two accounts", p, outbox, versions)
		}
	}
}

package sqlstore

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/dddkit/ddd/uow"
)

func quote(s string) string { return `"` + s + `"` }

func TestNewTables(t *testing.T) {
	tests := []struct {
		name, schema, prefix string
		wantAggregate        string
		wantChannel          string
		ok                   bool
	}{
		{name: "defaults", wantAggregate: `"ddd_aggregate"`, wantChannel: "ddd_outbox", ok: true},
		{name: "prefix", prefix: "app_", wantAggregate: `"app_ddd_aggregate"`, wantChannel: "ddd_outbox__app", ok: true},
		{name: "schema", schema: "bank", wantAggregate: `"bank"."ddd_aggregate"`, wantChannel: "ddd_outbox_bank", ok: true},
		{name: "injection in prefix", prefix: `x"; DROP TABLE y; --`},
		{name: "injection in schema", schema: "x; DROP TABLE y"},
		{name: "upper case", prefix: "App_"},
		{name: "leading digit", schema: "1bank"},
		{name: "too long", prefix: strings.Repeat("a", 41)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewTables(tt.schema, tt.prefix, quote)
			if !tt.ok {
				if !errors.Is(err, uow.ErrInvalid) {
					t.Fatalf("NewTables(%q, %q) = %v, want an error wrapping uow.ErrInvalid", tt.schema, tt.prefix, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Aggregate != tt.wantAggregate || got.Channel != tt.wantChannel {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestLoadMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_more.sql": {Data: []byte("ALTER TABLE {{.Outbox}} ADD x INT")},
		"m/0001_init.sql": {Data: []byte("CREATE TABLE {{.Aggregate}} (a INT)\n--;\nCREATE TABLE {{.Inbox}} (b INT)\n")},
		"m/README.md":     {Data: []byte("not a migration")},
	}
	tables, err := NewTables("", "p_", quote)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := LoadMigrations(fsys, "m", tables)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[1].Version != 2 {
		t.Fatalf("migrations out of order: %+v", ms)
	}
	if want := []string{`CREATE TABLE "p_ddd_aggregate" (a INT)`, `CREATE TABLE "p_ddd_inbox" (b INT)`}; strings.Join(ms[0].Stmts, "|") != strings.Join(want, "|") {
		t.Fatalf("statements %q, want %q", ms[0].Stmts, want)
	}

	for name, bad := range map[string]fstest.MapFS{
		"no version":      {"m/init.sql": {Data: []byte("SELECT 1")}},
		"same version":    {"m/0001_a.sql": {Data: []byte("SELECT 1")}, "m/0001_b.sql": {Data: []byte("SELECT 2")}},
		"unknown table":   {"m/0001_a.sql": {Data: []byte("CREATE TABLE {{.Nope}} (a INT)")}},
		"broken template": {"m/0001_a.sql": {Data: []byte("{{.Aggregate")}},
	} {
		if _, err := LoadMigrations(bad, "m", tables); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

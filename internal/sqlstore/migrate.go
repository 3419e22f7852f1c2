package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// Migration is one versioned schema change: the statements of an embedded file named
// NNNN_description.sql, a text/template over Tables ({{.Aggregate}}, {{.Outbox}}, ...), its
// statements separated by lines holding only "--;".
type Migration struct {
	Version int
	Name    string
	Stmts   []string
}

// LoadMigrations reads and renders the *.sql files of dir in fsys, in version order. Two files
// with one version, or a name without a version, are errors.
func LoadMigrations(fsys fs.FS, dir string, t Tables) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must start with a version number and _", e.Name())
		}
		src, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New(e.Name()).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, t); err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		var stmts []string
		for _, s := range strings.Split(b.String(), "\n--;\n") {
			if s = strings.TrimSpace(s); s != "" {
				stmts = append(stmts, s)
			}
		}
		out = append(out, Migration{Version: v, Name: e.Name(), Stmts: stmts})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have one version", out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

// Migrate applies, in order, the migrations whose version the migrations table does not list,
// recording each. c runs in a transaction the caller begins and commits, holding whatever lock
// keeps two processes from migrating at once; createTable creates the migrations table if it
// does not exist. Applying is idempotent: a second run finds every version and does nothing. It
// returns the versions it applied.
func Migrate(ctx context.Context, c Conn, d *Dialect, t Tables, createTable string, migrations []Migration) ([]int, error) {
	if _, err := c.Exec(ctx, []Stmt{{SQL: createTable}}); err != nil {
		return nil, fmt.Errorf("%s: creating %s: %w", d.Name, t.Migrations, err)
	}
	applied := map[int]bool{}
	err := c.Query(ctx, "SELECT version FROM "+t.Migrations, nil, func(scan func(...any) error) error {
		var v int
		if err := scan(&v); err != nil {
			return err
		}
		applied[v] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", d.Name, t.Migrations, err)
	}
	var done []int
	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		stmts := make([]Stmt, 0, len(m.Stmts)+1)
		for _, s := range m.Stmts {
			stmts = append(stmts, Stmt{SQL: s})
		}
		stmts = append(stmts, Stmt{
			SQL:  "INSERT INTO " + t.Migrations + " (version, name) VALUES (" + d.Param(1) + ", " + d.Param(2) + ")",
			Args: []any{m.Version, m.Name},
		})
		if _, err := c.Exec(ctx, stmts); err != nil {
			return done, fmt.Errorf("%s: migration %s: %w", d.Name, m.Name, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}

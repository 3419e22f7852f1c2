package bench_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/bench"
	"github.com/dddkit/ddd/examples/transfer/internal/load"
)

// postgres returns DDD_TEST_POSTGRES, or "" when it is unset (a failure when
// DDD_REQUIRE_SERVICES=1).
func postgres(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("DDD_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("DDD_REQUIRE_SERVICES") == "1" {
			t.Fatal("DDD_TEST_POSTGRES is not set and DDD_REQUIRE_SERVICES=1")
		}
		t.Log("DDD_TEST_POSTGRES is not set: running without PostgreSQL and its yardstick")
	}
	return dsn
}

const header = "| db | strategy | contention | goroutines | transfers/s | vs pgx | p50 | p99 | retries | refused | overdrawn |"

// tableRows returns the table's lines after the header and its separator, and the header with
// its padding squeezed out.
func tableRows(t *testing.T, out string) (string, []string) {
	t.Helper()
	var lines []string
	for l := range strings.Lines(out) {
		if strings.HasPrefix(l, "|") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	require.GreaterOrEqual(t, len(lines), 2, "no table in:\n%s", out)
	return strings.Join(strings.Fields(lines[0]), " "), lines[2:]
}

func TestRun(t *testing.T) {
	dbs := []string{"memory", filepath.Join(t.TempDir(), "bench.db")}
	pg := postgres(t)
	if pg != "" {
		dbs = append(dbs, pg)
	}
	var out, progress bytes.Buffer
	cfg := bench.Config{DBs: dbs, Goroutines: []int{1, 2}, Accounts: 20, Transfers: 30, Progress: &progress}
	rows, err := bench.Run(t.Context(), cfg, &out)
	require.NoError(t, err)
	t.Logf("progress:\n%s\ntable:\n%s", progress.String(), out.String())

	strategies := transfer.Strategies()
	contentions := []load.Contention{load.Uniform, load.Hot}
	want := len(dbs) * len(strategies) * len(contentions) * len(cfg.Goroutines)
	if pg != "" {
		want += len(contentions) * len(cfg.Goroutines) // the yardstick
	}
	require.Len(t, rows, want)

	type cell struct {
		db, strategy string
		contention   load.Contention
		goroutines   int
	}
	seen := map[cell]bool{}
	for _, r := range rows {
		c := cell{r.DB, r.Strategy, r.Contention, r.Goroutines}
		assert.False(t, seen[c], "cell %v twice", c)
		seen[c] = true
		assert.Equal(t, cfg.Transfers, r.Transfers, "%v", c)
		assert.Positive(t, r.PerSecond, "%v", c)
		assert.Positive(t, r.P50, "%v", c)
		assert.GreaterOrEqual(t, r.P99, r.P50, "%v", c)
		assert.GreaterOrEqual(t, r.Retries, 0, "%v", c)
		assert.Zero(t, r.Refused, "%v: every account holds %v", c, bench.Balance)
		assert.Zero(t, r.Overdrawn, "%v", c)
		if r.DB == "postgres" {
			assert.Positive(t, r.VsPgx, "%v: no ratio to the yardstick", c)
		} else {
			assert.Zero(t, r.VsPgx, "%v", c)
			assert.NotEqual(t, bench.Yardstick, r.Strategy)
		}
	}
	for _, db := range []string{"memory", "sqlite"} {
		for _, s := range strategies {
			for _, co := range contentions {
				for _, g := range cfg.Goroutines {
					assert.True(t, seen[cell{db, s.String(), co, g}], "no row for %s %v %v %d", db, s, co, g)
				}
			}
		}
	}
	if pg != "" {
		for _, co := range contentions {
			for _, g := range cfg.Goroutines {
				assert.True(t, seen[cell{"postgres", bench.Yardstick, co, g}], "no yardstick for %v %d", co, g)
				assert.True(t, seen[cell{"postgres", "optimistic", co, g}])
			}
		}
	}

	h, lines := tableRows(t, out.String())
	assert.Equal(t, header, h)
	assert.Len(t, lines, len(rows), "table rows:\n%s", out.String())
	for i, l := range lines {
		f := strings.Split(strings.Trim(l, "|"), "|")
		require.Len(t, f, 11, l)
		assert.Equal(t, rows[i].DB, strings.TrimSpace(f[0]))
		assert.Equal(t, rows[i].Strategy, strings.TrimSpace(f[1]))
		if rows[i].DB == "postgres" {
			assert.NotEqual(t, "-", strings.TrimSpace(f[5]), l)
		} else {
			assert.Equal(t, "-", strings.TrimSpace(f[5]), l)
		}
	}
	assert.Contains(t, out.String(), "Machine: ")
	if pg != "" {
		assert.Contains(t, out.String(), "PostgreSQL ")
	}
	assert.Equal(t, len(rows), strings.Count(progress.String(), "\n"), "one progress line per cell")
}

func TestRunInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  bench.Config
		want string
	}{
		{"no DBs", bench.Config{}, "no DBs"},
		{"unknown DSN", bench.Config{DBs: []string{"memory", "ftp://example.com/bank"}}, "DBs[1]"},
		{"MySQL without a database", bench.Config{DBs: []string{"mysql://root@127.0.0.1:3306"}}, "no database name"},
		{"no goroutines", bench.Config{DBs: []string{"memory"}, Goroutines: []int{1, 0}}, "0 goroutines"},
		{"goroutines twice", bench.Config{DBs: []string{"memory"}, Goroutines: []int{2, 2}}, "listed twice"},
		{"empty goroutines", bench.Config{DBs: []string{"memory"}, Goroutines: []int{}}, "no numbers of goroutines"},
		{"default strategy", bench.Config{DBs: []string{"memory"}, Strategies: []transfer.Strategy{transfer.Default}}, "strategy default"},
		{"unknown contention", bench.Config{DBs: []string{"memory"}, Contentions: []load.Contention{7}}, "contention 7"},
		{"one account", bench.Config{DBs: []string{"memory"}, Accounts: 1}, "1 accounts"},
		{"one hot account", bench.Config{DBs: []string{"memory"}, Hot: 1}, "1 hot accounts"},
		{"more hot accounts than accounts", bench.Config{DBs: []string{"memory"}, Accounts: 5, Hot: 6}, "6 hot accounts"},
		{"negative transfers", bench.Config{DBs: []string{"memory"}, Transfers: -1}, "-1 transfers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			rows, err := bench.Run(t.Context(), tc.cfg, &out)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "bench: ")
			assert.Empty(t, rows)
			assert.Empty(t, out.String())
		})
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	rows, err := bench.Run(ctx, bench.Config{DBs: []string{"memory"}, Accounts: 10, Transfers: 10}, &out)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, rows)
	assert.Empty(t, out.String())
}

// cancelOnWrite cancels a context at its first write.
type cancelOnWrite struct{ cancel context.CancelFunc }

func (c cancelOnWrite) Write(p []byte) (int, error) { c.cancel(); return len(p), nil }

func TestRunCancelledMidway(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out bytes.Buffer
	rows, err := bench.Run(ctx, bench.Config{DBs: []string{"memory", "memory"}, Accounts: 10, Transfers: 10,
		Progress: cancelOnWrite{cancel}}, &out)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, rows, 1, "the cell measured before the cancel")
	_, lines := tableRows(t, out.String())
	assert.Len(t, lines, 1)
	assert.Contains(t, out.String(), "Incomplete: ")
}

// TestPrintTable runs the full default benchmark and prints its table, when BANK_BENCH_FULL=1:
//
//	. /tmp/svc.env && BANK_BENCH_FULL=1 go test -run TestPrintTable -v -timeout 30m ./examples/transfer/internal/bench/
//
// It needs PostgreSQL (DDD_TEST_POSTGRES) and MariaDB at mysql://root@127.0.0.1:3306/test
// (BANK_BENCH_MYSQL overrides it).
func TestPrintTable(t *testing.T) {
	if os.Getenv("BANK_BENCH_FULL") != "1" {
		t.Skip("BANK_BENCH_FULL=1 runs the full benchmark (minutes)")
	}
	pg := os.Getenv("DDD_TEST_POSTGRES")
	require.NotEmpty(t, pg, "the full benchmark needs DDD_TEST_POSTGRES")
	my := os.Getenv("BANK_BENCH_MYSQL")
	if my == "" {
		my = "mysql://root@127.0.0.1:3306/test"
	}
	cfg := bench.Config{DBs: []string{filepath.Join(t.TempDir(), "bank.db"), "memory", pg, my}, Progress: os.Stderr}
	start := time.Now()
	rows, err := bench.Run(t.Context(), cfg, os.Stdout)
	require.NoError(t, err)
	t.Logf("%d cells in %s", len(rows), time.Since(start).Round(time.Second))
}

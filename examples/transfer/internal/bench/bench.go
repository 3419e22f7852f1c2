// Package bench measures the bank's four transfer strategies side by side on every store, the
// engine of `bank bench`: the answer to "did you benchmark the designs?".
//
// Run opens a fresh store per DSN, opens the same accounts on each, and runs every strategy
// under every contention and number of goroutines (a cell), with package load. On PostgreSQL it
// also runs, in the same run and the same cells, the yardstick of DESIGN.md section 6: the same
// transfer hand-written on pgx (one transaction: SELECT the two accounts ORDER BY number FOR
// UPDATE, check the funds, two UPDATEs, INSERT the transfer, COMMIT), with no ddd package. Each
// PostgreSQL row is then reported as a ratio of the yardstick's throughput in its cell, which is
// the figure that means something across machines; the absolute numbers describe this machine
// only, which is why the table ends with a line naming it.
//
// Within a store the cells run one after the other in the order the table shows them (by
// contention, then goroutines, then strategy, the yardstick first), so that whatever drifts
// during a run (caches, autovacuum, table growth) drifts for every strategy of a cell alike.
// Every cell uses the same seed, so every strategy of a cell makes the same transfers.
//
// The yardstick's connection pool is configured from the same DSN as the bank's PostgreSQL
// driver (pgxpool's defaults unless the DSN sets pool_max_conns: max(4, NumCPU) connections),
// so with more goroutines than connections both wait for the pool alike.
package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/backend"
	"github.com/dddkit/ddd/examples/transfer/internal/load"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
)

// Yardstick is the strategy name of the hand-written pgx rows.
const Yardstick = "pgx (hand-written)"

// The defaults of Config's zero fields.
const (
	DefaultAccounts  = 1000
	DefaultHot       = 10
	DefaultTransfers = 1000
)

// DefaultGoroutines are the numbers of goroutines of a Config without Goroutines.
var DefaultGoroutines = []int{1, 4, 16}

// Balance is what every account holds when a store's run starts: 1,000,000.00 USD, so that
// transfers of at most 10.00 USD are practically never refused.
var Balance = mustMoney(100_000_000)

func mustMoney(minor int64) money.Money {
	m, err := money.FromMinorUnits(minor, load.Currency)
	if err != nil {
		panic(err)
	}
	return m
}

// seed is the seed of every cell: the strategies of a cell make the same transfers.
const seed = 0xba4c

// Config is a benchmark. Zero and nil fields mean their documented defaults; DBs has none, so
// the zero Config is invalid.
type Config struct {
	// DBs are the stores to measure, as backend.Open takes them: "sqlite" (or a SQLite path),
	// "memory", "postgres://..." or "mysql://...". Each gets a fresh store of its own, removed
	// at the end. Required.
	DBs []string
	// Strategies to measure; nil means all four (transfer.Strategies).
	Strategies []transfer.Strategy
	// Contentions to measure; nil means load.Uniform and load.Hot.
	Contentions []load.Contention
	// Goroutines are the numbers of concurrent transfers to measure; nil means
	// DefaultGoroutines (1, 4, 16).
	Goroutines []int
	// Accounts is how many accounts each store opens; 0 means DefaultAccounts (1000).
	Accounts int
	// Hot is how many accounts the hot contention picks from; 0 means DefaultHot (10), or
	// Accounts if fewer.
	Hot int
	// Transfers is how many transfers each cell makes; 0 means DefaultTransfers (1000), with
	// which the default table over sqlite, memory, postgres and mysql takes a few minutes on
	// 2 cores.
	Transfers int
	// Progress, if set, receives one line per cell as it finishes.
	Progress io.Writer
}

// Row is one cell's measure: one strategy on one store under one contention and number of
// goroutines. It is a plain value.
type Row struct {
	// DB is the store's kind: "memory", "sqlite", "postgres" or "mysql".
	DB string
	// Strategy is the strategy's name (transfer.Strategy.String), or Yardstick.
	Strategy string
	// Contention is how the cell's transfers picked their accounts.
	Contention load.Contention
	// Goroutines is how many transfers ran at once.
	Goroutines int
	// Transfers is how many transfers the cell made (posted or refused), in Elapsed.
	Transfers int
	Elapsed   time.Duration
	// PerSecond is the transfers made (posted or refused) per second.
	PerSecond float64
	// VsPgx is PerSecond divided by the yardstick's in the same cell of the same PostgreSQL
	// server (1 for the yardstick's own rows); 0 on other stores.
	VsPgx float64
	// P50 and P99 are the latencies of one transfer, its retries included.
	P50, P99 time.Duration
	// Retries are the commands run again after a conflict.
	Retries int
	// Refused are the transfers refused for insufficient funds.
	Refused int
	// Overdrawn are the transfers that left a negative balance (the eventual strategy only).
	Overdrawn int
}

// settings is a Config with its defaults applied and checked.
type settings struct {
	Config
	strategies  []transfer.Strategy
	contentions []load.Contention
	goroutines  []int
	warmUp      int
}

// check applies the defaults and validates cfg.
func (cfg Config) check() (settings, error) {
	s := settings{Config: cfg}
	if len(cfg.DBs) == 0 {
		return s, errors.New("bench: no DBs to measure: want at least one of sqlite, memory, a postgres:// or a mysql:// URL")
	}
	s.strategies = cfg.Strategies
	if s.strategies == nil {
		s.strategies = transfer.Strategies()
	}
	if len(s.strategies) == 0 {
		return s, errors.New("bench: no strategies to measure")
	}
	for i, st := range s.strategies {
		if st < transfer.Optimistic || st > transfer.Eventual {
			return s, fmt.Errorf("bench: strategy %v: want optimistic, pessimistic, keyed or eventual", st)
		}
		if slices.Contains(s.strategies[:i], st) {
			return s, fmt.Errorf("bench: strategy %v is listed twice", st)
		}
	}
	s.contentions = cfg.Contentions
	if s.contentions == nil {
		s.contentions = []load.Contention{load.Uniform, load.Hot}
	}
	if len(s.contentions) == 0 {
		return s, errors.New("bench: no contentions to measure")
	}
	for i, c := range s.contentions {
		if c != load.Uniform && c != load.Hot {
			return s, fmt.Errorf("bench: contention %d: want load.Uniform or load.Hot", int(c))
		}
		if slices.Contains(s.contentions[:i], c) {
			return s, fmt.Errorf("bench: contention %v is listed twice", c)
		}
	}
	s.goroutines = cfg.Goroutines
	if s.goroutines == nil {
		s.goroutines = DefaultGoroutines
	}
	if len(s.goroutines) == 0 {
		return s, errors.New("bench: no numbers of goroutines to measure")
	}
	for i, g := range s.goroutines {
		if g < 1 {
			return s, fmt.Errorf("bench: %d goroutines: want 1 or more", g)
		}
		if slices.Contains(s.goroutines[:i], g) {
			return s, fmt.Errorf("bench: %d goroutines is listed twice", g)
		}
	}
	switch {
	case cfg.Accounts == 0:
		s.Accounts = DefaultAccounts
	case cfg.Accounts < 2:
		return s, fmt.Errorf("bench: %d accounts: want 2 or more", cfg.Accounts)
	}
	switch {
	case cfg.Hot == 0:
		s.Hot = min(DefaultHot, s.Accounts)
	case cfg.Hot < 2 || cfg.Hot > s.Accounts:
		return s, fmt.Errorf("bench: %d hot accounts: want 2 to Accounts (%d)", cfg.Hot, s.Accounts)
	}
	switch {
	case cfg.Transfers == 0:
		s.Transfers = DefaultTransfers
	case cfg.Transfers < 1:
		return s, fmt.Errorf("bench: %d transfers per cell: want 1 or more", cfg.Transfers)
	}
	s.warmUp = min(s.Transfers/4, 100)
	return s, nil
}

// store is one DB of the run, opened.
type store struct {
	b       *backend.Backend
	pgx     *pgxBank // the yardstick, on PostgreSQL
	version string   // the server's, if known
}

// Run measures every cell of cfg on every store of cfg.DBs and writes the table to out (nil:
// nowhere): a Markdown table with a column "vs pgx" (the row's throughput divided by the
// yardstick's in the same cell, on PostgreSQL), followed by a line naming the machine and one
// stating the settings. It returns the rows in the table's order.
//
// Run opens every store before it measures anything, so that a bad DSN or a server that does
// not answer fails at once; errors of Config fail before any store is opened. It stops at the
// first error, a cancelled ctx included: it returns the rows measured so far with the error,
// and writes them to out marked as incomplete. Every store it opened is removed before it
// returns. Errors wrap their cause: test a cancelled run with errors.Is(err, context.Canceled),
// a transfer that ran out of retries with errors.Is(err, uow.ErrConflict).
func Run(ctx context.Context, cfg Config, out io.Writer) (rows []Row, err error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	var stores []*store
	defer func() {
		for _, st := range stores {
			err = errors.Join(err, st.close())
		}
		if out != nil && (len(rows) > 0 || err == nil) {
			if werr := write(out, s, stores, rows, err); err == nil {
				err = werr
			}
		}
	}()
	for i, dsn := range s.DBs {
		st, err := open(ctx, dsn, s)
		if err != nil {
			return nil, fmt.Errorf("bench: DBs[%d]: %w", i, err)
		}
		stores = append(stores, st)
	}
	for _, st := range stores {
		rows, err = st.measure(ctx, s, rows)
		if cerr := st.close(); err == nil && cerr != nil {
			err = fmt.Errorf("bench: closing %s: %w", st.b.Kind, cerr)
		}
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// open opens the store dsn names, fresh, and on PostgreSQL the yardstick beside it.
func open(ctx context.Context, dsn string, s settings) (*store, error) {
	b, err := backend.Open(ctx, dsn, &backend.Options{Fresh: true})
	if err != nil {
		return nil, err
	}
	st := &store{b: b}
	switch b.Kind {
	case "postgres":
		minor, err := Balance.MinorUnits()
		if err == nil {
			st.pgx, err = openPgx(ctx, dsn, s.Accounts, minor, Balance.Currency().Code())
		}
		if err != nil {
			_ = b.Close()
			return nil, err
		}
		st.version = "PostgreSQL " + st.pgx.version
	case "mysql":
		if d, ok := b.Driver.(interface{ DB() *sql.DB }); ok {
			var v string
			if d.DB().QueryRowContext(ctx, "SELECT VERSION()").Scan(&v) == nil {
				st.version = "MySQL " + v
				if strings.Contains(v, "MariaDB") {
					st.version = "MariaDB " + v
				}
			}
		}
	}
	return st, nil
}

// close removes the store and the yardstick's schema; closing twice is a no-op.
func (st *store) close() error {
	var errs []error
	if st.pgx != nil {
		errs = append(errs, st.pgx.Close())
		st.pgx = nil
	}
	if st.b != nil {
		errs = append(errs, st.b.Close())
	}
	return errors.Join(errs...)
}

// measure opens the accounts and runs every cell on the store, appending the rows to rows.
func (st *store) measure(ctx context.Context, s settings, rows []Row) ([]Row, error) {
	bank, err := transfer.New(uow.NewStore(st.b.Driver, nil), nil)
	if err != nil {
		return rows, err
	}
	if err := load.Open(ctx, bank, s.Accounts, 4, Balance, nil); err != nil {
		return rows, fmt.Errorf("bench: %s: opening %d accounts: %w", st.b.Kind, s.Accounts, err)
	}
	// Warm up: connections, prepared statements, caches, the code paths of every strategy.
	if s.warmUp > 0 {
		if st.pgx != nil {
			if _, err := st.pgx.run(ctx, pgxRun{pool: s.Accounts, transfers: s.warmUp, workers: 2, prefix: "warm-pgx-", seed: seed}); err != nil {
				return rows, fmt.Errorf("bench: %s: warming up: %w", st.b.Kind, err)
			}
		}
		for _, strategy := range s.strategies {
			_, err := load.Run(ctx, bank, load.Config{Accounts: s.Accounts, Transfers: s.warmUp, Workers: 2,
				Strategy: strategy, Prefix: "warm-" + strategy.String() + "-", Seed: seed})
			if err != nil {
				return rows, fmt.Errorf("bench: %s: warming up %v: %w", st.b.Kind, strategy, err)
			}
		}
	}
	for _, c := range s.contentions {
		pool := s.Accounts
		if c == load.Hot {
			pool = s.Hot
		}
		for _, g := range s.goroutines {
			cell := fmt.Sprintf("%s-%d-", c, g)
			var yard float64
			if st.pgx != nil {
				rep, err := st.pgx.run(ctx, pgxRun{pool: pool, transfers: s.Transfers, workers: g, prefix: "pgx-" + cell, seed: seed})
				if err != nil {
					return rows, fmt.Errorf("bench: %s %s %s %d goroutines: %w", st.b.Kind, Yardstick, c, g, err)
				}
				r := Row{DB: st.b.Kind, Strategy: Yardstick, Contention: c, Goroutines: g,
					Transfers: rep.posted + rep.refused, Elapsed: rep.elapsed, P50: rep.p50, P99: rep.p99,
					Retries: rep.attempts - s.Transfers, Refused: rep.refused}
				r.PerSecond = perSecond(r.Transfers, r.Elapsed)
				yard, r.VsPgx = r.PerSecond, 1
				rows = append(rows, r)
				progress(s.Progress, r)
			}
			for _, strategy := range s.strategies {
				rep, err := load.Run(ctx, bank, load.Config{Accounts: s.Accounts, Contention: c, Hot: s.Hot,
					Transfers: s.Transfers, Workers: g, Strategy: strategy, Prefix: strategy.String() + "-" + cell, Seed: seed})
				if err != nil {
					return rows, fmt.Errorf("bench: %s %v %s %d goroutines: %w", st.b.Kind, strategy, c, g, err)
				}
				r := Row{DB: st.b.Kind, Strategy: strategy.String(), Contention: c, Goroutines: g,
					Transfers: rep.Posted + rep.Refused, Elapsed: rep.Elapsed, PerSecond: rep.PerSecond(),
					P50: rep.P50, P99: rep.P99, Retries: rep.Retries(), Refused: rep.Refused, Overdrawn: rep.Overdrawn}
				if yard > 0 {
					r.VsPgx = r.PerSecond / yard
				}
				rows = append(rows, r)
				progress(s.Progress, r)
			}
		}
	}
	return rows, nil
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// progress writes the line of a finished cell.
func progress(w io.Writer, r Row) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, "bench: %-8s %-18s %-7s %3d goroutines: %7.0f transfers/s, p50 %s, p99 %s, %d retries (%s)\n",
		r.DB, r.Strategy, r.Contention, r.Goroutines, r.PerSecond, duration(r.P50), duration(r.P99), r.Retries,
		r.Elapsed.Round(time.Millisecond))
}

// write writes the table, the machine and the settings.
func write(w io.Writer, s settings, stores []*store, rows []Row, failure error) error {
	header := []string{"db", "strategy", "contention", "goroutines", "transfers/s", "vs pgx", "p50", "p99", "retries", "refused", "overdrawn"}
	right := []bool{false, false, false, true, true, true, true, true, true, true, true}
	cells := make([][]string, 0, len(rows))
	for _, r := range rows {
		vs := "-"
		if r.VsPgx > 0 {
			vs = strconv.FormatFloat(r.VsPgx, 'f', 2, 64)
		}
		cells = append(cells, []string{r.DB, r.Strategy, r.Contention.String(), strconv.Itoa(r.Goroutines),
			strconv.FormatFloat(r.PerSecond, 'f', 0, 64), vs, duration(r.P50), duration(r.P99),
			strconv.Itoa(r.Retries), strconv.Itoa(r.Refused), strconv.Itoa(r.Overdrawn)})
	}
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = utf8.RuneCountInString(h)
		for _, c := range cells {
			width[i] = max(width[i], utf8.RuneCountInString(c[i]))
		}
	}
	var b strings.Builder
	line := func(fields []string) {
		for i, f := range fields {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(f))
			if right[i] {
				f = pad + f
			} else {
				f += pad
			}
			b.WriteString("| " + f + " ")
		}
		b.WriteString("|\n")
	}
	line(header)
	for i := range header {
		dashes := strings.Repeat("-", width[i])
		if right[i] {
			dashes = dashes[1:] + ":"
		}
		b.WriteString("| " + dashes + " ")
	}
	b.WriteString("|\n")
	for _, c := range cells {
		line(c)
	}
	b.WriteString("\n")
	b.WriteString(machine(stores) + "\n")
	fmt.Fprintf(&b, "Each cell: %d transfers of 0.01 to 10.00 USD between %d accounts of %s (hot: among the first %d), "+
		"after a warm-up of %d per strategy; vs pgx = transfers/s / the hand-written pgx transfer's in the same cell.\n",
		s.Transfers, s.Accounts, Balance, s.Hot, s.warmUp)
	if failure != nil {
		fmt.Fprintf(&b, "Incomplete: %v\n", failure)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// machine names the machine: CPUs, OS and architecture, Go, and the servers' versions.
func machine(stores []*store) string {
	parts := []string{fmt.Sprintf("%d CPUs", runtime.NumCPU()), runtime.GOOS + "/" + runtime.GOARCH, runtime.Version()}
	for _, st := range stores {
		if st.version != "" && !slices.Contains(parts, st.version) {
			parts = append(parts, st.version)
		}
	}
	return "Machine: " + strings.Join(parts, ", ") + "."
}

// duration formats a latency with three significant digits or so: 845µs, 1.23ms, 12.3ms, 1.2s.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < 10*time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

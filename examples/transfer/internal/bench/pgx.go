package bench

// The yardstick: a transfer hand-written on pgx, with no ddd library package (only package
// load's helpers to run it), against which the library's strategies on PostgreSQL are
// measured (DESIGN.md section 6: "a hand-written pgx transaction doing the same transfer, the
// limit the library can approach"). It keeps its own schema with an account and a transfer
// table shaped like the bank's, opens the same accounts with the same balances, and picks
// accounts and amounts exactly as package load does, so that a cell of the yardstick makes the
// same transfers as a cell of the bank.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dddkit/ddd/examples/transfer/internal/load"
)

// pgxBank is the hand-written bank: a pgxpool with the pool settings pguow gets from the same
// DSN (the defaults: max(4, NumCPU) connections), and a schema of its own.
type pgxBank struct {
	pool          *pgxpool.Pool
	schema        string
	account, xfer string // schema-qualified table names
	version       string // SHOW server_version
	currency      string
	maxAttempts   int
	selectSQL     string
	updateSQL     string
	insertSQL     string
	ids           uuid.UUID // the namespace of the name-based transfer IDs
}

// openPgx connects to dsn, creates a fresh schema with the two tables and opens accounts
// numbered like package load's (12 digits, 1 ... accounts), each with balance minor units of
// currency. Close drops the schema.
func openPgx(ctx context.Context, dsn string, accounts int, balance int64, currency string) (_ *pgxBank, err error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("bench: pgx yardstick: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bench: pgx yardstick: %w", err)
	}
	suffix := make([]byte, 5)
	_, _ = rand.Read(suffix)
	p := &pgxBank{pool: pool, schema: "bench_pgx_" + hex.EncodeToString(suffix), currency: currency,
		maxAttempts: 100, ids: uuid.MustParse("5f0d6a4e-3b7c-4f7e-9a55-0e1d2c3b4a59")}
	p.account, p.xfer = `"`+p.schema+`".account`, `"`+p.schema+`".transfer`
	p.selectSQL = "SELECT number, balance FROM " + p.account + " WHERE number IN ($1, $2) ORDER BY number FOR UPDATE"
	p.updateSQL = "UPDATE " + p.account + " SET balance = $1, version = version + 1 WHERE number = $2"
	p.insertSQL = "INSERT INTO " + p.xfer + " (id, number, debited, credited, amount, currency, created_at, " +
		"debit_balance, credit_balance) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
	created := false
	defer func() {
		if err != nil {
			if created {
				_ = p.dropSchema()
			}
			pool.Close()
		}
	}()
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&p.version); err != nil {
		return nil, fmt.Errorf("bench: pgx yardstick: connecting: %w", err)
	}
	if _, err := pool.Exec(ctx, `CREATE SCHEMA "`+p.schema+`"`); err != nil {
		return nil, fmt.Errorf("bench: pgx yardstick: %w", err)
	}
	created = true
	for _, q := range []string{
		`CREATE TABLE ` + p.account + ` (number CHAR(12) NOT NULL PRIMARY KEY, currency CHAR(3) NOT NULL,
			balance BIGINT NOT NULL, opened_at BIGINT NOT NULL, version BIGINT NOT NULL)`,
		`CREATE TABLE ` + p.xfer + ` (id CHAR(36) NOT NULL PRIMARY KEY, number VARCHAR(64) NOT NULL UNIQUE,
			debited CHAR(12) NOT NULL REFERENCES ` + p.account + ` (number),
			credited CHAR(12) NOT NULL REFERENCES ` + p.account + ` (number),
			amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, created_at BIGINT NOT NULL,
			debit_balance BIGINT NOT NULL, credit_balance BIGINT NOT NULL)`,
		`CREATE INDEX ON ` + p.xfer + ` (debited)`,
		`CREATE INDEX ON ` + p.xfer + ` (credited)`,
		`CREATE INDEX ON ` + p.xfer + ` (currency, amount)`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("bench: pgx yardstick: creating tables: %w", err)
		}
	}
	_, err = pool.Exec(ctx, `INSERT INTO `+p.account+` (number, currency, balance, opened_at, version)
		SELECT lpad(i::text, 12, '0'), $1, $2, $3, 1 FROM generate_series(1, $4::int) AS i`,
		currency, balance, time.Now().UnixMicro(), accounts)
	if err != nil {
		return nil, fmt.Errorf("bench: pgx yardstick: opening accounts: %w", err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE "+p.account); err != nil {
		return nil, fmt.Errorf("bench: pgx yardstick: %w", err)
	}
	return p, nil
}

// dropSchema drops the yardstick's schema.
func (p *pgxBank) dropSchema() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := p.pool.Exec(ctx, `DROP SCHEMA IF EXISTS "`+p.schema+`" CASCADE`)
	return err
}

// Close drops the schema and closes the pool.
func (p *pgxBank) Close() error {
	err := p.dropSchema()
	p.pool.Close()
	return err
}

// pgxRun is one cell of the yardstick: package load's Config, for the hand-written bank.
type pgxRun struct {
	pool      int // the accounts picked from: all of them, or the hot ones
	transfers int
	workers   int
	prefix    string
	seed      uint64
}

// pgxReport is what a pgxRun measured: package load's Report.
type pgxReport struct {
	posted, refused, attempts int
	elapsed                   time.Duration
	p50, p99                  time.Duration
}

// errRefused is a transfer refused for insufficient funds.
var errRefused = errors.New("insufficient funds")

// run makes r.transfers transfers with r.workers goroutines, choosing accounts and amounts as
// load.Run does with the same seed.
func (p *pgxBank) run(ctx context.Context, r pgxRun) (pgxReport, error) {
	var (
		next      atomic.Int64
		worker    atomic.Uint64
		mu        sync.Mutex
		rep       pgxReport
		latencies = make([]time.Duration, 0, r.transfers)
	)
	start := time.Now()
	err := load.Parallel(ctx, r.workers, func(ctx context.Context) error {
		rng := mrand.New(mrand.NewPCG(r.seed, worker.Add(1)))
		var mine []time.Duration
		var w pgxReport
		defer func() {
			mu.Lock()
			latencies = append(latencies, mine...)
			rep.posted += w.posted
			rep.refused += w.refused
			rep.attempts += w.attempts
			mu.Unlock()
		}()
		for {
			i := int(next.Add(1) - 1)
			if i >= r.transfers {
				return nil
			}
			from, to, amount := load.Pick(rng, r.pool)
			number := r.prefix + strconv.Itoa(i)
			t0 := time.Now()
			attempts, err := p.transfer(ctx, number, accountNumber(from), accountNumber(to), amount)
			mine = append(mine, time.Since(t0))
			w.attempts += attempts
			switch {
			case err == nil:
				w.posted++
			case errors.Is(err, errRefused):
				w.refused++
			default:
				return fmt.Errorf("bench: pgx transfer %s: %w", number, err)
			}
		}
	})
	rep.elapsed = time.Since(start)
	slices.Sort(latencies)
	rep.p50, rep.p99 = load.Percentile(latencies, 50), load.Percentile(latencies, 99)
	return rep, err
}

// accountNumber is the number of the i-th account (0-based), as package load numbers them.
func accountNumber(i int) string { return fmt.Sprintf("%012d", i+1) }

// transfer posts one transfer in one transaction, retrying it on a serialization failure or a
// deadlock, and returns how many times it ran.
func (p *pgxBank) transfer(ctx context.Context, number, from, to string, amount int64) (int, error) {
	for attempt := 1; ; attempt++ {
		err := p.once(ctx, number, from, to, amount)
		var pg *pgconn.PgError
		if err == nil || !errors.As(err, &pg) || (pg.Code != "40001" && pg.Code != "40P01") || attempt == p.maxAttempts {
			return attempt, err
		}
		select {
		case <-ctx.Done():
			return attempt, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// once is one run of the transaction: lock both accounts in number order, check the funds,
// update both balances, insert the transfer, commit.
func (p *pgxBank) once(ctx context.Context, number, from, to string, amount int64) (err error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	rows, err := tx.Query(ctx, p.selectSQL, from, to)
	if err != nil {
		return err
	}
	var fromBalance, toBalance int64
	found := 0
	for rows.Next() {
		var n string
		var b int64
		if err := rows.Scan(&n, &b); err != nil {
			rows.Close()
			return err
		}
		switch n {
		case from:
			fromBalance = b
		case to:
			toBalance = b
		}
		found++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if found != 2 {
		return fmt.Errorf("unknown account: %s or %s", from, to)
	}
	if fromBalance < amount {
		return errRefused
	}
	fromBalance -= amount
	toBalance += amount
	if _, err := tx.Exec(ctx, p.updateSQL, fromBalance, from); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, p.updateSQL, toBalance, to); err != nil {
		return err
	}
	id := uuid.NewSHA1(p.ids, []byte(number)).String()
	if _, err := tx.Exec(ctx, p.insertSQL, id, number, from, to, amount, p.currency, time.Now().UnixMicro(),
		fromBalance, toBalance); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

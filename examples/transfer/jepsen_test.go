package transfer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/mysqluow"
	"github.com/dddkit/ddd/uow/pguow"
)

// This file is a Jepsen-style "bank" workload: writers make random transfers between a few
// accounts while readers take the balances, over and over, and record what they saw; a checker
// (a plain function over the recorded history, with its own test below) then judges the history:
//
//   - every read sees every account, and the balances total the money deposited at the start.
//     Each transfer's debit and credit commit in one transaction under every strategy, and each
//     read is one consistent read, so this must hold for all four, Eventual included;
//   - no read sees a negative balance under Optimistic, Pessimistic and Keyed (Eventual may
//     overdraw: its overdrafts are counted and logged, not failed);
//   - readers also take reconciliations during the run, which must balance too (each is one
//     consistent read);
//   - at the end the ledger reconciles, the audit finds every account agreeing with its
//     movements, and the store holds each transfer the writers were told succeeded exactly once
//     and no other: Finder.TransfersOver zero lists each once, and the statements show each once
//     as a debit and once as a credit; per account, those transfers, the lifetime sums the
//     accounts keep (Finder.Ledger) and the movements summed (Finder.Audit) moved what the
//     writers were told.
//
// Writers fail the test on any error but ErrInsufficientFunds. TestJepsenBank runs the workload
// in one process on every driver; TestJepsenBankProcesses runs the writers in several OS
// processes (the test binary re-executed as TestJepsenWorker) against one PostgreSQL schema or
// one MariaDB database, while the parent reads.

const (
	jpAccounts = 8
	jpWriters  = 6
	jpReaders  = 2 // besides one reconciler
)

// jpOps is the number of transfers each writer makes on a driver: the whole file stays well
// under a minute on two cores with -race.
var jpOps = map[string]int{"memuow": 40, "sqlite": 20, "postgres": 30, "mariadb": 20}

var jpUSD = money.MustLookup("USD")

// jpResult is what one writer was told by the bank: its transfers that succeeded (and what they
// moved, per account, in cents), those refused for insufficient funds, and the successes whose
// outcome reported an overdraft (Eventual only).
type jpResult struct {
	OK           int                              `json:"ok"`
	Insufficient int                              `json:"insufficient"`
	Overdrawn    int                              `json:"overdrawn"`
	Debited      map[transfer.AccountNumber]int64 `json:"debited"`
	Credited     map[transfer.AccountNumber]int64 `json:"credited"`
}

// jpHistory is what a run recorded, and what the checker judges.
type jpHistory struct {
	// Strict forbids negative balances: every strategy but Eventual.
	Strict bool
	// Accounts are the bank's accounts, in number order; Total is the money deposited in them
	// before the writers started (nothing is deposited after).
	Accounts []transfer.AccountNumber
	Total    money.Money
	// Reads are the results of Finder.Balances, each one read, as readers took them.
	Reads [][]transfer.Balance
	// Reconciliations are the results of Finder.Reconcile taken by readers during the run.
	Reconciliations []transfer.Reconciliation
	// Writers are the writers' results, from every process.
	Writers []jpResult
	// At the end: the reconciliation, the ledger as the accounts keep it, the audit of the
	// accounts against their movements, every transfer in the store, and how many times each
	// transfer number appears as a debit line and as a credit line in the accounts' statements.
	Final           transfer.Reconciliation
	Ledger          []transfer.LedgerLine
	Audit           transfer.Audit
	Transfers       []transfer.TransferView
	Debits, Credits map[transfer.Reference]int
}

// jpVerdict is the checker's judgement: the problems found (none for a valid history) and the
// negative balances the reads saw (problems only when Strict).
type jpVerdict struct {
	Problems   []string
	Overdrafts int
}

func (v *jpVerdict) problem(format string, args ...any) {
	v.Problems = append(v.Problems, fmt.Sprintf(format, args...))
}

// jpCheck judges a history.
func jpCheck(h jpHistory) jpVerdict {
	var v jpVerdict
	if len(h.Reads) == 0 {
		v.problem("no reads")
	}
	for i, read := range h.Reads {
		var got []transfer.AccountNumber
		total := money.Zero(h.Total.Currency())
		for _, b := range read {
			got = append(got, b.Account)
			var err error
			if total, err = total.Add(b.Balance); err != nil {
				v.problem("read %d: %v: %v", i, b, err)
			}
			if b.Balance.IsNegative() {
				v.Overdrafts++
				if h.Strict {
					v.problem("read %d: negative balance %s of %s", i, b.Balance, b.Account)
				}
			}
		}
		if !slices.Equal(got, h.Accounts) {
			v.problem("read %d: accounts %v, want %v", i, got, h.Accounts)
		}
		if !total.Equal(h.Total) {
			v.problem("read %d: total %s, want %s: %v", i, total, h.Total, read)
		}
	}
	for i, r := range append(slices.Clone(h.Reconciliations), h.Final) {
		what := fmt.Sprintf("reconciliation %d", i)
		if i == len(h.Reconciliations) {
			what = "final reconciliation"
		}
		if !r.Balanced() {
			v.problem("%s: not balanced: %+v", what, r)
		}
		if r.Accounts != len(h.Accounts) {
			v.problem("%s: %d accounts, want %d", what, r.Accounts, len(h.Accounts))
		}
		if len(r.Totals) != 1 || !r.Totals[0].Balance.Equal(h.Total) {
			v.problem("%s: totals %+v, want %s", what, r.Totals, h.Total)
		}
		if h.Strict && len(r.Overdrawn) > 0 {
			v.problem("%s: overdrawn %v", what, r.Overdrawn)
		}
	}

	// Every transfer the writers were told about is in the ledger once, and nothing else is.
	ok := 0
	debited, credited := map[transfer.AccountNumber]int64{}, map[transfer.AccountNumber]int64{}
	for _, w := range h.Writers {
		ok += w.OK
		for n, u := range w.Debited {
			debited[n] += u
		}
		for n, u := range w.Credited {
			credited[n] += u
		}
	}
	numbers := map[transfer.TransferNumber]int{}
	stored := map[bool]map[transfer.AccountNumber]int64{true: {}, false: {}} // debited (true) and credited
	for _, tv := range h.Transfers {
		numbers[tv.Number]++
		if tv.ID != transfer.TransferIDOf(tv.Number) {
			v.problem("transfer %s: ID %s", tv.Number, tv.ID)
		}
		u, err := tv.Amount.MinorUnits()
		if err != nil {
			v.problem("transfer %s: %v", tv.Number, err)
		}
		stored[true][tv.Debited] += u
		stored[false][tv.Credited] += u
	}
	for n, c := range numbers {
		if c != 1 {
			v.problem("transfer %s: stored %d times", n, c)
		}
	}
	if len(h.Transfers) != ok {
		v.problem("writers were told of %d transfers, the store holds %d", ok, len(h.Transfers))
	}
	debits, credits := 0, 0
	for ref, n := range h.Debits {
		debits += n
		if n != 1 || h.Credits[ref] != 1 {
			v.problem("transfer %s: %d debit lines and %d credit lines, want 1 and 1", ref, n, h.Credits[ref])
		}
	}
	for ref, n := range h.Credits {
		credits += n
		if h.Debits[ref] == 0 {
			v.problem("transfer %s: %d credit lines and no debit line", ref, n)
		}
	}
	if debits != ok || credits != ok {
		v.problem("writers were told of %d transfers, the statements hold %d debits and %d credits", ok, debits, credits)
	}
	for _, n := range h.Accounts {
		if stored[true][n] != debited[n] || stored[false][n] != credited[n] {
			v.problem("transfers of %s: debited %d and credited %d cents, the writers were told %d and %d",
				n, stored[true][n], stored[false][n], debited[n], credited[n])
		}
	}
	if !h.Audit.Clean() {
		v.problem("audit: accounts disagree with their movements: %+v", h.Audit.Mismatches)
	}
	for what, lines := range map[string][]transfer.LedgerLine{"ledger": h.Ledger, "audit": h.Audit.Ledger} {
		var accounts []transfer.AccountNumber
		for _, l := range lines {
			accounts = append(accounts, l.Account)
			d, errD := l.Debited.MinorUnits()
			c, errC := l.Credited.MinorUnits()
			if err := errors.Join(errD, errC); err != nil {
				v.problem("%s of %s: %v", what, l.Account, err)
			}
			if d != debited[l.Account] || c != credited[l.Account] {
				v.problem("%s of %s: debited %d and credited %d cents, the writers were told %d and %d",
					what, l.Account, d, c, debited[l.Account], credited[l.Account])
			}
		}
		if !slices.Equal(accounts, h.Accounts) {
			v.problem("%s accounts %v, want %v", what, accounts, h.Accounts)
		}
	}
	return v
}

func jpAccount(i int) transfer.AccountNumber {
	return transfer.AccountNumber(fmt.Sprintf("%012d", 700000000000+i*1111))
}

// jpSetup opens the accounts with known balances (50.00 USD plus 10.00 per index) and returns
// them with the total.
func jpSetup(t testing.TB, b *transfer.Bank) ([]transfer.AccountNumber, money.Money) {
	t.Helper()
	ctx := context.Background()
	var accounts []transfer.AccountNumber
	var total int64
	for i := range jpAccounts {
		n := jpAccount(i)
		units := int64(5000 + 1000*i)
		require.NoError(t, b.OpenAccount(ctx, n, jpUSD))
		m, err := money.FromMinorUnits(units, jpUSD)
		require.NoError(t, err)
		_, err = b.Deposit(ctx, transfer.DepositRequest{ID: transfer.DepositID(fmt.Sprintf("initial-%d", i)), Account: n, Amount: m})
		require.NoError(t, err)
		accounts, total = append(accounts, n), total+units
	}
	m, err := money.FromMinorUnits(total, jpUSD)
	require.NoError(t, err)
	return accounts, m
}

// jpWrite makes ops random transfers of 0.01 to 50.00 USD between two different accounts, with
// transfer numbers unique to the process and writer, and returns what the bank told it. Any
// error but ErrInsufficientFunds ends it.
func jpWrite(ctx context.Context, b *transfer.Bank, accounts []transfer.AccountNumber, proc, writer, ops int, seed uint64) (jpResult, error) {
	res := jpResult{Debited: map[transfer.AccountNumber]int64{}, Credited: map[transfer.AccountNumber]int64{}}
	r := rand.New(rand.NewPCG(seed, uint64(proc)<<32|uint64(writer)))
	for i := range ops {
		from := r.IntN(len(accounts))
		to := (from + 1 + r.IntN(len(accounts)-1)) % len(accounts)
		units := 1 + r.Int64N(5000)
		amount, err := money.FromMinorUnits(units, jpUSD)
		if err != nil {
			return res, err
		}
		req := transfer.Request{Number: transfer.TransferNumber(fmt.Sprintf("p%d-w%d-%d", proc, writer, i)),
			From: accounts[from], To: accounts[to], Amount: amount}
		out, err := b.Transfer(ctx, req, transfer.Default)
		switch {
		case errors.Is(err, transfer.ErrInsufficientFunds):
			res.Insufficient++
		case err != nil:
			return res, fmt.Errorf("transfer %s: %w", req.Number, err)
		case out.Replayed:
			return res, fmt.Errorf("transfer %s: replayed, but its number is new", req.Number)
		default:
			res.OK++
			res.Debited[req.From] += units
			res.Credited[req.To] += units
			if out.Overdrawn {
				res.Overdrawn++
			}
		}
	}
	return res, nil
}

// jpReader takes balances, or reconciliations when it is a reconciler, until done is closed.
// Any error fails the test: a reconciliation reads the accounts alone, in one read, on every
// store, however busy the writers.
type jpReader struct {
	reconciler      bool
	reads           [][]transfer.Balance
	reconciliations []transfer.Reconciliation
	err             error
}

func (r *jpReader) run(ctx context.Context, f *transfer.Finder, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		if r.reconciler {
			rec, err := f.Reconcile(ctx)
			if err != nil {
				r.err = err
				return
			}
			r.reconciliations = append(r.reconciliations, rec)
		} else {
			bs, err := f.Balances(ctx)
			if err != nil {
				r.err = err
				return
			}
			r.reads = append(r.reads, bs)
		}
		// Leave the writers most of the two cores: a reconciliation costs more than a read.
		if r.reconciler {
			time.Sleep(15 * time.Millisecond)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// jpRead runs the readers until writers returns, and adds what they saw to h.
func jpRead(t testing.TB, f *transfer.Finder, h *jpHistory, writers func()) {
	t.Helper()
	ctx := context.Background()
	done := make(chan struct{})
	readers := make([]jpReader, jpReaders+1) // and a reconciler
	readers[jpReaders].reconciler = true
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() { readers[i].run(ctx, f, done) })
	}
	writers()
	close(done)
	wg.Wait()
	for _, r := range readers {
		require.NoError(t, r.err, "reader")
		h.Reads = append(h.Reads, r.reads...)
		h.Reconciliations = append(h.Reconciliations, r.reconciliations...)
	}
}

// jpFinish records the end state: a last read, the reconciliation, the ledger, the audit, the
// transfers and the statements' transfer lines.
func jpFinish(t testing.TB, f *transfer.Finder, h *jpHistory) {
	t.Helper()
	ctx := context.Background()
	bs, err := f.Balances(ctx)
	require.NoError(t, err)
	h.Reads = append(h.Reads, bs)
	h.Final, err = f.Reconcile(ctx)
	require.NoError(t, err)
	h.Ledger, err = f.Ledger(ctx)
	require.NoError(t, err)
	h.Audit, err = f.Audit(ctx)
	require.NoError(t, err)
	h.Transfers, err = f.TransfersOver(ctx, money.Zero(jpUSD), 1_000_000) // every transfer: amounts are positive
	require.NoError(t, err)
	h.Debits, h.Credits = map[transfer.Reference]int{}, map[transfer.Reference]int{}
	for _, n := range h.Accounts {
		st, err := f.Statement(ctx, n, 1_000_000)
		require.NoError(t, err)
		for _, l := range st.Lines {
			switch l.Kind {
			case "debit":
				h.Debits[l.Reference]++
			case "credit":
				h.Credits[l.Reference]++
			}
		}
	}
}

// jpJudge checks the history and logs what happened.
func jpJudge(t testing.TB, h jpHistory) {
	t.Helper()
	v := jpCheck(h)
	var ok, insufficient, overdrawn int
	for _, w := range h.Writers {
		ok, insufficient, overdrawn = ok+w.OK, insufficient+w.Insufficient, overdrawn+w.Overdrawn
	}
	t.Logf("%d transfers, %d refused for insufficient funds, %d reported overdrawn; %d reads, %d reconciliations; %d negative balances seen",
		ok, insufficient, overdrawn, len(h.Reads), len(h.Reconciliations), v.Overdrafts)
	if len(v.Problems) > 20 {
		v.Problems = append(v.Problems[:20], fmt.Sprintf("... and %d more", len(v.Problems)-20))
	}
	assert.Empty(t, v.Problems, "the history is not valid")
	assert.Positive(t, ok, "no transfer succeeded: the workload tested nothing")
	if h.Strict {
		assert.Zero(t, overdrawn, "an outcome reported an overdraft")
	}
}

func TestJepsenBank(t *testing.T) {
	for _, name := range driverNames {
		for _, s := range transfer.Strategies() {
			t.Run(name+"/"+s.String(), func(t *testing.T) {
				ctx := context.Background()
				b, _ := newBank(t, name, &transfer.Options{Strategy: s})
				accounts, total := jpSetup(t, b)
				h := jpHistory{Strict: s != transfer.Eventual, Accounts: accounts, Total: total}
				results := make([]jpResult, jpWriters)
				errs := make([]error, jpWriters)
				jpRead(t, b.Finder(), &h, func() {
					var wg sync.WaitGroup
					for w := range jpWriters {
						wg.Go(func() { results[w], errs[w] = jpWrite(ctx, b, accounts, 0, w, jpOps[name], 1) })
					}
					wg.Wait()
				})
				require.NoError(t, errors.Join(errs...), "writers")
				h.Writers = results
				jpFinish(t, b.Finder(), &h)
				jpJudge(t, h)
			})
		}
	}
}

// The environment of a worker process (TestJepsenWorker).
const (
	jpEnvWorker   = "DDD_JEPSEN_WORKER" // the worker's process index; unset: the test skips
	jpEnvDriver   = "DDD_JEPSEN_DRIVER" // postgres or mariadb
	jpEnvDSN      = "DDD_JEPSEN_DSN"    // the DSN: PostgreSQL's base DSN, or MariaDB's of the database
	jpEnvSchema   = "DDD_JEPSEN_SCHEMA" // the PostgreSQL schema
	jpEnvStrategy = "DDD_JEPSEN_STRATEGY"
	jpEnvSeed     = "DDD_JEPSEN_SEED"
	jpEnvOps      = "DDD_JEPSEN_OPS"     // transfers per writer
	jpEnvWriters  = "DDD_JEPSEN_WRITERS" // writers in the process
	jpResultLine  = "JEPSEN-RESULT "     // starts the line of stdout that carries a writer's result
)

// jpProcesses and jpProcessWriters shape the multi-process run: 3 processes of 2 writers each.
const (
	jpProcesses      = 3
	jpProcessWriters = 2
)

// TestJepsenWorker is a writer process of TestJepsenBankProcesses: it runs writers against the
// store its environment names and prints each one's result on stdout. It skips unless run so.
func TestJepsenWorker(t *testing.T) {
	proc, err := strconv.Atoi(os.Getenv(jpEnvWorker))
	if err != nil {
		t.Skip("only run as a worker process of TestJepsenBankProcesses")
	}
	ctx := context.Background()
	s, err := transfer.ParseStrategy(os.Getenv(jpEnvStrategy))
	require.NoError(t, err)
	seed, err := strconv.ParseUint(os.Getenv(jpEnvSeed), 10, 64)
	require.NoError(t, err)
	ops, err := strconv.Atoi(os.Getenv(jpEnvOps))
	require.NoError(t, err)
	writers, err := strconv.Atoi(os.Getenv(jpEnvWriters))
	require.NoError(t, err)
	var d driver.Driver
	switch name := os.Getenv(jpEnvDriver); name {
	case "postgres":
		p, err := pguow.Open(ctx, os.Getenv(jpEnvDSN), &pguow.Options{Schema: os.Getenv(jpEnvSchema)})
		require.NoError(t, err)
		defer p.Close()
		d = p
	case "mariadb":
		m, err := mysqluow.Open(ctx, os.Getenv(jpEnvDSN), nil)
		require.NoError(t, err)
		defer func() { _ = m.Close() }()
		d = m
	default:
		t.Fatalf("%s=%q: want postgres or mariadb", jpEnvDriver, name)
	}
	// The parent migrated the store and opened the accounts: no Migrate here.
	b, err := transfer.New(uow.NewStore(d, nil), &transfer.Options{Strategy: s})
	require.NoError(t, err)
	accounts := make([]transfer.AccountNumber, jpAccounts)
	for i := range accounts {
		accounts[i] = jpAccount(i)
	}
	results := make([]jpResult, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { results[w], errs[w] = jpWrite(ctx, b, accounts, proc, w, ops, seed) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...), "writers") // fails the process: exit status 1
	for _, r := range results {
		line, err := json.Marshal(r)
		require.NoError(t, err)
		fmt.Println(jpResultLine + string(line))
	}
}

// TestJepsenBankProcesses runs the workload with the writers in jpProcesses OS processes (this
// test binary, re-executed to run TestJepsenWorker) against one store, and the readers in this
// one: on PostgreSQL (where Keyed takes advisory locks, shared by the processes) and MariaDB
// (named locks).
func TestJepsenBankProcesses(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, name := range []string{"postgres", "mariadb"} {
		for _, s := range transfer.Strategies() {
			t.Run(name+"/"+s.String(), func(t *testing.T) {
				d, dsn := openDriver(t, name)
				b, err := transfer.New(uow.NewStore(d, nil), &transfer.Options{Strategy: s})
				require.NoError(t, err)
				env := []string{jpEnvDriver + "=" + name, jpEnvStrategy + "=" + s.String(),
					jpEnvSeed + "=" + strconv.Itoa(int(s)), jpEnvOps + "=" + strconv.Itoa(jpOps[name]),
					jpEnvWriters + "=" + strconv.Itoa(jpProcessWriters)}
				if name == "postgres" {
					base, schema, ok := strings.Cut(dsn, "#") // openDriver's DSN is base#schema
					require.True(t, ok, "DSN %q", dsn)
					env = append(env, jpEnvDSN+"="+base, jpEnvSchema+"="+schema)
				} else {
					env = append(env, jpEnvDSN+"="+dsn)
				}
				accounts, total := jpSetup(t, b)
				h := jpHistory{Strict: s != transfer.Eventual, Accounts: accounts, Total: total}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				outs := make([]bytes.Buffer, jpProcesses)
				errs := make([]error, jpProcesses)
				jpRead(t, b.Finder(), &h, func() {
					var wg sync.WaitGroup
					for p := range jpProcesses {
						cmd := exec.CommandContext(ctx, exe, "-test.run=^TestJepsenWorker$", "-test.count=1")
						cmd.Env = append(append(os.Environ(), env...), jpEnvWorker+"="+strconv.Itoa(p+1))
						var stderr bytes.Buffer
						cmd.Stdout, cmd.Stderr = &outs[p], &stderr
						if err := cmd.Start(); err != nil {
							errs[p] = fmt.Errorf("worker %d: %w", p+1, err)
							continue
						}
						wg.Go(func() {
							if err := cmd.Wait(); err != nil {
								errs[p] = fmt.Errorf("worker %d: %w\nstdout:\n%s\nstderr:\n%s", p+1, err, outs[p].String(), stderr.String())
							}
						})
					}
					wg.Wait()
				})
				require.NoError(t, errors.Join(errs...))
				for p := range outs {
					n := 0
					sc := bufio.NewScanner(&outs[p])
					for sc.Scan() {
						line, ok := strings.CutPrefix(sc.Text(), jpResultLine)
						if !ok {
							continue
						}
						var r jpResult
						require.NoError(t, json.Unmarshal([]byte(line), &r), "worker %d: %s", p+1, line)
						h.Writers = append(h.Writers, r)
						n++
					}
					require.Equal(t, jpProcessWriters, n, "worker %d printed %d results", p+1, n)
				}
				jpFinish(t, b.Finder(), &h)
				jpJudge(t, h)
			})
		}
	}
}

// TestJepsenChecker shows that the checker finds what it looks for, on hand-made histories.
func TestJepsenChecker(t *testing.T) {
	usd := func(units int64) money.Money {
		m, err := money.FromMinorUnits(units, jpUSD)
		require.NoError(t, err)
		return m
	}
	a, b := jpAccount(0), jpAccount(1)
	read := func(x, y int64) []transfer.Balance {
		return []transfer.Balance{{Account: a, Balance: usd(x)}, {Account: b, Balance: usd(y)}}
	}
	reconciled := func(x, y int64) transfer.Reconciliation {
		r := transfer.Reconciliation{Accounts: 2, Totals: []transfer.Total{{Currency: "USD", Accounts: 2, Balance: usd(x + y),
			Deposited: usd(100), Credited: usd(30), Debited: usd(30)}}}
		for _, bal := range read(x, y) {
			if bal.Balance.IsNegative() {
				r.Overdrawn = append(r.Overdrawn, bal)
			}
		}
		return r
	}
	ledger := func() []transfer.LedgerLine {
		return []transfer.LedgerLine{
			{Account: a, Balance: usd(30), Deposited: usd(60), Credited: usd(0), Debited: usd(30)},
			{Account: b, Balance: usd(70), Deposited: usd(40), Credited: usd(30), Debited: usd(0)},
		}
	}
	// valid: 100 cents deposited (60 in a, 40 in b), then one transfer of 30 from a to b.
	valid := func() jpHistory {
		return jpHistory{
			Strict:          true,
			Accounts:        []transfer.AccountNumber{a, b},
			Total:           usd(100),
			Reads:           [][]transfer.Balance{read(60, 40), read(30, 70)},
			Reconciliations: []transfer.Reconciliation{reconciled(60, 40)},
			Writers: []jpResult{{OK: 1, Debited: map[transfer.AccountNumber]int64{a: 30},
				Credited: map[transfer.AccountNumber]int64{b: 30}}, {Insufficient: 3}},
			Final:     reconciled(30, 70),
			Ledger:    ledger(),
			Audit:     transfer.Audit{Ledger: ledger()},
			Transfers: []transfer.TransferView{{ID: transfer.TransferIDOf("p0-w0-0"), Number: "p0-w0-0", Debited: a, Credited: b, Amount: usd(30)}},
			Debits:    map[transfer.Reference]int{"p0-w0-0": 1},
			Credits:   map[transfer.Reference]int{"p0-w0-0": 1},
		}
	}
	for _, c := range []struct {
		name       string
		change     func(h *jpHistory)
		want       string // in a problem; "" for none
		overdrafts int
	}{
		{name: "valid", change: func(*jpHistory) {}},
		{name: "wrong total", change: func(h *jpHistory) { h.Reads = append(h.Reads, read(30, 40)) }, want: "total 0.70 USD, want 1.00 USD"},
		{name: "negative balance", change: func(h *jpHistory) { h.Reads = append(h.Reads, read(-10, 110)) },
			want: "negative balance -0.10 USD", overdrafts: 1},
		{name: "negative balance under eventual", change: func(h *jpHistory) {
			h.Strict = false
			h.Reads = append(h.Reads, read(-10, 110), read(-20, 120))
			h.Reconciliations = append(h.Reconciliations, reconciled(-20, 120))
		}, overdrafts: 2},
		{name: "missing account", change: func(h *jpHistory) { h.Reads = append(h.Reads, read(30, 70)[1:]) }, want: "accounts ["},
		{name: "no reads", change: func(h *jpHistory) { h.Reads = nil }, want: "no reads"},
		{name: "unreconciled ledger", change: func(h *jpHistory) {
			h.Final.Mismatches = []transfer.LedgerLine{h.Ledger[1]}
		}, want: "final reconciliation: not balanced"},
		{name: "unreconciled ledger during the run", change: func(h *jpHistory) {
			h.Reconciliations[0].Totals[0].Balance = usd(130)
		}, want: "reconciliation 0: not balanced"},
		{name: "overdrawn in the final reconciliation", change: func(h *jpHistory) {
			h.Final.Overdrawn = []transfer.Balance{{Account: a, Balance: usd(-1)}}
		}, want: "final reconciliation: overdrawn"},
		{name: "a transfer the writers were not told of", change: func(h *jpHistory) {
			h.Transfers = append(h.Transfers, transfer.TransferView{ID: transfer.TransferIDOf("p0-w1-0"), Number: "p0-w1-0", Debited: b, Credited: a, Amount: usd(1)})
		}, want: "writers were told of 1 transfers, the store holds 2"},
		{name: "a statement line the writers were not told of", change: func(h *jpHistory) {
			h.Debits["p0-w1-0"], h.Credits["p0-w1-0"] = 1, 1
		}, want: "writers were told of 1 transfers, the statements hold 2 debits and 2 credits"},
		{name: "a debit line twice", change: func(h *jpHistory) { h.Debits["p0-w0-0"] = 2 }, want: "2 debit lines and 1 credit lines"},
		{name: "a credit line without its debit", change: func(h *jpHistory) { h.Credits["p0-w0-1"] = 1 }, want: "credit lines and no debit line"},
		{name: "a transfer lost", change: func(h *jpHistory) { h.Transfers, h.Debits, h.Credits = nil, nil, nil },
			want: "writers were told of 1 transfers, the store holds 0"},
		{name: "a transfer stored twice", change: func(h *jpHistory) {
			h.Transfers = append(h.Transfers, h.Transfers[0])
			h.Writers = append(h.Writers, h.Writers[0])
			h.Debits["p0-w0-1"], h.Credits["p0-w0-1"] = 1, 1
		}, want: "transfer p0-w0-0: stored 2 times"},
		{name: "a transfer moved other money", change: func(h *jpHistory) { h.Transfers[0].Amount = usd(31) }, want: fmt.Sprintf("transfers of %s", a)},
		{name: "ledger moved other money", change: func(h *jpHistory) { h.Ledger[0].Debited = usd(31) }, want: fmt.Sprintf("ledger of %s", a)},
		{name: "audit summed other money", change: func(h *jpHistory) { h.Audit.Ledger[1].Credited = usd(29) }, want: fmt.Sprintf("audit of %s", b)},
		{name: "audit mismatch", change: func(h *jpHistory) {
			h.Audit.Mismatches = []transfer.AuditMismatch{{Kept: h.Ledger[0], Moved: h.Audit.Ledger[0]}}
		}, want: "audit: accounts disagree"},
		{name: "credits and debits apart", change: func(h *jpHistory) { h.Final.Totals[0].Credited = usd(31) },
			want: "final reconciliation: not balanced"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := valid()
			c.change(&h)
			v := jpCheck(h)
			assert.Equal(t, c.overdrafts, v.Overdrafts, "overdrafts")
			if c.want == "" {
				assert.Empty(t, v.Problems)
				return
			}
			assert.True(t, slices.ContainsFunc(v.Problems, func(p string) bool { return strings.Contains(p, c.want) }),
				"want a problem with %q, got %q", c.want, v.Problems)
		})
	}
}

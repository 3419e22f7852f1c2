package transfer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
)

// Finder is the bank's read side, a finder in the CQRS sense: queries that read the store
// directly and return view structs shaped for their use, never domain objects. It reads
// committed data and never writes. It is safe for concurrent use; get one from Bank.Finder.
//
// Its reads cost what the accounts do, not what the history does, with one exception by design:
// each account keeps its lifetime sums (deposits, credits, debits) beside its balance, changed
// in the statement that changes the balance, so Ledger, Totals and Reconcile read the accounts
// alone; Statement reads one account's latest movements, TransfersOver the transfers over an
// amount (through an index). Audit, the exception, sums every deposit and transfer ever made to
// check the accounts against them: a job for a schedule or a test, not for every request.
type Finder struct{ q queries }

// queries is what a storage answers for the Finder.
type queries interface {
	// balances reads every account's balance in one consistent read.
	balances(ctx context.Context) ([]Balance, error)
	// transfersOver returns up to limit transfers of more than m, in m's currency, largest first.
	transfersOver(ctx context.Context, m money.Money, limit int) ([]TransferView, error)
	// statement returns the account's balance and its latest limit lines, newest first.
	statement(ctx context.Context, n AccountNumber, limit int) (Statement, error)
	// ledger returns, in one consistent read, each account's balance and lifetime sums as the
	// account keeps them, in number order: it reads the accounts and nothing else.
	ledger(ctx context.Context) ([]LedgerLine, error)
	// audit returns, in one consistent read and in number order, each account as it keeps
	// itself (ledger's lines) and its balance beside its deposits, credits and debits summed
	// from the movements: it reads every deposit and transfer.
	audit(ctx context.Context) (kept, moved []LedgerLine, err error)
}

// Balance is an account's balance.
type Balance struct {
	Account AccountNumber `json:"account"`
	Balance money.Money   `json:"balance"`
}

// TransferView is a posted transfer as the read side shows it.
type TransferView struct {
	ID       TransferID     `json:"id"`
	Number   TransferNumber `json:"number"`
	Debited  AccountNumber  `json:"debited"`
	Credited AccountNumber  `json:"credited"`
	Amount   money.Money    `json:"amount"`
	At       time.Time      `json:"at"`
}

// Statement is an account's balance and its latest movements, oldest first.
type Statement struct {
	Account AccountNumber   `json:"account"`
	Balance money.Money     `json:"balance"`
	Lines   []StatementLine `json:"lines"`
}

// StatementLine is one movement of an account: a deposit, a transfer's debit or its credit.
// Amount is signed (a debit is negative); Balance is the balance the movement left.
type StatementLine struct {
	At           time.Time     `json:"at"`
	Kind         string        `json:"kind"`                   // "deposit", "debit" or "credit"
	Reference    Reference     `json:"reference"`              // the deposit ID or transfer number
	Counterparty AccountNumber `json:"counterparty,omitempty"` // the other account of a transfer
	Amount       money.Money   `json:"amount"`
	Balance      money.Money   `json:"balance"`
}

// Reference is what a statement line names its movement by: the deposit ID of a deposit, the
// transfer number of a transfer.
type Reference string

// LedgerLine is an account's balance beside its lifetime sums, the deposits, credits and
// debits it ever had: for a reconciled account, Balance = Deposited + Credited - Debited. The
// sums have no size limit: they can pass what a balance can hold.
type LedgerLine struct {
	Account   AccountNumber `json:"account"`
	Balance   money.Money   `json:"balance"`
	Deposited money.Money   `json:"deposited"`
	Credited  money.Money   `json:"credited"`
	Debited   money.Money   `json:"debited"`
}

// Expected returns the balance the movements give: Deposited + Credited - Debited.
func (l LedgerLine) Expected() money.Money {
	e, _ := l.Deposited.Add(l.Credited)
	e, _ = e.Sub(l.Debited)
	return e
}

// Total is the money of one currency in the bank.
type Total struct {
	Currency  string      `json:"currency"`
	Accounts  int         `json:"accounts"`
	Balance   money.Money `json:"balance"`   // the sum of the balances
	Deposited money.Money `json:"deposited"` // the sum of the deposits: money enters only by deposit
	// Credited and Debited are the sums of the accounts' lifetime credits and debits: every
	// transfer adds its amount to both, so they are equal.
	Credited money.Money `json:"credited"`
	Debited  money.Money `json:"debited"`
}

// Reconciliation checks the accounts' balances against their lifetime sums (Finder.Reconcile).
type Reconciliation struct {
	Accounts int     `json:"accounts"`
	Totals   []Total `json:"totals"`
	// Mismatches are the accounts whose balance is not Deposited + Credited - Debited.
	Mismatches []LedgerLine `json:"mismatches,omitempty"`
	// Overdrawn are the accounts with a negative balance (only the eventual strategy can
	// leave one).
	Overdrawn []Balance `json:"overdrawn,omitempty"`
}

// Balanced reports whether every account reconciles and, per currency, the balances sum to the
// deposits (transfers move money, never make it) and the credits to the debits (each transfer
// is both, so a transfer that reached one account and not the other, or an update lost, shows
// here even when each account is consistent with itself).
func (r Reconciliation) Balanced() bool {
	if len(r.Mismatches) > 0 {
		return false
	}
	for _, t := range r.Totals {
		if !t.Balance.Equal(t.Deposited) || !t.Credited.Equal(t.Debited) {
			return false
		}
	}
	return true
}

// Audit checks every account against the movements that made it (Finder.Audit).
type Audit struct {
	// Ledger is, per account in number order, its balance beside its deposits, credits and
	// debits summed from the deposits and transfers themselves.
	Ledger []LedgerLine `json:"ledger"`
	// Mismatches are the accounts that disagree with their movements: lifetime sums other than
	// the movements', or a balance other than the movements give.
	Mismatches []AuditMismatch `json:"mismatches,omitempty"`
}

// AuditMismatch is an account that disagrees with its movements.
type AuditMismatch struct {
	Kept  LedgerLine `json:"kept"`  // its balance and lifetime sums, as the account keeps them
	Moved LedgerLine `json:"moved"` // its balance beside its movements summed
}

// Clean reports whether every account agrees with its movements.
func (a Audit) Clean() bool { return len(a.Mismatches) == 0 }

// Balances returns every account's balance, in account number order, from one consistent read
// (one statement, so the total is never caught between a debit and its credit).
func (f *Finder) Balances(ctx context.Context) ([]Balance, error) { return f.q.balances(ctx) }

// TransfersOver returns the transfers of more than m in m's currency, largest first, at most
// limit of them (limit <= 0 means 100): the classic find-transfers-over query.
func (f *Finder) TransfersOver(ctx context.Context, m money.Money, limit int) ([]TransferView, error) {
	if m.Currency().IsZero() {
		return nil, fmt.Errorf("%w: no currency", ErrInvalidInput)
	}
	return f.q.transfersOver(ctx, m, limitOr100(limit))
}

// Statement returns the account's balance and its latest movements, at most limit of them
// (limit <= 0 means 100), oldest first. An unknown account wraps ErrUnknownAccount.
func (f *Finder) Statement(ctx context.Context, n AccountNumber, limit int) (Statement, error) {
	if err := n.Validate(); err != nil {
		return Statement{}, err
	}
	s, err := f.q.statement(ctx, n, limitOr100(limit))
	if err != nil {
		return Statement{}, err
	}
	slices.Reverse(s.Lines)
	return s, nil
}

// Ledger returns each account's balance beside its lifetime sums (its deposits, credits and
// debits), in account number order, as the accounts keep them, from one consistent read: one
// statement on the SQL stores, one read of the documents on others. It reads the accounts and
// nothing else, so its cost grows with the accounts, not with the history; Audit sums the
// movements themselves.
func (f *Finder) Ledger(ctx context.Context) ([]LedgerLine, error) { return f.q.ledger(ctx) }

// Totals returns, per currency, the number of accounts and the sums of their balances,
// deposits, credits and debits, from one consistent read of the accounts (see Ledger).
func (f *Finder) Totals(ctx context.Context) ([]Total, error) {
	lines, err := f.q.ledger(ctx)
	if err != nil {
		return nil, err
	}
	return totals(lines)
}

// Reconcile checks, from one consistent read of the accounts (see Ledger), that every
// account's balance equals its deposits plus credits minus debits, and per currency that the
// balances sum to the deposits and the credits to the debits (Reconciliation.Balanced); it
// lists negative balances. Like Ledger it costs what the accounts do, not the history: it
// trusts each account's lifetime sums, which every command changes in the statement that
// changes its balance. Audit checks those sums against the movements.
func (f *Finder) Reconcile(ctx context.Context) (Reconciliation, error) {
	lines, err := f.q.ledger(ctx)
	if err != nil {
		return Reconciliation{}, err
	}
	ts, err := totals(lines)
	if err != nil {
		return Reconciliation{}, err
	}
	r := Reconciliation{Accounts: len(lines), Totals: ts}
	for _, l := range lines {
		if !l.Balance.Equal(l.Expected()) {
			r.Mismatches = append(r.Mismatches, l)
		}
		if l.Balance.IsNegative() {
			r.Overdrawn = append(r.Overdrawn, Balance{Account: l.Account, Balance: l.Balance})
		}
	}
	return r, nil
}

// Audit checks every account against its movements, from one consistent read (one statement on
// the SQL stores; on documents, reads repeated until the accounts' versions are the same before
// and after, or an error wrapping uow.ErrConflict if they never are): it sums each account's
// deposits, credits and debits from the deposits and transfers themselves and compares them
// with the lifetime sums the account keeps and with its balance. It reads every movement ever
// made, so its cost grows with the history: run it as a periodic job or in tests, not per
// request. The sums are exact however large they grow.
func (f *Finder) Audit(ctx context.Context) (Audit, error) {
	kept, moved, err := f.q.audit(ctx)
	if err != nil {
		return Audit{}, err
	}
	a := Audit{Ledger: moved}
	for i, m := range moved {
		k := kept[i]
		if !k.Deposited.Equal(m.Deposited) || !k.Credited.Equal(m.Credited) || !k.Debited.Equal(m.Debited) ||
			!k.Balance.Equal(m.Balance) || !m.Balance.Equal(m.Expected()) {
			a.Mismatches = append(a.Mismatches, AuditMismatch{Kept: k, Moved: m})
		}
	}
	return a, nil
}

// totals sums the lines per currency, exactly: money has no 64-bit bound.
func totals(lines []LedgerLine) ([]Total, error) {
	by := map[string]*Total{}
	for _, l := range lines {
		c := l.Balance.Currency()
		t := by[c.Code()]
		if t == nil {
			z := money.Zero(c)
			t = &Total{Currency: c.Code(), Balance: z, Deposited: z, Credited: z, Debited: z}
			by[c.Code()] = t
		}
		t.Accounts++
		for _, s := range []struct {
			into *money.Money
			add  money.Money
		}{
			{&t.Balance, l.Balance}, {&t.Deposited, l.Deposited}, {&t.Credited, l.Credited}, {&t.Debited, l.Debited},
		} {
			sum, err := s.into.Add(s.add)
			if err != nil {
				return nil, fmt.Errorf("transfer: totals of %s: %w", c.Code(), err)
			}
			*s.into = sum
		}
	}
	out := make([]Total, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Total) int { return strings.Compare(a.Currency, b.Currency) })
	return out, nil
}

func limitOr100(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// The SQL queries.

func (t *tables) balances(ctx context.Context) ([]Balance, error) {
	out := []Balance{}
	err := t.read.query(ctx, "SELECT number, currency, balance FROM "+t.account+" ORDER BY number", nil,
		func(scan func(...any) error) error {
			var number, currency string
			var balance int64
			if err := scan(&number, &currency, &balance); err != nil {
				return err
			}
			b, err := fromMinor(balance, currency)
			out = append(out, Balance{Account: AccountNumber(strings.TrimSpace(number)), Balance: b})
			return err
		})
	return out, err
}

func (t *tables) transfersOver(ctx context.Context, m money.Money, limit int) ([]TransferView, error) {
	over, err := minor(m)
	if err != nil {
		return nil, err
	}
	var out []TransferView
	err = t.read.query(ctx, t.sql("SELECT number, debited, credited, amount, currency, created_at, debit_balance, credit_balance FROM "+
		t.transfer+" WHERE currency = ? AND amount > ? ORDER BY amount DESC, number LIMIT ?"),
		[]any{m.Currency().Code(), over, limit}, func(scan func(...any) error) error {
			d, err := scanTransfer(scan)
			out = append(out, TransferView{ID: TransferIDOf(d.Number), Number: d.Number, Debited: d.Debited,
				Credited: d.Credited, Amount: d.Amount, At: d.CreatedAt})
			return err
		})
	return out, err
}

func (t *tables) statement(ctx context.Context, n AccountNumber, limit int) (Statement, error) {
	s := Statement{Account: n}
	found := false
	err := t.read.query(ctx, t.sql("SELECT currency, balance FROM "+t.account+" WHERE number = ?"), []any{n},
		func(scan func(...any) error) error {
			var currency string
			var balance int64
			if err := scan(&currency, &balance); err != nil {
				return err
			}
			found = true
			var err error
			s.Balance, err = fromMinor(balance, currency)
			return err
		})
	if err != nil {
		return s, err
	}
	if !found {
		return s, fmt.Errorf("%w: %s", ErrUnknownAccount, n)
	}
	q := t.sql("SELECT * FROM (" +
		"SELECT created_at AS moved_at, 'debit' AS kind, number AS ref, credited AS other, -amount AS amount, currency, debit_balance AS balance FROM " + t.transfer + " WHERE debited = ?" +
		" UNION ALL SELECT created_at, 'credit', number, debited, amount, currency, credit_balance FROM " + t.transfer + " WHERE credited = ?" +
		" UNION ALL SELECT made_at, 'deposit', id, '', amount, currency, balance FROM " + t.deposit + " WHERE account = ?" +
		") movements ORDER BY moved_at DESC, ref DESC LIMIT ?")
	err = t.read.query(ctx, q, []any{n, n, n, limit}, func(scan func(...any) error) error {
		var (
			kind, ref, other, currency string
			at, amount, balance        int64
		)
		if err := scan(&at, &kind, &ref, &other, &amount, &currency, &balance); err != nil {
			return err
		}
		l := StatementLine{At: fromMicros(at), Kind: kind, Reference: Reference(ref), Counterparty: AccountNumber(strings.TrimSpace(other))}
		err := setMoney(currency, []*money.Money{&l.Amount, &l.Balance}, amount, balance)
		s.Lines = append(s.Lines, l)
		return err
	})
	return s, err
}

func (t *tables) ledger(ctx context.Context) ([]LedgerLine, error) {
	var out []LedgerLine
	err := t.read.query(ctx, "SELECT number, currency, balance, "+t.sums("")+" FROM "+t.account+" ORDER BY number", nil,
		func(scan func(...any) error) error {
			l, err := scanLedger(scan)
			out = append(out, l)
			return err
		})
	return out, err
}

func (t *tables) audit(ctx context.Context) (kept, moved []LedgerLine, err error) {
	return t.movements(ctx, t.read, true)
}

// movements returns, from one statement, each account's balance beside its deposits, credits
// and debits summed from the deposit and transfer tables (moved), in number order; with kept,
// also the account rows' own lifetime sums (kept). A SUM of 64-bit integers overflows once it
// passes 2^63-1 (SQLite raises an error; PostgreSQL and MariaDB return a NUMERIC or DECIMAL
// that no longer scans into an int64), so each amount (positive) is split into its high and
// low 32 bits, summed apart: both sums fit in an int64 for up to 2^31 movements per account,
// and Go adds them exactly (fromHalves).
func (t *tables) movements(ctx context.Context, c conn, withKept bool) (kept, moved []LedgerLine, err error) {
	cols := "a.number, a.currency, a.balance"
	if withKept {
		cols += ", " + t.sums("a.")
	}
	halves := func(table, account string) string {
		return "(SELECT " + account + " AS n, SUM(amount >> 32) AS hi, SUM(amount & 4294967295) AS lo FROM " + table +
			" GROUP BY " + account + ")"
	}
	q := "SELECT " + cols + ", COALESCE(d.hi, 0), COALESCE(d.lo, 0), COALESCE(c.hi, 0), COALESCE(c.lo, 0)," +
		" COALESCE(b.hi, 0), COALESCE(b.lo, 0) FROM " + t.account + " a" +
		" LEFT JOIN " + halves(t.deposit, "account") + " d ON d.n = a.number" +
		" LEFT JOIN " + halves(t.transfer, "credited") + " c ON c.n = a.number" +
		" LEFT JOIN " + halves(t.transfer, "debited") + " b ON b.n = a.number ORDER BY a.number"
	err = c.query(ctx, q, nil, func(scan func(...any) error) error {
		var (
			currency string
			balance  int64
			sums     [6]int64 // hi and lo of the deposits, credits and debits
			m        LedgerLine
		)
		dst := []any{&sums[0], &sums[1], &sums[2], &sums[3], &sums[4], &sums[5]}
		if withKept {
			k, err := scanLedger(scan, dst...)
			if err != nil {
				return err
			}
			m.Account, currency = k.Account, k.Balance.Currency().Code()
			balance, _ = k.Balance.MinorUnits()
			kept = append(kept, k)
		} else {
			var number string
			if err := scan(append([]any{&number, &currency, &balance}, dst...)...); err != nil {
				return err
			}
			m.Account = AccountNumber(strings.TrimSpace(number))
		}
		var err error
		if m.Balance, err = fromMinor(balance, currency); err != nil {
			return err
		}
		for i, into := range []*money.Money{&m.Deposited, &m.Credited, &m.Debited} {
			if *into, err = fromHalves(sums[2*i], sums[2*i+1], currency); err != nil {
				return err
			}
		}
		moved = append(moved, m)
		return nil
	})
	return kept, moved, err
}

// The document queries: read every document of a kind (documents suit small, in-memory stores).

// read runs fn in a unit that is rolled back.
func (s documents) read(ctx context.Context, fn func(u *uow.Unit) error) error {
	u, err := s.store.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = u.Rollback(context.WithoutCancel(ctx)) }()
	return fn(u)
}

func all[T any](ctx context.Context, r interface {
	FindFunc(context.Context, func(T) bool) ([]T, error)
}) ([]T, error) {
	return r.FindFunc(ctx, func(T) bool { return true })
}

func (s documents) balances(ctx context.Context) ([]Balance, error) {
	out := []Balance{}
	err := s.read(ctx, func(u *uow.Unit) error {
		accs, err := all(ctx, s.accounts(u))
		for _, a := range accs {
			out = append(out, Balance{Account: a.Number(), Balance: a.balance})
		}
		return err
	})
	return out, err
}

func (s documents) transfersOver(ctx context.Context, m money.Money, limit int) ([]TransferView, error) {
	var out []TransferView
	err := s.read(ctx, func(u *uow.Unit) error {
		ts, err := s.transfers(u).FindFunc(ctx, func(t *Transfer) bool {
			return t.amount.Currency() == m.Currency() && t.amount.Amount().GreaterThan(m.Amount())
		})
		for _, t := range ts {
			out = append(out, TransferView{ID: t.ID(), Number: t.number, Debited: t.debited, Credited: t.credited,
				Amount: t.amount, At: t.createdAt})
		}
		return err
	})
	slices.SortFunc(out, func(a, b TransferView) int {
		return cmp.Or(b.Amount.Amount().Cmp(a.Amount.Amount()), cmp.Compare(a.Number, b.Number))
	})
	return out[:min(limit, len(out))], err
}

func (s documents) statement(ctx context.Context, n AccountNumber, limit int) (Statement, error) {
	st := Statement{Account: n}
	err := s.read(ctx, func(u *uow.Unit) error {
		a, err := s.accounts(u).Get(ctx, n)
		if err != nil {
			return unknownAccount(n, err)
		}
		st.Balance = a.balance
		ts, err := s.transfers(u).FindFunc(ctx, func(t *Transfer) bool { return t.debited == n || t.credited == n })
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.debited == n {
				st.Lines = append(st.Lines, StatementLine{At: t.createdAt, Kind: "debit", Reference: Reference(t.number),
					Counterparty: t.credited, Amount: t.amount.Neg(), Balance: t.debitBalance})
			} else {
				st.Lines = append(st.Lines, StatementLine{At: t.createdAt, Kind: "credit", Reference: Reference(t.number),
					Counterparty: t.debited, Amount: t.amount, Balance: t.creditBalance})
			}
		}
		ds, err := s.deposits(u).FindFunc(ctx, func(d *Deposit) bool { return d.account == n })
		for _, d := range ds {
			st.Lines = append(st.Lines, StatementLine{At: d.at, Kind: "deposit", Reference: Reference(d.ID()),
				Amount: d.amount, Balance: d.balance})
		}
		return err
	})
	slices.SortFunc(st.Lines, func(a, b StatementLine) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(b.Reference, a.Reference))
	})
	st.Lines = st.Lines[:min(limit, len(st.Lines))]
	return st, err
}

// ledger reads the accounts: one read of one kind is one consistent snapshot.
func (s documents) ledger(ctx context.Context) ([]LedgerLine, error) {
	var out []LedgerLine
	err := s.read(ctx, func(u *uow.Unit) error {
		accs, err := all(ctx, s.accounts(u))
		for _, a := range accs {
			out = append(out, a.ledger())
		}
		return err
	})
	slices.SortFunc(out, func(a, b LedgerLine) int { return cmp.Compare(a.Account, b.Account) })
	return out, err
}

// audit reads the accounts, the transfers, the deposits and the accounts again, until both
// reads of the accounts find the same versions: every transfer and deposit changes its
// accounts in the commit that stores it, so then no commit fell between the reads, and the
// four reads are one consistent snapshot.
func (s documents) audit(ctx context.Context) (kept, moved []LedgerLine, err error) {
	for attempt := range 100 {
		kept, moved, ok, err := s.auditOnce(ctx)
		if err != nil || ok {
			return kept, moved, err
		}
		select { // let the writers pass: a quiet moment is all a snapshot needs
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(min(attempt+1, 20)) * int64(time.Millisecond)))):
		}
	}
	return nil, nil, fmt.Errorf("transfer: %w: the accounts kept changing while they were audited", uow.ErrConflict)
}

func (s documents) auditOnce(ctx context.Context) (kept, moved []LedgerLine, consistent bool, err error) {
	err = s.read(ctx, func(u *uow.Unit) error {
		accs, err := all(ctx, s.accounts(u))
		if err != nil {
			return err
		}
		ts, err := all(ctx, s.transfers(u))
		if err != nil {
			return err
		}
		ds, err := all(ctx, s.deposits(u))
		if err != nil {
			return err
		}
		again, err := s.versions(ctx)
		if err != nil {
			return err
		}
		consistent = len(again) == len(accs)
		for _, a := range accs {
			consistent = consistent && again[a.Number()] == a.Version()
		}
		slices.SortFunc(accs, func(a, b *Account) int { return cmp.Compare(a.Number(), b.Number()) })
		index := map[AccountNumber]int{}
		for i, a := range accs {
			index[a.Number()] = i
			z := money.Zero(a.Currency())
			kept = append(kept, a.ledger())
			moved = append(moved, LedgerLine{Account: a.Number(), Balance: a.balance, Deposited: z, Credited: z, Debited: z})
		}
		add := func(into *money.Money, m money.Money) error {
			sum, err := into.Add(m)
			*into = sum
			return err
		}
		for _, d := range ds {
			if err := add(&moved[index[d.account]].Deposited, d.amount); err != nil {
				return err
			}
		}
		for _, t := range ts {
			if err := errors.Join(add(&moved[index[t.credited]].Credited, t.amount),
				add(&moved[index[t.debited]].Debited, t.amount)); err != nil {
				return err
			}
		}
		return nil
	})
	return kept, moved, consistent, err
}

// versions reads every account's version, in a unit of its own (a unit returns the accounts
// it already loaded as it holds them).
func (s documents) versions(ctx context.Context) (map[AccountNumber]int64, error) {
	v := map[AccountNumber]int64{}
	err := s.read(ctx, func(u *uow.Unit) error {
		accs, err := all(ctx, s.accounts(u))
		for _, a := range accs {
			v[a.Number()] = a.Version()
		}
		return err
	})
	return v, err
}

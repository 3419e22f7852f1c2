package transfer

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
)

// dialect is the SQL flavour of a driver.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
	dialectMySQL
)

// tables keeps the bank in relational tables, account and transfer, plus deposit,
// through uow.Mappers: the unit of work keeps the identity map, the version compare-and-set and
// the outbox in the same transaction.
//
//	account  (number, currency, balance, deposited, credited, debited, opened_at, version)
//	transfer (id, number, debited, credited, amount, currency, created_at, debit_balance, credit_balance)
//	deposit  (id, account, amount, currency, made_at, balance)
//
// Amounts and balances are integers of the currency's minor units (cents), BIGINT, so a delta
// is applied exactly by the database; times are unix microseconds. An account's lifetime sums
// (deposited, credited, debited) grow without bound, past any 64-bit integer, so each database
// keeps them exactly in its own way: NUMERIC on PostgreSQL, DECIMAL(65,0) on MySQL and MariaDB
// (both added to by the database itself), and decimal TEXT on SQLite, whose only exact numbers
// are 64-bit integers: there Go adds to them, inside the unit's transaction, which holds
// SQLite's single write lock from its BEGIN IMMEDIATE, so no other writer comes between the
// read and the write.
type tables struct {
	dialect                    dialect
	schema                     string // PostgreSQL's schema, "" for the search_path
	account, transfer, deposit string // names, schema-qualified on PostgreSQL
	read                       conn   // the pool: queries, and optimistic loads on SQLite
	tx                         func(*uow.Unit) (conn, error)
	pool                       pool // the pool again, for the migration's transactions
}

func newTables(d dialect, schema string, p pool, tx func(*uow.Unit) (conn, error)) *tables {
	t := &tables{dialect: d, schema: schema, account: "account", transfer: "transfer", deposit: "deposit", read: p, tx: tx, pool: p}
	if schema != "" {
		t.account, t.transfer, t.deposit = `"`+schema+`".account`, `"`+schema+`".transfer`, `"`+schema+`".deposit`
	}
	return t
}

// sums is the select list of an account row's lifetime sums, as text: PostgreSQL would send a
// NUMERIC in binary for pgx to convert; its own text is cheaper.
func (t *tables) sums(prefix string) string {
	cols := make([]string, len(lifetimeColumns))
	for i, c := range lifetimeColumns {
		cols[i] = prefix + c
		if t.dialect == dialectPostgres {
			cols[i] += "::text"
		}
	}
	return strings.Join(cols, ", ")
}

// lifetimeColumns are the account's lifetime sums.
var lifetimeColumns = [...]string{"deposited", "credited", "debited"}

// sumType is the column type of a lifetime sum: exact, and wide enough for any history.
func (t *tables) sumType() string {
	switch t.dialect {
	case dialectPostgres:
		return "NUMERIC"
	case dialectMySQL:
		return "DECIMAL(65,0)"
	default:
		return "TEXT"
	}
}

// sql rewrites a statement written with ? placeholders for the dialect ($1, $2 ... on PostgreSQL).
func (t *tables) sql(q string) string {
	if t.dialect != dialectPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// in returns "(?, ?, ...)" for n values.
func in(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// statements returns the statements creating the tables, idempotent.
func (t *tables) statements() []string {
	switch t.dialect {
	case dialectMySQL:
		opts := " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
		return []string{
			`CREATE TABLE IF NOT EXISTS account (number CHAR(12) NOT NULL PRIMARY KEY, currency CHAR(3) NOT NULL,
				balance BIGINT NOT NULL, deposited DECIMAL(65,0) NOT NULL DEFAULT 0, credited DECIMAL(65,0) NOT NULL DEFAULT 0,
				debited DECIMAL(65,0) NOT NULL DEFAULT 0, opened_at BIGINT NOT NULL, version BIGINT NOT NULL)` + opts,
			`CREATE TABLE IF NOT EXISTS transfer (id CHAR(36) NOT NULL PRIMARY KEY, number VARCHAR(64) NOT NULL UNIQUE,
				debited CHAR(12) NOT NULL, credited CHAR(12) NOT NULL, amount BIGINT NOT NULL, currency CHAR(3) NOT NULL,
				created_at BIGINT NOT NULL, debit_balance BIGINT NOT NULL, credit_balance BIGINT NOT NULL,
				KEY transfer_debited (debited), KEY transfer_credited (credited), KEY transfer_amount (currency, amount),
				FOREIGN KEY (debited) REFERENCES account (number), FOREIGN KEY (credited) REFERENCES account (number))` + opts,
			`CREATE TABLE IF NOT EXISTS deposit (id VARCHAR(64) NOT NULL PRIMARY KEY, account CHAR(12) NOT NULL,
				amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, made_at BIGINT NOT NULL, balance BIGINT NOT NULL,
				KEY deposit_account (account), FOREIGN KEY (account) REFERENCES account (number))` + opts,
		}
	default:
		sum := t.sumType() + " NOT NULL DEFAULT 0"
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + t.account + ` (number CHAR(12) NOT NULL PRIMARY KEY, currency CHAR(3) NOT NULL,
				balance BIGINT NOT NULL, deposited ` + sum + `, credited ` + sum + `, debited ` + sum + `,
				opened_at BIGINT NOT NULL, version BIGINT NOT NULL)`,
			`CREATE TABLE IF NOT EXISTS ` + t.transfer + ` (id CHAR(36) NOT NULL PRIMARY KEY, number VARCHAR(64) NOT NULL UNIQUE,
				debited CHAR(12) NOT NULL REFERENCES ` + t.account + ` (number),
				credited CHAR(12) NOT NULL REFERENCES ` + t.account + ` (number),
				amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, created_at BIGINT NOT NULL,
				debit_balance BIGINT NOT NULL, credit_balance BIGINT NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS transfer_debited ON ` + t.transfer + ` (debited)`,
			`CREATE INDEX IF NOT EXISTS transfer_credited ON ` + t.transfer + ` (credited)`,
			`CREATE INDEX IF NOT EXISTS transfer_amount ON ` + t.transfer + ` (currency, amount)`,
			`CREATE TABLE IF NOT EXISTS ` + t.deposit + ` (id VARCHAR(64) NOT NULL PRIMARY KEY,
				account CHAR(12) NOT NULL REFERENCES ` + t.account + ` (number),
				amount BIGINT NOT NULL, currency CHAR(3) NOT NULL, made_at BIGINT NOT NULL, balance BIGINT NOT NULL)`,
			`CREATE INDEX IF NOT EXISTS deposit_account ON ` + t.deposit + ` (account)`,
		}
	}
}

// migrate creates the tables, and adds the lifetime sums to an account table made by an
// earlier version of the example.
func (t *tables) migrate(ctx context.Context) error {
	for _, q := range t.statements() {
		if _, err := t.read.exec(ctx, q); err != nil {
			return fmt.Errorf("transfer: creating the bank's tables: %w", err)
		}
	}
	if err := t.addLifetimeSums(ctx); err != nil {
		return fmt.Errorf("transfer: adding the lifetime sums to the account table: %w", err)
	}
	return nil
}

// addLifetimeSums adds the deposited, credited and debited columns to an account table created
// without them, and fills them from the deposit and transfer tables. It does nothing once they
// are there, and a migration interrupted at any point is finished by the next one. Writers of
// the earlier version, which do not keep the sums, must be stopped first: Reconcile would show
// every account they change afterwards as a mismatch.
//
// On SQLite and PostgreSQL, whose DDL is transactional, it runs in one transaction that excludes
// writers and other migrators (SQLite's write lock; a SHARE ROW EXCLUSIVE lock on the account
// table). MySQL and MariaDB commit each ALTER TABLE on its own: there, under a named lock, the
// columns are added NULL, filled in one transaction, then made NOT NULL, which is what marks the
// migration done.
func (t *tables) addLifetimeSums(ctx context.Context) error {
	if done, err := t.hasLifetimeSums(ctx, t.read); err != nil || done {
		return err
	}
	if t.dialect == dialectMySQL {
		return t.pool.session(ctx, func(c pool) error {
			var locked sql.NullInt64
			if err := c.query(ctx, "SELECT GET_LOCK('bank-lifetime-sums', 60)", nil,
				func(scan func(...any) error) error { return scan(&locked) }); err != nil {
				return err
			}
			if locked.Int64 != 1 {
				return fmt.Errorf("%w: another migration held the lock for a minute", uow.ErrConflict)
			}
			defer func() { _, _ = c.exec(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK('bank-lifetime-sums')") }()
			if done, err := t.hasLifetimeSums(ctx, c); err != nil || done {
				return err
			}
			var add, modify []string
			for _, col := range lifetimeColumns {
				add = append(add, "ADD COLUMN IF NOT EXISTS "+col+" DECIMAL(65,0) NULL")
				modify = append(modify, "MODIFY "+col+" DECIMAL(65,0) NOT NULL DEFAULT 0")
			}
			if _, err := c.exec(ctx, "ALTER TABLE account "+strings.Join(add, ", ")); err != nil {
				return err
			}
			if err := c.inTx(ctx, t.backfill); err != nil {
				return err
			}
			_, err := c.exec(ctx, "ALTER TABLE account "+strings.Join(modify, ", "))
			return err
		})
	}
	return t.pool.inTx(ctx, func(ctx context.Context, c conn) error {
		if t.dialect == dialectPostgres {
			if _, err := c.exec(ctx, "LOCK TABLE "+t.account+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
				return err
			}
		}
		if done, err := t.hasLifetimeSums(ctx, c); err != nil || done { // another migrator was first
			return err
		}
		for _, col := range lifetimeColumns {
			if _, err := c.exec(ctx, "ALTER TABLE "+t.account+" ADD COLUMN "+col+" "+t.sumType()+" NOT NULL DEFAULT 0"); err != nil {
				return err
			}
		}
		return t.backfill(ctx, c)
	})
}

// hasLifetimeSums reports whether the account table has its lifetime sums (on MySQL, NOT NULL:
// filled).
func (t *tables) hasLifetimeSums(ctx context.Context, c conn) (bool, error) {
	var q string
	var args []any
	switch t.dialect {
	case dialectSQLite:
		q = "SELECT COUNT(*) FROM pragma_table_info('account') WHERE name IN " + in(3)
	case dialectPostgres:
		q = "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = COALESCE(NULLIF(?, ''), current_schema())" +
			" AND table_name = 'account' AND column_name IN " + in(3)
		args = append(args, t.schema)
	case dialectMySQL:
		q = "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'account'" +
			" AND IS_NULLABLE = 'NO' AND COLUMN_NAME IN " + in(3)
	}
	for _, col := range lifetimeColumns {
		args = append(args, col)
	}
	var n int64
	err := c.query(ctx, t.sql(q), args, func(scan func(...any) error) error { return scan(&n) })
	return n == int64(len(lifetimeColumns)), err
}

// backfill sets every account's lifetime sums to its movements summed.
func (t *tables) backfill(ctx context.Context, c conn) error {
	_, lines, err := t.movements(ctx, c, false)
	if err != nil {
		return err
	}
	q := t.sql("UPDATE " + t.account + " SET deposited = ?, credited = ?, debited = ? WHERE number = ?")
	for _, l := range lines {
		if _, err := c.exec(ctx, q, minorText(l.Deposited), minorText(l.Credited), minorText(l.Debited), l.Account); err != nil {
			return err
		}
	}
	return nil
}

// loadConn is where a load runs: the unit's transaction, or on SQLite the pool for an
// optimistic load (SQLite's transaction is its single writer; a read does not need it).
func (t *tables) loadConn(u *uow.Unit, lock uow.Lock) (conn, error) {
	if t.dialect == dialectSQLite && lock == uow.Optimistic {
		return t.read, nil
	}
	return t.tx(u)
}

// forUpdate is the locking clause of a ForUpdate load; SQLite's write transaction already
// excludes every other writer.
func (t *tables) forUpdate(lock uow.Lock) string {
	if lock == uow.ForUpdate && t.dialect != dialectSQLite {
		return " FOR UPDATE"
	}
	return ""
}

func (t *tables) accounts(u *uow.Unit) *accountRepo {
	return uow.MappedRepo[Account, AccountNumber](u, accountRows{t})
}

func (t *tables) transfers(u *uow.Unit) *transferRepo {
	return uow.MappedRepo[Transfer, TransferID](u, transferRows{t})
}

func (t *tables) deposits(u *uow.Unit) *depositRepo {
	return uow.MappedRepo[Deposit, DepositID](u, depositRows{t})
}

// apply adds the deltas in the database, one statement per account in number order (see add),
// and returns the balances they left.
func (t *tables) apply(ctx context.Context, u *uow.Unit, changes []Change) ([]money.Money, error) {
	c, err := t.tx(u)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(changes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(changes[a].Account, changes[b].Account) })
	out := make([]money.Money, len(changes))
	for _, i := range order {
		if out[i], err = t.add(ctx, c, changes[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// add adds a change to its account's row in one statement: the delta to the balance
// (balance = balance + ?) and its size to the credits or the debits, and returns the balance it
// left. The statement is guarded so that the database never computes a balance beyond a 64-bit
// integer (PostgreSQL and MariaDB would fail, SQLite would turn it into a REAL): the bound is
// computed in Go, balance <= MaxInt64 - delta for a credit, balance >= MinInt64 - delta for a
// debit. When no row changes, the account is missing or in another currency (ErrUnknownAccount)
// or the change would take its balance out of range (ErrInvalidInput).
func (t *tables) add(ctx context.Context, c conn, ch Change) (money.Money, error) {
	delta, err := minor(ch.Delta)
	if err != nil {
		return money.Money{}, err
	}
	number, code := ch.Account, ch.Delta.Currency().Code()
	sum, guard, bound, size := "credited", "balance <= ?", math.MaxInt64-delta, delta
	if delta < 0 { // a debit; an amount is at most MaxInt64, so -delta is too
		sum, guard, bound, size = "debited", "balance >= ?", math.MinInt64-delta, -delta
	}
	set, sumArg := sum+" = "+sum+" + ?", any(size)
	if t.dialect == dialectSQLite { // decimal text: Go adds (see tables)
		kept, found := "", false
		err := c.query(ctx, "SELECT "+sum+" FROM "+t.account+" WHERE number = ? AND currency = ?", []any{number, code},
			func(scan func(...any) error) error { found = true; return scan(&kept) })
		if err != nil {
			return money.Money{}, err
		}
		if !found {
			return money.Money{}, fmt.Errorf("%w: %s (in %s)", ErrUnknownAccount, ch.Account, code)
		}
		d, err := decimal.NewFromString(kept)
		if err != nil {
			return money.Money{}, fmt.Errorf("transfer: account %s: stored %s %q: %w", ch.Account, sum, kept, err)
		}
		set, sumArg = sum+" = ?", d.Add(decimal.NewFromInt(size)).String()
	}
	update := "UPDATE " + t.account + " SET balance = balance + ?, " + set + ", version = version + 1" +
		" WHERE number = ? AND currency = ? AND " + guard
	args := []any{delta, sumArg, number, code, bound}
	var balance int64
	found := false
	scan := func(scan func(...any) error) error { found = true; return scan(&balance) }
	if t.dialect == dialectMySQL { // MariaDB and MySQL have no UPDATE ... RETURNING
		n, err := c.exec(ctx, update, args...)
		if err == nil && n == 1 {
			err = c.query(ctx, "SELECT balance FROM "+t.account+" WHERE number = ?", []any{number}, scan)
		}
		if err != nil {
			return money.Money{}, err
		}
	} else if err := c.query(ctx, t.sql(update+" RETURNING balance"), args, scan); err != nil {
		return money.Money{}, err
	}
	if found {
		return money.FromMinorUnits(balance, ch.Delta.Currency())
	}
	err = c.query(ctx, t.sql("SELECT balance FROM "+t.account+" WHERE number = ? AND currency = ?"), []any{number, code}, scan)
	switch {
	case err != nil:
		return money.Money{}, err
	case !found:
		return money.Money{}, fmt.Errorf("%w: %s (in %s)", ErrUnknownAccount, ch.Account, code)
	}
	holds, err := money.FromMinorUnits(balance, ch.Delta.Currency())
	if err != nil {
		return money.Money{}, err
	}
	would, _ := holds.Add(ch.Delta)
	return money.Money{}, beyond(ch.Account, holds, would)
}

// minor returns m in minor units.
func minor(m money.Money) (int64, error) {
	n, err := m.MinorUnits()
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return n, nil
}

// minors returns each amount in minor units.
func minors(ms ...money.Money) ([]int64, error) {
	out := make([]int64, len(ms))
	for i, m := range ms {
		var err error
		if out[i], err = minor(m); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fromMinor returns units minor units of the currency with the given code (stored: it may
// carry CHAR padding).
func fromMinor(units int64, code string) (money.Money, error) {
	c, err := money.Lookup(strings.TrimSpace(code))
	if err != nil {
		return money.Money{}, fmt.Errorf("transfer: stored currency: %w", err)
	}
	return money.FromMinorUnits(units, c)
}

// fromMinorText returns the decimal integer text of minor units (a lifetime sum as stored) as
// money of the currency with the given code.
func fromMinorText(units, code string) (money.Money, error) {
	c, err := money.Lookup(strings.TrimSpace(code))
	if err != nil {
		return money.Money{}, fmt.Errorf("transfer: stored currency: %w", err)
	}
	return minorTextIn(units, c)
}

// minorTextIn is fromMinorText in a currency already looked up.
func minorTextIn(units string, c money.Currency) (money.Money, error) {
	units = strings.TrimSpace(units)
	if n, err := strconv.ParseInt(units, 10, 64); err == nil { // most sums, most of the time
		return money.FromMinorUnits(n, c)
	}
	d, err := decimal.NewFromString(units)
	if err != nil || !d.IsInteger() {
		return money.Money{}, fmt.Errorf("transfer: stored sum %q: want an integer of minor units", units)
	}
	return money.New(d.Shift(-int32(c.MinorUnits())), c)
}

// minorText returns m in minor units as decimal integer text, of any size: how the lifetime sums
// are written.
func minorText(m money.Money) string {
	return m.Amount().Shift(int32(m.Currency().MinorUnits())).StringFixed(0)
}

// fromHalves returns the sum whose high and low 32-bit halves were summed apart into hi and lo
// (see tables.movements), as money of the currency with the given code.
func fromHalves(hi, lo int64, code string) (money.Money, error) {
	units := decimal.NewFromInt(hi).Mul(decimal.NewFromInt(1 << 32)).Add(decimal.NewFromInt(lo))
	return fromMinorText(units.String(), code)
}

// setMoney sets each *dst[i] to units[i] minor units of the currency with the given code: the
// amount columns of one row.
func setMoney(code string, dst []*money.Money, units ...int64) error {
	for i, u := range units {
		m, err := fromMinor(u, code)
		if err != nil {
			return err
		}
		*dst[i] = m
	}
	return nil
}

func micros(t time.Time) int64      { return t.UnixMicro() }
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// args returns ids as query arguments.
func args(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// accountRows is the Mapper of Account on the account table.
type accountRows struct{ t *tables }

var _ uow.Mapper[*Account] = accountRows{}

func (m accountRows) Load(ctx context.Context, u *uow.Unit, ids []string, lock uow.Lock) ([]*Account, error) {
	c, err := m.t.loadConn(u, lock)
	if err != nil {
		return nil, err
	}
	q := m.t.sql("SELECT number, currency, balance, " + m.t.sums("") + ", opened_at, version FROM " + m.t.account +
		" WHERE number IN " + in(len(ids)) + m.t.forUpdate(lock))
	var out []*Account
	err = c.query(ctx, q, args(ids), func(scan func(...any) error) error {
		var opened, version int64
		l, err := scanLedger(scan, &opened, &version)
		if err != nil {
			return err
		}
		a, err := restoreAccount(l, fromMicros(opened), version)
		out = append(out, a)
		return err
	})
	return out, err
}

// scanLedger reads number, currency, balance, deposited, credited and debited, then into more
// the columns after them.
func scanLedger(scan func(...any) error, more ...any) (LedgerLine, error) {
	var (
		number, currency             string
		balance                      int64
		deposited, credited, debited string
	)
	if err := scan(append([]any{&number, &currency, &balance, &deposited, &credited, &debited}, more...)...); err != nil {
		return LedgerLine{}, err
	}
	l := LedgerLine{Account: AccountNumber(strings.TrimSpace(number))}
	c, err := money.Lookup(strings.TrimSpace(currency))
	if err != nil {
		return LedgerLine{}, fmt.Errorf("transfer: stored currency: %w", err)
	}
	if l.Balance, err = money.FromMinorUnits(balance, c); err != nil {
		return LedgerLine{}, err
	}
	dst := []*money.Money{&l.Deposited, &l.Credited, &l.Debited}
	for i, kept := range []string{deposited, credited, debited} {
		if *dst[i], err = minorTextIn(kept, c); err != nil {
			return LedgerLine{}, err
		}
	}
	return l, nil
}

func (m accountRows) Insert(ctx context.Context, u *uow.Unit, a *Account) error {
	c, err := m.t.tx(u)
	if err != nil {
		return err
	}
	balance, err := minor(a.balance)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, m.t.sql("INSERT INTO "+m.t.account+" (number, currency, balance, deposited, credited, debited, opened_at, version)"+
		" VALUES (?, ?, ?, ?, ?, ?, ?, 1)"),
		a.ID(), a.Currency().Code(), balance, minorText(a.deposited), minorText(a.credited), minorText(a.debited), micros(a.openedAt))
	return err // a number or ID taken: uow.ErrDuplicate, from the driver's Classify
}

func (m accountRows) Update(ctx context.Context, u *uow.Unit, a *Account, expected int64) error {
	c, err := m.t.tx(u)
	if err != nil {
		return err
	}
	balance, err := minor(a.balance)
	if err != nil {
		return err
	}
	n, err := c.exec(ctx, m.t.sql("UPDATE "+m.t.account+" SET balance = ?, deposited = ?, credited = ?, debited = ?, version = version + 1"+
		" WHERE number = ? AND version = ?"),
		balance, minorText(a.deposited), minorText(a.credited), minorText(a.debited), a.ID(), expected)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%w: account %s moved on from version %d", uow.ErrConflict, a.ID(), expected)
	}
	return nil
}

func (m accountRows) Delete(ctx context.Context, u *uow.Unit, a *Account, expected int64) error {
	c, err := m.t.tx(u)
	if err != nil {
		return err
	}
	n, err := c.exec(ctx, m.t.sql("DELETE FROM "+m.t.account+" WHERE number = ? AND version = ?"), a.ID(), expected)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%w: account %s moved on from version %d", uow.ErrConflict, a.ID(), expected)
	}
	return nil
}

// errImmutable refuses to change a transfer or a deposit.
var errImmutable = fmt.Errorf("%w: transfers and deposits are immutable", uow.ErrInvalid)

// transferRows is the Mapper of Transfer on the transfer table.
type transferRows struct{ t *tables }

var _ uow.Mapper[*Transfer] = transferRows{}

func (m transferRows) Load(ctx context.Context, u *uow.Unit, ids []string, lock uow.Lock) ([]*Transfer, error) {
	c, err := m.t.loadConn(u, lock)
	if err != nil {
		return nil, err
	}
	q := m.t.sql("SELECT number, debited, credited, amount, currency, created_at, debit_balance, credit_balance FROM " +
		m.t.transfer + " WHERE id IN " + in(len(ids)) + m.t.forUpdate(lock))
	var out []*Transfer
	err = c.query(ctx, q, args(ids), func(scan func(...any) error) error {
		d, err := scanTransfer(scan)
		if err != nil {
			return err
		}
		t, err := restoreTransfer(d, 1)
		out = append(out, t)
		return err
	})
	return out, err
}

// scanTransfer reads number, debited, credited, amount, currency, created_at, debit_balance and
// credit_balance.
func scanTransfer(scan func(...any) error) (transferDoc, error) {
	var (
		number, debited, credited, currency string
		amount, created, debit, credit      int64
	)
	if err := scan(&number, &debited, &credited, &amount, &currency, &created, &debit, &credit); err != nil {
		return transferDoc{}, err
	}
	d := transferDoc{Number: TransferNumber(number), Debited: AccountNumber(strings.TrimSpace(debited)),
		Credited: AccountNumber(strings.TrimSpace(credited)), CreatedAt: fromMicros(created)}
	err := setMoney(currency, []*money.Money{&d.Amount, &d.DebitBalance, &d.CreditBalance}, amount, debit, credit)
	return d, err
}

func (m transferRows) Insert(ctx context.Context, u *uow.Unit, t *Transfer) error {
	c, err := m.t.tx(u)
	if err != nil {
		return err
	}
	n, err := minors(t.amount, t.debitBalance, t.creditBalance)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, m.t.sql("INSERT INTO "+m.t.transfer+" (id, number, debited, credited, amount, currency, created_at, "+
		"debit_balance, credit_balance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
		t.ID(), t.number, t.debited, t.credited, n[0], t.amount.Currency().Code(),
		micros(t.createdAt), n[1], n[2])
	return err // a number or ID taken: uow.ErrDuplicate, from the driver's Classify
}

func (transferRows) Update(context.Context, *uow.Unit, *Transfer, int64) error { return errImmutable }
func (transferRows) Delete(context.Context, *uow.Unit, *Transfer, int64) error { return errImmutable }

// depositRows is the Mapper of Deposit on the deposit table.
type depositRows struct{ t *tables }

var _ uow.Mapper[*Deposit] = depositRows{}

func (m depositRows) Load(ctx context.Context, u *uow.Unit, ids []string, lock uow.Lock) ([]*Deposit, error) {
	c, err := m.t.loadConn(u, lock)
	if err != nil {
		return nil, err
	}
	q := m.t.sql("SELECT id, account, amount, currency, made_at, balance FROM " + m.t.deposit +
		" WHERE id IN " + in(len(ids)) + m.t.forUpdate(lock))
	var out []*Deposit
	err = c.query(ctx, q, args(ids), func(scan func(...any) error) error {
		var (
			id, account, currency string
			amount, made, balance int64
		)
		if err := scan(&id, &account, &amount, &currency, &made, &balance); err != nil {
			return err
		}
		doc := depositDoc{Account: AccountNumber(strings.TrimSpace(account)), At: fromMicros(made)}
		if err := setMoney(currency, []*money.Money{&doc.Amount, &doc.Balance}, amount, balance); err != nil {
			return err
		}
		d, err := restoreDeposit(DepositID(id), doc, 1)
		out = append(out, d)
		return err
	})
	return out, err
}

func (m depositRows) Insert(ctx context.Context, u *uow.Unit, d *Deposit) error {
	c, err := m.t.tx(u)
	if err != nil {
		return err
	}
	n, err := minors(d.amount, d.balance)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, m.t.sql("INSERT INTO "+m.t.deposit+" (id, account, amount, currency, made_at, balance) VALUES (?, ?, ?, ?, ?, ?)"),
		d.ID(), d.account, n[0], d.amount.Currency().Code(), micros(d.at), n[1])
	return err // a number or ID taken: uow.ErrDuplicate, from the driver's Classify
}

func (depositRows) Update(context.Context, *uow.Unit, *Deposit, int64) error { return errImmutable }
func (depositRows) Delete(context.Context, *uow.Unit, *Deposit, int64) error { return errImmutable }

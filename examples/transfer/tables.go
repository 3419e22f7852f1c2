package transfer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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

// tables keeps the bank in seed 000's relational tables, account and transfer, plus deposit,
// through uow.Mappers: the unit of work keeps the identity map, the version compare-and-set and
// the outbox in the same transaction.
//
//	account  (number, currency, balance, opened_at, version)
//	transfer (id, number, debited, credited, amount, currency, created_at, debit_balance, credit_balance)
//	deposit  (id, account, amount, currency, made_at, balance)
//
// Amounts are integers of the currency's minor units (cents), so a delta is applied exactly by
// the database; times are unix microseconds.
type tables struct {
	dialect                    dialect
	account, transfer, deposit string // names, schema-qualified on PostgreSQL
	read                       conn   // the pool: queries, and optimistic loads on SQLite
	tx                         func(*uow.Unit) (conn, error)
}

func newTables(d dialect, schema string, read conn, tx func(*uow.Unit) (conn, error)) *tables {
	t := &tables{dialect: d, account: "account", transfer: "transfer", deposit: "deposit", read: read, tx: tx}
	if schema != "" {
		t.account, t.transfer, t.deposit = `"`+schema+`".account`, `"`+schema+`".transfer`, `"`+schema+`".deposit`
	}
	return t
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

// schema returns the statements creating the tables, idempotent.
func (t *tables) schema() []string {
	switch t.dialect {
	case dialectMySQL:
		opts := " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
		return []string{
			`CREATE TABLE IF NOT EXISTS account (number CHAR(12) NOT NULL PRIMARY KEY, currency CHAR(3) NOT NULL,
				balance BIGINT NOT NULL, opened_at BIGINT NOT NULL, version BIGINT NOT NULL)` + opts,
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
		return []string{
			`CREATE TABLE IF NOT EXISTS ` + t.account + ` (number CHAR(12) NOT NULL PRIMARY KEY, currency CHAR(3) NOT NULL,
				balance BIGINT NOT NULL, opened_at BIGINT NOT NULL, version BIGINT NOT NULL)`,
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

// migrate creates the tables.
func (t *tables) migrate(ctx context.Context) error {
	for _, q := range t.schema() {
		if _, err := t.read.exec(ctx, q); err != nil {
			return fmt.Errorf("transfer: creating the bank's tables: %w", err)
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

func (t *tables) accounts(u *uow.Unit) *uow.Repository[*Account] {
	return uow.MappedRepo[*Account](u, accountRows{t})
}

func (t *tables) transfers(u *uow.Unit) *uow.Repository[*Transfer] {
	return uow.MappedRepo[*Transfer](u, transferRows{t})
}

func (t *tables) deposits(u *uow.Unit) *uow.Repository[*Deposit] {
	return uow.MappedRepo[*Deposit](u, depositRows{t})
}

// apply adds the deltas in the database (balance = balance + delta), one statement per account
// in number order, and reads the balances they left.
func (t *tables) apply(ctx context.Context, u *uow.Unit, changes []Change) ([]money.Money, error) {
	c, err := t.tx(u)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(changes))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(string(changes[a].Account), string(changes[b].Account)) })
	out := make([]money.Money, len(changes))
	for _, i := range order {
		ch := changes[i]
		delta, err := minor(ch.Delta)
		if err != nil {
			return nil, err
		}
		update := "UPDATE " + t.account + " SET balance = balance + ?, version = version + 1 WHERE number = ? AND currency = ?"
		args := []any{delta, string(ch.Account), ch.Delta.Currency().Code()}
		var balance int64
		found := false
		scan := func(scan func(...any) error) error { found = true; return scan(&balance) }
		if t.dialect == dialectMySQL { // MariaDB and MySQL have no UPDATE ... RETURNING
			n, err := c.exec(ctx, update, args...)
			if err == nil && n == 1 {
				err = c.query(ctx, "SELECT balance FROM "+t.account+" WHERE number = ?", []any{string(ch.Account)}, scan)
			}
			if err != nil {
				return nil, err
			}
		} else if err := c.query(ctx, t.sql(update+" RETURNING balance"), args, scan); err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%w: %s (in %s)", ErrUnknownAccount, ch.Account, ch.Delta.Currency().Code())
		}
		if out[i], err = money.FromMinorUnits(balance, ch.Delta.Currency()); err != nil {
			return nil, err
		}
	}
	return out, nil
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
	q := m.t.sql("SELECT number, currency, balance, opened_at, version FROM " + m.t.account +
		" WHERE number IN " + in(len(ids)) + m.t.forUpdate(lock))
	var out []*Account
	err = c.query(ctx, q, args(ids), func(scan func(...any) error) error {
		var (
			number, currency         string
			balance, opened, version int64
		)
		if err := scan(&number, &currency, &balance, &opened, &version); err != nil {
			return err
		}
		b, err := fromMinor(balance, currency)
		if err != nil {
			return err
		}
		a, err := restoreAccount(AccountNumber(strings.TrimSpace(number)), b, fromMicros(opened), version)
		out = append(out, a)
		return err
	})
	return out, err
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
	_, err = c.exec(ctx, m.t.sql("INSERT INTO "+m.t.account+" (number, currency, balance, opened_at, version) VALUES (?, ?, ?, ?, 1)"),
		string(a.ID()), a.Currency().Code(), balance, micros(a.openedAt))
	return duplicate(err)
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
	n, err := c.exec(ctx, m.t.sql("UPDATE "+m.t.account+" SET balance = ?, version = version + 1 WHERE number = ? AND version = ?"),
		balance, string(a.ID()), expected)
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
	n, err := c.exec(ctx, m.t.sql("DELETE FROM "+m.t.account+" WHERE number = ? AND version = ?"), string(a.ID()), expected)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%w: account %s moved on from version %d", uow.ErrConflict, a.ID(), expected)
	}
	return nil
}

// duplicate turns a unique violation of an insert into uow.ErrDuplicate.
func duplicate(err error) error {
	if errors.Is(err, errUnique) {
		return fmt.Errorf("%w: %w", uow.ErrDuplicate, err)
	}
	return err
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
		string(t.ID()), string(t.number), string(t.debited), string(t.credited), n[0], t.amount.Currency().Code(),
		micros(t.createdAt), n[1], n[2])
	return duplicate(err)
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
		string(d.ID()), string(d.account), n[0], d.amount.Currency().Code(), micros(d.at), n[1])
	return duplicate(err)
}

func (depositRows) Update(context.Context, *uow.Unit, *Deposit, int64) error { return errImmutable }
func (depositRows) Delete(context.Context, *uow.Unit, *Deposit, int64) error { return errImmutable }

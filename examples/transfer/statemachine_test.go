package transfer_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// This file is a model-based test of the Bank: rapid draws sequences of commands (open an
// account, deposit, transfer with a strategy drawn for each call, retry an earlier request),
// valid and deliberately invalid, from small pools of account numbers, deposit IDs and transfer
// numbers, so that duplicates, replays, unknown accounts and currency mismatches happen often. A
// plain model (int64 minor units in maps) predicts every outcome exactly: success, replay (with
// the first outcome), or the one business rule broken. The calls are sequential, so every
// strategy, the eventual one included, must match the model exactly. After every command the
// balances (none negative, summing per currency to the deposits) and the reconciliation are
// compared with the model; after every tenth and at the end also the ledger (as the accounts
// keep it, and as Finder.Audit sums it from the movements, which must agree) and every
// account's statement (each deposit and each transfer's debit and credit recorded exactly once). Amounts
// with sub-cent digits cannot be made in USD at all (money refuses them, and so does decoding a
// request); the ones that exist, in a custom three-decimal currency, are drawn and refused.

var (
	smUSD = money.MustLookup("USD")
	smEUR = money.MustLookup("EUR")
	// smToken is a custom currency with three decimals: the bank refuses it for accounts, and
	// its amounts have sub-cent digits (0.005 TOKEN), which must never reach a balance.
	smToken = func() money.Currency {
		c, err := money.NewCurrency("TOKEN", 3)
		if err != nil {
			panic(err)
		}
		return c
	}()
)

// The pools commands draw from: small, so that IDs collide. Each has one malformed entry.
var (
	smTransferNumbers = []transfer.TransferNumber{"t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8.a", "t9_b", "-t10"}
	smDepositIDs      = []transfer.DepositID{"d1", "d2", "d3", "d4", "d5", "d6", "d7.x", "d8-y", "_d9"}
)

// smMalformed is an account number of 11 digits and a letter.
const smMalformed transfer.AccountNumber = "12345678901x"

// smRules are every rule a command may break: a refused command must wrap exactly the one the
// model predicts, and no other.
var smRules = []*aggregate.RuleError{
	transfer.ErrInvalidInput, transfer.ErrInsufficientFunds, transfer.ErrCurrencyMismatch,
	transfer.ErrSameAccount, transfer.ErrUnknownAccount, transfer.ErrDuplicateTransfer,
	transfer.ErrDuplicateDeposit, transfer.ErrAccountExists,
}

// smT is what the checks need of a test: *rapid.T and *testing.T both have it.
type smT interface {
	require.TestingT
	Helper()
}

var _ smT = (*rapid.T)(nil)

// smLine is a statement line as the model expects it (amounts in minor units, signed).
type smLine struct {
	Kind         string
	Reference    transfer.Reference
	Counterparty transfer.AccountNumber
	Amount       int64
	Balance      int64
}

type smAccount struct {
	currency                     money.Currency
	balance                      int64
	deposited, credited, debited int64
	lines                        []smLine
}

type smTransfer struct {
	req   transfer.Request
	first transfer.TransferCompleted
}

type smDeposit struct {
	req   transfer.DepositRequest
	first transfer.MoneyDeposited
}

// smModel is the bank as the test understands it.
type smModel struct {
	accounts  map[transfer.AccountNumber]*smAccount
	transfers map[transfer.TransferNumber]*smTransfer
	deposits  map[transfer.DepositID]*smDeposit
	deposited map[string]int64 // per currency code: money enters only by deposit
}

func smUnits(t smT, m money.Money) int64 {
	t.Helper()
	n, err := m.MinorUnits()
	require.NoError(t, err)
	return n
}

func smMoney(t smT, units int64, c money.Currency) money.Money {
	t.Helper()
	m, err := money.FromMinorUnits(units, c)
	require.NoError(t, err)
	return m
}

func smValidReference[S ~string](s S) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range s {
		alnum := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !alnum && (i == 0 || c != '-' && c != '_' && c != '.') {
			return false
		}
	}
	return true
}

func smValidAccount(n transfer.AccountNumber) bool {
	if len(n) != 12 {
		return false
	}
	for _, c := range []byte(n) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// open predicts OpenAccount: nil means it succeeds.
func (m *smModel) open(n transfer.AccountNumber, c money.Currency) error {
	switch {
	case c.IsZero() || c.IsCustom() || !smValidAccount(n):
		return transfer.ErrInvalidInput
	case m.accounts[n] != nil:
		return transfer.ErrAccountExists
	}
	m.accounts[n] = &smAccount{currency: c}
	return nil
}

// deposit predicts Deposit: the rule broken, or the first deposit when it is a replay, or
// (nil, nil) when it is made now, which the caller then records with made.
func (m *smModel) deposit(r transfer.DepositRequest) (*smDeposit, error) {
	if !smValidReference(r.ID) || !smValidAccount(r.Account) {
		return nil, transfer.ErrInvalidInput
	}
	if d := m.deposits[r.ID]; d != nil {
		if d.req.Account != r.Account || !d.req.Amount.Equal(r.Amount) {
			return nil, transfer.ErrDuplicateDeposit
		}
		return d, nil
	}
	a := m.accounts[r.Account]
	switch {
	case a == nil:
		return nil, transfer.ErrUnknownAccount
	case r.Amount.Currency() != a.currency:
		return nil, transfer.ErrCurrencyMismatch
	case !r.Amount.IsPositive():
		return nil, transfer.ErrInvalidInput
	}
	return nil, nil
}

func (m *smModel) made(t smT, r transfer.DepositRequest, first transfer.MoneyDeposited) {
	t.Helper()
	a, u := m.accounts[r.Account], smUnits(t, r.Amount)
	a.balance += u
	a.deposited += u
	a.lines = append(a.lines, smLine{Kind: "deposit", Reference: transfer.Reference(r.ID), Amount: u, Balance: a.balance})
	m.deposited[a.currency.Code()] += u
	m.deposits[r.ID] = &smDeposit{req: r, first: first}
}

// transfer predicts Transfer, as deposit predicts Deposit.
func (m *smModel) transfer(t smT, r transfer.Request) (*smTransfer, error) {
	t.Helper()
	switch {
	case !smValidReference(r.Number) || !smValidAccount(r.From) || !smValidAccount(r.To):
		return nil, transfer.ErrInvalidInput
	case r.From == r.To:
		return nil, transfer.ErrSameAccount
	case r.Amount.Currency().IsZero() || !r.Amount.IsPositive():
		return nil, transfer.ErrInvalidInput
	}
	if p := m.transfers[r.Number]; p != nil {
		if p.req.From != r.From || p.req.To != r.To || !p.req.Amount.Equal(r.Amount) {
			return nil, transfer.ErrDuplicateTransfer
		}
		return p, nil
	}
	from, to := m.accounts[r.From], m.accounts[r.To]
	switch {
	case from == nil || to == nil:
		return nil, transfer.ErrUnknownAccount
	case r.Amount.Currency() != from.currency || r.Amount.Currency() != to.currency:
		return nil, transfer.ErrCurrencyMismatch
	case from.balance < smUnits(t, r.Amount):
		return nil, transfer.ErrInsufficientFunds
	}
	return nil, nil
}

func (m *smModel) posted(t smT, r transfer.Request, first transfer.TransferCompleted) {
	t.Helper()
	from, to, u := m.accounts[r.From], m.accounts[r.To], smUnits(t, r.Amount)
	from.balance -= u
	from.debited += u
	to.balance += u
	to.credited += u
	from.lines = append(from.lines, smLine{Kind: "debit", Reference: transfer.Reference(r.Number), Counterparty: r.To, Amount: -u, Balance: from.balance})
	to.lines = append(to.lines, smLine{Kind: "credit", Reference: transfer.Reference(r.Number), Counterparty: r.From, Amount: u, Balance: to.balance})
	m.transfers[r.Number] = &smTransfer{req: r, first: first}
}

// smRequireRule checks that err wraps the rule want and no other rule.
func smRequireRule(t smT, want *aggregate.RuleError, err error) {
	t.Helper()
	require.Error(t, err, "want %v", want)
	require.ErrorIs(t, err, want)
	require.ErrorIs(t, err, aggregate.ErrRule)
	for _, r := range smRules {
		if r != want {
			require.NotErrorIs(t, err, r, "want only %v", want)
		}
	}
	var re *aggregate.RuleError
	require.ErrorAs(t, err, &re)
	require.Equal(t, want.Code, re.Code)
}

// smSameTime checks that a replayed outcome has the first one's time.
func smSameTime(t smT, want, got time.Time) {
	t.Helper()
	require.True(t, want.Equal(got), "first %v, replayed %v", want, got)
}

// smMachine runs the commands on a bank and on the model side by side.
type smMachine struct {
	ctx      context.Context
	bank     *transfer.Bank
	model    smModel
	pool     []transfer.AccountNumber // well-formed numbers, opened or not
	requests []transfer.Request       // every transfer request sent, for retries
	deposits []transfer.DepositRequest
	// What happened, for the log and to check that the draws reach every path.
	steps, posted, replayed int
	why                     map[string]int // refusals by command and rule
}

// drawAmount draws an amount: mostly a positive one in currency cur, but also one in the other
// currency, zero, negative, with no currency at all, or in a custom currency with sub-cent
// digits. (rapid favours small values, so the rare cases are high ones.)
func (s *smMachine) drawAmount(t *rapid.T, label string, max int64, cur money.Currency) money.Money {
	units := rapid.Int64Range(1, max).Draw(t, label)
	switch rapid.IntRange(0, 19).Draw(t, label+"-kind") {
	case 14:
		if cur == smUSD {
			return smMoney(t, units, smEUR)
		}
		return smMoney(t, units, smUSD)
	case 15:
		return smMoney(t, 0, cur)
	case 16:
		return smMoney(t, -units, cur)
	case 17:
		return money.Money{} // no currency
	case 18:
		return smMoney(t, units%1000, smToken) // 0.001 to 0.999 TOKEN (0 is another invalid case)
	default:
		return smMoney(t, units, cur)
	}
}

// currency returns the currency of account n in the model, or USD.
func (s *smMachine) currency(n transfer.AccountNumber) money.Currency {
	if a := s.model.accounts[n]; a != nil {
		return a.currency
	}
	return smUSD
}

// open returns the accounts of the pool open in the model.
func (s *smMachine) open() []transfer.AccountNumber {
	var open []transfer.AccountNumber
	for _, n := range s.pool {
		if s.model.accounts[n] != nil {
			open = append(open, n)
		}
	}
	return open
}

// drawAccount draws an account number: one of the pool, rarely the malformed one.
func (s *smMachine) drawAccount(t *rapid.T, label string) transfer.AccountNumber {
	if rapid.IntRange(0, 19).Draw(t, label+"-malformed") == 17 {
		return smMalformed
	}
	return s.pool[rapid.IntRange(0, len(s.pool)-1).Draw(t, label)]
}

// drawPair draws the accounts of a transfer: mostly two different accounts of the pool, but
// also the same one twice, or a malformed number on either side.
func (s *smMachine) drawPair(t *rapid.T) (from, to transfer.AccountNumber) {
	i := rapid.IntRange(0, len(s.pool)-1).Draw(t, "from")
	from = s.pool[i]
	switch rapid.IntRange(0, 19).Draw(t, "pair") {
	case 13, 14, 15:
		return from, from
	case 16:
		return smMalformed, from
	case 17:
		return from, smMalformed
	default:
		return from, s.pool[(i+1+rapid.IntRange(0, len(s.pool)-2).Draw(t, "to"))%len(s.pool)]
	}
}

// openAccount opens mostly the next account of the pool that is not open yet, else any (taken,
// or malformed).
func (s *smMachine) openAccount(t *rapid.T) {
	n := s.drawAccount(t, "number")
	if rapid.IntRange(0, 9).Draw(t, "next") < 8 {
		for _, p := range s.pool {
			if s.model.accounts[p] == nil {
				n = p
				break
			}
		}
	}
	c := rapid.SampledFrom([]money.Currency{smUSD, smUSD, smEUR, smUSD, smEUR, smUSD, smToken, {}}).Draw(t, "currency")
	want := s.model.open(n, c)
	err := s.bank.OpenAccount(s.ctx, n, c)
	if want != nil {
		smRequireRule(t, want.(*aggregate.RuleError), err)
		s.why["open "+want.(*aggregate.RuleError).Code]++
		return
	}
	require.NoError(t, err)
}

// deposit makes a deposit of random content (often refused): into any account of the pool or,
// mostly, an open one, with an ID drawn from the pool or, mostly, the first one not used yet.
func (s *smMachine) deposit(t *rapid.T) {
	n := s.drawAccount(t, "account")
	if open := s.open(); len(open) > 0 && rapid.IntRange(0, 3).Draw(t, "open") < 3 {
		n = rapid.SampledFrom(open).Draw(t, "open-account")
	}
	id := rapid.SampledFrom(smDepositIDs).Draw(t, "id")
	if rapid.IntRange(0, 3).Draw(t, "fresh") < 3 {
		id = s.freshDepositID(id)
	}
	r := transfer.DepositRequest{ID: id, Account: n, Amount: s.drawAmount(t, "amount", 50000, s.currency(n))}
	s.deposits = append(s.deposits, r)
	s.doDeposit(t, r)
}

// freshDepositID returns the first well-formed deposit ID of the pool not used yet, or id.
func (s *smMachine) freshDepositID(id transfer.DepositID) transfer.DepositID {
	for _, d := range smDepositIDs[:len(smDepositIDs)-1] {
		if s.model.deposits[d] == nil {
			return d
		}
	}
	return id
}

// fund deposits into an open account, in its currency, with an ID not used yet (when the pool
// has one left): a deposit that should be made, to keep money flowing.
func (s *smMachine) fund(t *rapid.T) {
	open := s.open()
	if len(open) == 0 {
		t.Skip("no open account")
	}
	n := rapid.SampledFrom(open).Draw(t, "account")
	id := s.freshDepositID(rapid.SampledFrom(smDepositIDs).Draw(t, "id"))
	r := transfer.DepositRequest{ID: id, Account: n, Amount: smMoney(t, rapid.Int64Range(1, 50000).Draw(t, "units"), s.currency(n))}
	s.deposits = append(s.deposits, r)
	s.doDeposit(t, r)
}

func (s *smMachine) retryDeposit(t *rapid.T) {
	if len(s.deposits) == 0 {
		t.Skip("no deposit to retry")
	}
	s.doDeposit(t, rapid.SampledFrom(s.deposits).Draw(t, "retried"))
}

func (s *smMachine) doDeposit(t *rapid.T, r transfer.DepositRequest) {
	first, want := s.model.deposit(r)
	out, err := s.bank.Deposit(s.ctx, r)
	if want != nil {
		smRequireRule(t, want.(*aggregate.RuleError), err)
		s.why["deposit "+want.(*aggregate.RuleError).Code]++
		return
	}
	require.NoError(t, err)
	require.Equal(t, first != nil, out.Replayed, "replayed")
	require.Equal(t, r.Account, out.Account)
	require.Equal(t, r.ID, out.Deposit)
	require.True(t, r.Amount.Equal(out.Amount), "amount %v", out.Amount)
	if first != nil {
		require.True(t, first.first.Balance.Equal(out.Balance), "replayed balance %v, first %v", out.Balance, first.first.Balance)
		smSameTime(t, first.first.At, out.At)
		return
	}
	a := s.model.accounts[r.Account]
	require.True(t, smMoney(t, a.balance+smUnits(t, r.Amount), a.currency).Equal(out.Balance), "balance %v", out.Balance)
	s.model.made(t, r, out.MoneyDeposited)
}

func (s *smMachine) transfer(t *rapid.T) {
	if rapid.IntRange(0, 15).Draw(t, "sub-cent") == 15 {
		s.subCent(t)
		return
	}
	from, to := s.drawPair(t)
	r := transfer.Request{
		Number: rapid.SampledFrom(smTransferNumbers).Draw(t, "number"),
		From:   from,
		To:     to,
		Amount: s.drawAmount(t, "amount", 30000, s.currency(from)),
	}
	s.requests = append(s.requests, r)
	s.doTransfer(t, r)
}

// move is a transfer that should be posted: from an account with money to another of the same
// currency, of at most the balance (sometimes a little more: insufficient funds), with a
// transfer number mostly not used yet (when the pool has one left).
func (s *smMachine) move(t *rapid.T) {
	var funded []transfer.AccountNumber
	for _, n := range s.pool {
		if a := s.model.accounts[n]; a != nil && a.balance > 0 {
			funded = append(funded, n)
		}
	}
	if len(funded) == 0 {
		t.Skip("no account with money")
	}
	from := rapid.SampledFrom(funded).Draw(t, "from")
	var peers []transfer.AccountNumber
	for _, n := range s.pool {
		if a := s.model.accounts[n]; n != from && a != nil && a.currency == s.currency(from) {
			peers = append(peers, n)
		}
	}
	if len(peers) == 0 {
		t.Skip("no account to move money to")
	}
	number := rapid.SampledFrom(smTransferNumbers[:len(smTransferNumbers)-1]).Draw(t, "number")
	if rapid.IntRange(0, 3).Draw(t, "next") < 3 {
		for _, n := range smTransferNumbers[:len(smTransferNumbers)-1] {
			if s.model.transfers[n] == nil {
				number = n
				break
			}
		}
	}
	r := transfer.Request{
		Number: number,
		From:   from,
		To:     rapid.SampledFrom(peers).Draw(t, "to"),
		Amount: smMoney(t, rapid.Int64Range(1, s.model.accounts[from].balance+100).Draw(t, "units"), s.currency(from)),
	}
	s.requests = append(s.requests, r)
	s.doTransfer(t, r)
}

// subCent checks that a USD amount with sub-cent digits cannot reach the bank: money refuses to
// make it, and a request decoded from JSON (as an API would take it) is refused before any
// transfer runs. The bank and the model stay unchanged.
func (s *smMachine) subCent(t *rapid.T) {
	amount := fmt.Sprintf("%d.%02d%d", rapid.IntRange(0, 99).Draw(t, "sub-cent-units"),
		rapid.IntRange(0, 99).Draw(t, "sub-cent-cents"), rapid.IntRange(1, 9).Draw(t, "sub-cent-digit"))
	_, err := money.FromString(amount, smUSD)
	require.ErrorIs(t, err, money.ErrPrecision)
	body := fmt.Sprintf(`{"number":"t1","from":%q,"to":%q,"amount":{"amount":%q,"currency":"USD"}}`,
		s.pool[0], s.pool[1], amount)
	var r transfer.Request
	require.ErrorIs(t, json.Unmarshal([]byte(body), &r), money.ErrPrecision)
}

// retryTransfer sends an earlier request again: mostly one that was posted (a replay), else any
// (which may be refused again, or succeed now that an account is open or funded).
func (s *smMachine) retryTransfer(t *rapid.T) {
	var posted []transfer.Request
	for _, r := range s.requests {
		if p := s.model.transfers[r.Number]; p != nil && p.req.From == r.From && p.req.To == r.To && p.req.Amount.Equal(r.Amount) {
			posted = append(posted, r)
		}
	}
	from := s.requests
	if len(posted) > 0 && rapid.IntRange(0, 3).Draw(t, "any") < 3 {
		from = posted
	}
	if len(from) == 0 {
		t.Skip("no transfer to retry")
	}
	s.doTransfer(t, rapid.SampledFrom(from).Draw(t, "retried"))
}

func (s *smMachine) doTransfer(t *rapid.T, r transfer.Request) {
	strategy := rapid.SampledFrom(transfer.Strategies()).Draw(t, "strategy")
	first, want := s.model.transfer(t, r)
	out, err := s.bank.Transfer(s.ctx, r, strategy)
	if want != nil {
		smRequireRule(t, want.(*aggregate.RuleError), err)
		s.why["transfer "+want.(*aggregate.RuleError).Code]++
		return
	}
	require.NoError(t, err)
	require.Equal(t, strategy, out.Strategy)
	require.Equal(t, 1, out.Attempts, "sequential calls never conflict")
	require.Equal(t, first != nil, out.Replayed, "replayed")
	require.False(t, out.Overdrawn, "a sequential transfer never overdraws")
	id := transfer.TransferIDOf(r.Number)
	p := out.Posted
	require.Equal(t, []any{id, r.Number, r.From, r.To}, []any{p.Transfer, p.Number, p.Debited, p.Credited})
	require.True(t, r.Amount.Equal(p.Amount), "posted amount %v", p.Amount)
	require.Equal(t, []any{r.From, id, r.To, id}, []any{out.Debited.Account, out.Debited.Transfer, out.Credited.Account, out.Credited.Transfer})
	require.True(t, r.Amount.Equal(out.Debited.Amount) && r.Amount.Equal(out.Credited.Amount), "amounts %v %v", out.Debited.Amount, out.Credited.Amount)
	if first != nil {
		require.True(t, first.first.Debited.Balance.Equal(out.Debited.Balance), "replayed debit balance %v, first %v", out.Debited.Balance, first.first.Debited.Balance)
		require.True(t, first.first.Credited.Balance.Equal(out.Credited.Balance), "replayed credit balance %v, first %v", out.Credited.Balance, first.first.Credited.Balance)
		smSameTime(t, first.first.Posted.At, p.At)
		s.replayed++
		return
	}
	from, to, u := s.model.accounts[r.From], s.model.accounts[r.To], smUnits(t, r.Amount)
	require.True(t, smMoney(t, from.balance-u, from.currency).Equal(out.Debited.Balance), "debit balance %v", out.Debited.Balance)
	require.True(t, smMoney(t, to.balance+u, to.currency).Equal(out.Credited.Balance), "credit balance %v", out.Credited.Balance)
	s.model.posted(t, r, out.TransferCompleted)
	s.posted++
}

// check compares the read side with the model: the balances and the reconciliation after every
// command, and, when full, the ledger and every statement too (after every tenth command and at
// the end: they are the slow queries, and what they check, movements recorded once, stays
// visible once wrong).
func (s *smMachine) check(t smT, full bool) {
	t.Helper()
	s.steps++
	f := s.bank.Finder()
	opened := slices.Sorted(maps.Keys(s.model.accounts))

	// Balances, one per account in number order, none negative, summing to the deposits.
	balances, err := f.Balances(s.ctx)
	require.NoError(t, err)
	var want, got []string
	sums := map[string]int64{}
	for _, n := range opened {
		a := s.model.accounts[n]
		want = append(want, fmt.Sprintf("%s %s", n, smMoney(t, a.balance, a.currency)))
	}
	for _, b := range balances {
		got = append(got, fmt.Sprintf("%s %s", b.Account, b.Balance))
		require.False(t, b.Balance.IsNegative(), "negative balance %v", b)
		sums[b.Balance.Currency().Code()] += smUnits(t, b.Balance)
	}
	require.Equal(t, want, got, "balances")
	for c, units := range sums {
		require.Equal(t, s.model.deposited[c], units, "money in %s is conserved", c)
	}

	// The reconciliation and the ledger.
	rec, err := f.Reconcile(s.ctx)
	require.NoError(t, err)
	require.True(t, rec.Balanced(), "%+v", rec)
	require.Empty(t, rec.Mismatches)
	require.Empty(t, rec.Overdrawn)
	require.Equal(t, len(opened), rec.Accounts)
	counts, moved := map[string]int{}, map[string]int64{}
	for _, n := range opened {
		a := s.model.accounts[n]
		counts[a.currency.Code()]++
		moved[a.currency.Code()] += a.credited
	}
	require.Len(t, rec.Totals, len(counts))
	for _, tot := range rec.Totals {
		c := money.MustLookup(tot.Currency)
		require.Equal(t, counts[tot.Currency], tot.Accounts, "accounts in %s", tot.Currency)
		require.True(t, smMoney(t, s.model.deposited[tot.Currency], c).Equal(tot.Deposited), "%+v", tot)
		require.True(t, tot.Balance.Equal(tot.Deposited), "%+v", tot)
		require.True(t, smMoney(t, moved[tot.Currency], c).Equal(tot.Credited), "%+v", tot)
		require.True(t, tot.Credited.Equal(tot.Debited), "%+v", tot)
	}
	if !full {
		return
	}
	// The ledger as the accounts keep it, and as the audit sums it from the movements.
	ledger, err := f.Ledger(s.ctx)
	require.NoError(t, err)
	audit, err := f.Audit(s.ctx)
	require.NoError(t, err)
	require.True(t, audit.Clean(), "%+v", audit.Mismatches)
	for what, lines := range map[string][]transfer.LedgerLine{"ledger": ledger, "audit": audit.Ledger} {
		require.Len(t, lines, len(opened), what)
		for i, l := range lines {
			a := s.model.accounts[opened[i]]
			require.Equal(t, opened[i], l.Account)
			require.Equal(t, [4]int64{a.balance, a.deposited, a.credited, a.debited},
				[4]int64{smUnits(t, l.Balance), smUnits(t, l.Deposited), smUnits(t, l.Credited), smUnits(t, l.Debited)},
				"%s of %s: balance, deposited, credited, debited", what, l.Account)
		}
	}

	// Statements: every movement exactly once, with the balance it left.
	for _, n := range s.pool {
		st, err := f.Statement(s.ctx, n, 1000)
		a := s.model.accounts[n]
		if a == nil {
			smRequireRule(t, transfer.ErrUnknownAccount, err)
			continue
		}
		require.NoError(t, err)
		require.True(t, smMoney(t, a.balance, a.currency).Equal(st.Balance), "statement balance %v", st.Balance)
		lines := make([]smLine, 0, len(st.Lines))
		for _, l := range st.Lines {
			lines = append(lines, smLine{Kind: l.Kind, Reference: l.Reference, Counterparty: l.Counterparty,
				Amount: smUnits(t, l.Amount), Balance: smUnits(t, l.Balance)})
		}
		require.ElementsMatch(t, a.lines, lines, "statement of %s", n)
	}
}

// smStores counts the SQLite files the checks open, so that each gets its own.
var smStores atomic.Int64

// smOpen returns a fresh driver of the named kind with the bank's tables, closed and removed
// when the check ends.
func smOpen(t *rapid.T, name, dir string) driver.Driver {
	ctx := context.Background()
	var d driver.Driver
	switch name {
	case "memuow":
		d = memuow.New(nil)
	case "sqlite":
		path := filepath.Join(dir, "bank-"+strconv.FormatInt(smStores.Add(1), 10)+".db")
		s, err := sqliteuow.Open(ctx, path, &sqliteuow.Options{SyncNormal: true}) // no fsync per commit: a test
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = s.Close()
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(path + suffix)
			}
		})
		d = s
	default:
		t.Fatalf("no driver %q for the state machine", name)
	}
	require.NoError(t, transfer.Migrate(ctx, d))
	return d
}

// smFewerChecks divides rapid's number of checks by n for the rest of the test.
func smFewerChecks(t *testing.T, n int) {
	f := flag.Lookup("rapid.checks")
	require.NotNil(t, f)
	old := f.Value.String()
	checks, err := strconv.Atoi(old)
	require.NoError(t, err)
	require.NoError(t, f.Value.Set(strconv.Itoa(max(1, checks/n))))
	t.Cleanup(func() { _ = f.Value.Set(old) })
}

func TestBankStateMachine(t *testing.T) {
	// What the commands did, over both drivers: the test is only worth something if the draws
	// reach every path.
	var steps, posted, replayed int
	why := map[string]int{}
	for _, c := range []struct {
		driver string
		fewer  int // divides rapid's checks
	}{{"memuow", 2}, {"sqlite", 10}} {
		t.Run(c.driver, func(t *testing.T) {
			smFewerChecks(t, c.fewer)
			dir := t.TempDir()
			rapid.Check(t, func(t *rapid.T) {
				pool := rapid.SliceOfNDistinct(rapid.StringMatching(`[0-9]{12}`), 4, 4, rapid.ID).Draw(t, "pool")
				s := &smMachine{ctx: context.Background(), why: map[string]int{}, model: smModel{
					accounts:  map[transfer.AccountNumber]*smAccount{},
					transfers: map[transfer.TransferNumber]*smTransfer{},
					deposits:  map[transfer.DepositID]*smDeposit{},
					deposited: map[string]int64{},
				}}
				for _, n := range pool {
					s.pool = append(s.pool, transfer.AccountNumber(n))
				}
				bank, err := transfer.New(uow.NewStore(smOpen(t, c.driver, dir), nil), nil)
				require.NoError(t, err)
				s.bank = bank
				t.Repeat(map[string]func(*rapid.T){
					"open":          s.openAccount,
					"open2":         s.openAccount,
					"deposit":       s.deposit,
					"fund":          s.fund,
					"retryDeposit":  s.retryDeposit,
					"transfer":      s.transfer,
					"move":          s.move,
					"move2":         s.move, // transfers are what this test is about: draw them more often
					"retryTransfer": s.retryTransfer,
					"":              func(t *rapid.T) { s.check(t, s.steps%10 == 9) },
				})
				s.check(t, true)
				steps, posted, replayed = steps+s.steps, posted+s.posted, replayed+s.replayed
				for k, n := range s.why {
					why[k] += n
				}
			})
		})
	}
	t.Logf("%d checked steps; transfers: %d posted, %d replayed; refused: %v", steps, posted, replayed, why)
	if steps < 500 {
		return // too few checks (-short, -rapid.checks, -run) to expect every path
	}
	assert.Positive(t, posted)
	assert.Positive(t, replayed)
	for _, r := range []string{"open invalid_input", "open account_exists",
		"deposit invalid_input", "deposit unknown_account", "deposit currency_mismatch", "deposit duplicate_deposit",
		"transfer invalid_input", "transfer same_account", "transfer unknown_account", "transfer currency_mismatch",
		"transfer insufficient_funds", "transfer duplicate_transfer"} {
		assert.Positive(t, why[r], "no command refused with %s", r)
	}
}

// TestSmRequireRule shows that the rule check tells rules apart.
func TestSmRequireRule(t *testing.T) {
	err := fmt.Errorf("%w: detail", transfer.ErrSameAccount)
	smRequireRule(t, transfer.ErrSameAccount, err)
	rec := &smRecorder{}
	func() {
		defer func() { _ = recover() }()
		smRequireRule(rec, transfer.ErrInvalidInput, err)
	}()
	require.True(t, rec.failed, "a different rule must fail the check")
	rec = &smRecorder{}
	func() {
		defer func() { _ = recover() }()
		smRequireRule(rec, transfer.ErrSameAccount, errors.Join(err, transfer.ErrInvalidInput))
	}()
	require.True(t, rec.failed, "two rules at once must fail the check")
}

// smRecorder is an smT that records a failure and stops the check with a panic.
type smRecorder struct{ failed bool }

func (r *smRecorder) Errorf(string, ...any) { r.failed = true }
func (r *smRecorder) FailNow()              { r.failed = true; panic("FailNow") }
func (r *smRecorder) Helper()               {}

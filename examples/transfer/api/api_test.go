package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/api"
	"github.com/dddkit/ddd/examples/transfer/internal/teststore"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/sqliteuow"
)

// drivers are the stores every test that touches storage runs on.
var drivers = []string{"memuow", "sqlite"}

const (
	acct1 = "000000000001"
	acct2 = "000000000002"
	acct3 = "000000000003"
	acct9 = "000000000009" // never opened
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a bank served on loopback.
type env struct {
	srv    *httptest.Server
	bank   *transfer.Bank
	logs   *syncBuffer
	mem    *memuow.Driver    // set on memuow
	sqlite *sqliteuow.Driver // set on sqlite
}

// newEnv serves a fresh bank on the named driver; apiOpts's Logger is replaced by one writing
// to env.logs.
func newEnv(t *testing.T, driver string, bankOpts *transfer.Options, apiOpts *api.Options) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{logs: &syncBuffer{}}
	d, _ := teststore.Open(t, driver)
	e.mem, _ = d.(*memuow.Driver)
	e.sqlite, _ = d.(*sqliteuow.Driver)
	require.NoError(t, transfer.Migrate(ctx, d))
	b, err := transfer.New(uow.NewStore(d, nil), bankOpts)
	require.NoError(t, err)
	e.bank = b
	o := api.Options{}
	if apiOpts != nil {
		o = *apiOpts
	}
	o.Logger = slog.New(slog.NewTextHandler(e.logs, nil))
	e.srv = httptest.NewServer(api.New(b, &o))
	t.Cleanup(e.srv.Close)
	return e
}

// response is what the server answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send makes a request; contentType "" sends none.
func (e *env) send(method, path, contentType, body string) (response, error) {
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}, err
}

func (e *env) do(t *testing.T, method, path, contentType, body string) response {
	t.Helper()
	r, err := e.send(method, path, contentType, body)
	require.NoError(t, err)
	return r
}

// command posts a command; body is sent as is if it is a string, else as its JSON.
func (e *env) command(t *testing.T, name string, body any) response {
	t.Helper()
	s, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		s = string(b)
	}
	return e.do(t, http.MethodPost, "/commands/"+name, "application/json", s)
}

func (e *env) get(t *testing.T, path string) response {
	t.Helper()
	return e.do(t, http.MethodGet, path, "", "")
}

// requireJSON checks a successful answer and decodes its body into v.
func requireJSON(t *testing.T, r response, status int, v any) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "application/json", r.header.Get("Content-Type"))
	if v != nil {
		require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
	}
}

// problem is the problem details object the API answers.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

// requireProblem checks that r is a problem with the status and code, and returns it.
func requireProblem(t *testing.T, r response, status int, code string) problem {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, "application/problem+json", r.header.Get("Content-Type"))
	var p problem
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&p), "body: %s", r.body)
	assert.Equal(t, status, p.Status)
	assert.Equal(t, code, p.Code)
	assert.Equal(t, "https://dddkit.dev/problems/"+strings.ReplaceAll(code, "_", "-"), p.Type)
	assert.NotEmpty(t, p.Title)
	assert.NotEmpty(t, p.Detail)
	return p
}

// moneyOf is the JSON of an amount of money.
func moneyOf(amount, currency string) map[string]string {
	return map[string]string{"amount": amount, "currency": currency}
}

func usd(amount string) map[string]string { return moneyOf(amount, "USD") }

func openBody(number, currency string) map[string]string {
	return map[string]string{"number": number, "currency": currency}
}

func depositBody(id, account string, amount map[string]string) map[string]any {
	return map[string]any{"id": id, "account": account, "amount": amount}
}

func transferBody(number, from, to string, amount map[string]string) map[string]any {
	return map[string]any{"number": number, "from": from, "to": to, "amount": amount}
}

// transferResult is the answer of the transfer command.
type transferResult struct {
	transfer.Outcome
	Strategy string `json:"strategy"`
}

// open opens accounts and deposits into them, failing the test on any error.
func (e *env) open(t *testing.T, currency string, numbers ...string) {
	t.Helper()
	for _, n := range numbers {
		requireJSON(t, e.command(t, "open-account", openBody(n, currency)), http.StatusCreated, nil)
	}
}

func (e *env) deposit(t *testing.T, id, account, amount, currency string) {
	t.Helper()
	requireJSON(t, e.command(t, "deposit", depositBody(id, account, moneyOf(amount, currency))), http.StatusOK, nil)
}

// balances returns every account's balance as text, by number.
func (e *env) balances(t *testing.T) map[transfer.AccountNumber]string {
	t.Helper()
	var got struct{ Accounts []transfer.Balance }
	requireJSON(t, e.get(t, "/accounts"), http.StatusOK, &got)
	out := map[transfer.AccountNumber]string{}
	for _, b := range got.Accounts {
		out[b.Account] = b.Balance.String()
	}
	return out
}

func TestCommandsAndQueries(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, nil, nil)

			// open-account: 201 with the number and the canonical currency code.
			var opened map[string]string
			requireJSON(t, e.command(t, "open-account", openBody(acct1, "USD")), http.StatusCreated, &opened)
			assert.Equal(t, map[string]string{"number": acct1, "currency": "USD"}, opened)
			requireJSON(t, e.command(t, "open-account", openBody(acct2, "usd")), http.StatusCreated, &opened)
			assert.Equal(t, map[string]string{"number": acct2, "currency": "USD"}, opened)
			e.open(t, "USD", acct3)

			// deposit, then the same deposit again: replayed, nothing moves.
			var dep transfer.DepositOutcome
			requireJSON(t, e.command(t, "deposit", depositBody("dep-1", acct1, usd("100.00"))), http.StatusOK, &dep)
			assert.Equal(t, transfer.AccountNumber(acct1), dep.Account)
			assert.Equal(t, transfer.DepositID("dep-1"), dep.Deposit)
			assert.Equal(t, "100.00 USD", dep.Amount.String())
			assert.Equal(t, "100.00 USD", dep.Balance.String())
			assert.False(t, dep.Replayed)
			var again transfer.DepositOutcome
			requireJSON(t, e.command(t, "deposit", depositBody("dep-1", acct1, usd("100.00"))), http.StatusOK, &again)
			assert.True(t, again.Replayed)
			assert.Equal(t, "100.00 USD", again.Balance.String())
			assert.True(t, dep.At.Equal(again.At))

			// transfer with the bank's strategy.
			var tr transferResult
			requireJSON(t, e.command(t, "transfer", transferBody("tr-1", acct1, acct2, usd("30.00"))), http.StatusOK, &tr)
			assert.Equal(t, "optimistic", tr.Strategy)
			assert.False(t, tr.Replayed)
			assert.Equal(t, 1, tr.Attempts)
			assert.Equal(t, transfer.AccountNumber(acct1), tr.Debited.Account)
			assert.Equal(t, "70.00 USD", tr.Debited.Balance.String())
			assert.Equal(t, transfer.AccountNumber(acct2), tr.Credited.Account)
			assert.Equal(t, "30.00 USD", tr.Credited.Balance.String())
			assert.Equal(t, transfer.TransferNumber("tr-1"), tr.Posted.Number)
			assert.Equal(t, transfer.TransferIDOf("tr-1"), tr.Posted.Transfer)
			assert.Equal(t, "30.00 USD", tr.Posted.Amount.String())
			requireJSON(t, e.command(t, "transfer", transferBody("tr-2", acct1, acct3, usd("60.00"))), http.StatusOK, &tr)

			// GET /accounts
			assert.Equal(t, map[transfer.AccountNumber]string{acct1: "10.00 USD", acct2: "30.00 USD", acct3: "60.00 USD"}, e.balances(t))
			var raw map[string][]map[string]any
			requireJSON(t, e.get(t, "/accounts"), http.StatusOK, &raw)
			require.Len(t, raw["accounts"], 3)
			assert.Equal(t, acct1, raw["accounts"][0]["account"], "in number order")
			assert.Equal(t, map[string]any{"amount": "10.00", "currency": "USD"}, raw["accounts"][0]["balance"])

			// HEAD answers like GET, without a body.
			head := e.do(t, http.MethodHead, "/accounts", "", "")
			assert.Equal(t, http.StatusOK, head.status)
			assert.Empty(t, head.body)

			// statement, oldest first, and its limit (the latest lines).
			var st transfer.Statement
			requireJSON(t, e.get(t, "/accounts/"+acct1+"/statement"), http.StatusOK, &st)
			assert.Equal(t, transfer.AccountNumber(acct1), st.Account)
			assert.Equal(t, "10.00 USD", st.Balance.String())
			require.Len(t, st.Lines, 3)
			assert.Equal(t, []string{"deposit", "debit", "debit"}, []string{st.Lines[0].Kind, st.Lines[1].Kind, st.Lines[2].Kind})
			assert.Equal(t, transfer.Reference("dep-1"), st.Lines[0].Reference)
			assert.Equal(t, "100.00 USD", st.Lines[0].Amount.String())
			assert.Equal(t, transfer.Reference("tr-1"), st.Lines[1].Reference)
			assert.Equal(t, transfer.AccountNumber(acct2), st.Lines[1].Counterparty)
			assert.Equal(t, "-30.00 USD", st.Lines[1].Amount.String())
			assert.Equal(t, "70.00 USD", st.Lines[1].Balance.String())
			requireJSON(t, e.get(t, "/accounts/"+acct1+"/statement?limit=1"), http.StatusOK, &st)
			require.Len(t, st.Lines, 1)
			assert.Equal(t, transfer.Reference("tr-2"), st.Lines[0].Reference)
			var empty map[string]any
			requireJSON(t, e.get(t, "/accounts/"+acct3+"/statement?limit=5"), http.StatusOK, &empty)
			assert.Len(t, empty["lines"], 1)

			// transfers over an amount, largest first.
			numbers := func(path string) []transfer.TransferNumber {
				var got struct{ Transfers []transfer.TransferView }
				requireJSON(t, e.get(t, path), http.StatusOK, &got)
				out := []transfer.TransferNumber{}
				for _, v := range got.Transfers {
					out = append(out, v.Number)
				}
				return out
			}
			assert.Equal(t, []transfer.TransferNumber{"tr-2"}, numbers("/transfers?over=50.00&currency=USD"))
			assert.Equal(t, []transfer.TransferNumber{"tr-2", "tr-1"}, numbers("/transfers?over=10&currency=usd"))
			assert.Equal(t, []transfer.TransferNumber{"tr-2", "tr-1"}, numbers("/transfers?currency=USD"))
			assert.Equal(t, []transfer.TransferNumber{"tr-2"}, numbers("/transfers?over=0.00&currency=USD&limit=1"))
			assert.Equal(t, []transfer.TransferNumber{}, numbers("/transfers?over=60.00&currency=USD"))
			assert.Equal(t, []transfer.TransferNumber{}, numbers("/transfers?currency=EUR"))
			requireJSON(t, e.get(t, "/transfers?currency=EUR"), http.StatusOK, &empty)
			assert.Equal(t, []any{}, empty["transfers"], "an empty list is [], not null")

			// totals and reconciliation.
			var totals struct{ Totals []transfer.Total }
			requireJSON(t, e.get(t, "/totals"), http.StatusOK, &totals)
			require.Len(t, totals.Totals, 1)
			assert.Equal(t, "USD", totals.Totals[0].Currency)
			assert.Equal(t, 3, totals.Totals[0].Accounts)
			assert.Equal(t, "100.00 USD", totals.Totals[0].Balance.String())
			assert.Equal(t, "100.00 USD", totals.Totals[0].Deposited.String())
			var rec struct {
				transfer.Reconciliation
				Balanced bool `json:"balanced"`
			}
			requireJSON(t, e.get(t, "/reconciliation"), http.StatusOK, &rec)
			assert.True(t, rec.Balanced)
			assert.Equal(t, 3, rec.Accounts)
			assert.Empty(t, rec.Mismatches)
			assert.Empty(t, rec.Overdrawn)
			require.Len(t, rec.Totals, 1)
			assert.Equal(t, "100.00 USD", rec.Totals[0].Balance.String())

			assert.Empty(t, e.logs.String(), "nothing went wrong")
		})
	}
}

func TestEmptyBankQueries(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, nil, nil)
			for path, key := range map[string]string{"/accounts": "accounts", "/totals": "totals", "/reconciliation": "totals"} {
				var got map[string]any
				requireJSON(t, e.get(t, path), http.StatusOK, &got)
				assert.Equal(t, []any{}, got[key], path)
			}
		})
	}
}

func TestTransferRetryReplays(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, nil, nil)
			e.open(t, "USD", acct1, acct2)
			e.deposit(t, "dep-1", acct1, "100.00", "USD")

			body := transferBody("tr-1", acct1, acct2, usd("25.00"))
			first := e.command(t, "transfer", body)
			second := e.command(t, "transfer", body)
			var a, b map[string]json.RawMessage
			requireJSON(t, first, http.StatusOK, &a)
			requireJSON(t, second, http.StatusOK, &b)
			for _, k := range []string{"debited", "credited", "posted"} {
				assert.JSONEq(t, string(a[k]), string(b[k]), "the same %s", k)
			}
			_, replayedFirst := a["replayed"]
			assert.False(t, replayedFirst)
			assert.JSONEq(t, "true", string(b["replayed"]))
			assert.Equal(t, map[transfer.AccountNumber]string{acct1: "75.00 USD", acct2: "25.00 USD"}, e.balances(t), "moved once")

			// Concurrent retries of another transfer: one posts it, the others replay it.
			const n = 8
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				statuses []int
				posted   int
			)
			for range n {
				wg.Go(func() {
					r, err := e.send(http.MethodPost, "/commands/transfer", "application/json",
						`{"number":"tr-c","from":"`+acct1+`","to":"`+acct2+`","amount":{"amount":"5.00","currency":"USD"}}`)
					if !assert.NoError(t, err) {
						return
					}
					var out transferResult
					assert.NoError(t, json.Unmarshal(r.body, &out), "%s", r.body)
					mu.Lock()
					defer mu.Unlock()
					statuses = append(statuses, r.status)
					if !out.Replayed {
						posted++
					}
				})
			}
			wg.Wait()
			assert.Equal(t, []int{200, 200, 200, 200, 200, 200, 200, 200}, statuses)
			assert.Equal(t, 1, posted, "exactly one request posted it")
			assert.Equal(t, map[transfer.AccountNumber]string{acct1: "70.00 USD", acct2: "30.00 USD"}, e.balances(t))
		})
	}
}

func TestTransferStrategies(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, &transfer.Options{Strategy: transfer.Keyed}, nil)
			e.open(t, "USD", acct1, acct2)
			e.deposit(t, "dep-1", acct1, "100.00", "USD")
			cases := []struct{ ask, used string }{
				{"optimistic", "optimistic"},
				{"pessimistic", "pessimistic"},
				{"keyed", "keyed"},
				{"eventual", "eventual"},
				{"PESSIMISTIC", "pessimistic"},
				{"", "keyed"}, // the bank's
				{"default", "keyed"},
			}
			for i, c := range cases {
				body := transferBody(fmt.Sprintf("tr-%d", i), acct1, acct2, usd("1.00"))
				if c.ask != "" {
					body["strategy"] = c.ask
				}
				var out transferResult
				requireJSON(t, e.command(t, "transfer", body), http.StatusOK, &out)
				assert.Equal(t, c.used, out.Strategy, "strategy %q", c.ask)
				assert.Equal(t, fmt.Sprintf("%d.00 USD", 99-i), out.Debited.Balance.String())
			}
			body := transferBody("tr-x", acct1, acct2, usd("1.00"))
			body["strategy"] = "hopeful"
			p := requireProblem(t, e.command(t, "transfer", body), http.StatusUnprocessableEntity, "invalid_input")
			assert.Contains(t, p.Detail, "hopeful")
			assert.Equal(t, "93.00 USD", e.balances(t)[acct1])
		})
	}
}

func TestBusinessErrors(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, nil, nil)
			e.open(t, "USD", acct1, acct2)
			e.open(t, "EUR", acct3)
			e.deposit(t, "dep-1", acct1, "50.00", "USD")
			requireJSON(t, e.command(t, "transfer", transferBody("tr-1", acct1, acct2, usd("10.00"))), http.StatusOK, nil)

			cases := []struct {
				name    string
				command string
				body    any
				status  int
				code    string
			}{
				{"insufficient funds", "transfer", transferBody("tr-2", acct1, acct2, usd("80.00")), 409, "insufficient_funds"},
				{"duplicate transfer", "transfer", transferBody("tr-1", acct1, acct2, usd("11.00")), 409, "duplicate_transfer"},
				{"duplicate transfer other account", "transfer", transferBody("tr-1", acct2, acct1, usd("10.00")), 409, "duplicate_transfer"},
				{"duplicate deposit", "deposit", depositBody("dep-1", acct1, usd("51.00")), 409, "duplicate_deposit"},
				{"account exists", "open-account", openBody(acct1, "USD"), 409, "account_exists"},
				{"account exists other currency", "open-account", openBody(acct1, "EUR"), 409, "account_exists"},
				{"same account", "transfer", transferBody("tr-3", acct1, acct1, usd("1.00")), 422, "same_account"},
				{"currency mismatch transfer", "transfer", transferBody("tr-4", acct1, acct3, usd("1.00")), 422, "currency_mismatch"},
				{"currency mismatch deposit", "deposit", depositBody("dep-2", acct1, moneyOf("1.00", "EUR")), 422, "currency_mismatch"},
				{"unknown account to", "transfer", transferBody("tr-5", acct1, acct9, usd("1.00")), 422, "unknown_account"},
				{"unknown account from", "transfer", transferBody("tr-6", acct9, acct1, usd("1.00")), 422, "unknown_account"},
				{"unknown account deposit", "deposit", depositBody("dep-3", acct9, usd("1.00")), 422, "unknown_account"},
				{"negative amount", "transfer", transferBody("tr-7", acct1, acct2, usd("-1.00")), 422, "invalid_input"},
				{"zero amount", "transfer", transferBody("tr-8", acct1, acct2, usd("0.00")), 422, "invalid_input"},
				{"missing amount", "transfer", map[string]any{"number": "tr-9", "from": acct1, "to": acct2}, 422, "invalid_input"},
				{"negative deposit", "deposit", depositBody("dep-4", acct1, usd("-5.00")), 422, "invalid_input"},
				{"too many decimals", "transfer", transferBody("tr-10", acct1, acct2, usd("1.001")), 422, "invalid_input"},
				{"unknown currency amount", "deposit", depositBody("dep-5", acct1, moneyOf("1.00", "XYZ")), 422, "invalid_input"},
				{"malformed from", "transfer", transferBody("tr-11", "12", acct2, usd("1.00")), 422, "invalid_input"},
				{"malformed transfer number", "transfer", transferBody("-bad", acct1, acct2, usd("1.00")), 422, "invalid_input"},
				{"missing transfer number", "transfer", map[string]any{"from": acct1, "to": acct2, "amount": usd("1.00")}, 422, "invalid_input"},
				{"malformed deposit ID", "deposit", depositBody("", acct1, usd("1.00")), 422, "invalid_input"},
				{"malformed account number", "open-account", openBody("12345", "USD"), 422, "invalid_input"},
				{"letters in account number", "open-account", openBody("00000000000a", "USD"), 422, "invalid_input"},
				{"unknown currency", "open-account", openBody(acct9, "XYZ"), 422, "invalid_input"},
				{"missing currency", "open-account", map[string]string{"number": acct9}, 422, "invalid_input"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					p := requireProblem(t, e.command(t, c.command, c.body), c.status, c.code)
					assert.NotContains(t, p.Detail, "uow", "no storage text in a rule's detail")
				})
			}
			// The titles are the rules' own.
			p := requireProblem(t, e.command(t, "transfer", transferBody("tr-2", acct1, acct2, usd("80.00"))), 409, "insufficient_funds")
			assert.Equal(t, "Insufficient funds", p.Title)
			assert.Contains(t, p.Detail, "insufficient funds")

			// Nothing moved, and no account was opened.
			assert.Equal(t, map[transfer.AccountNumber]string{acct1: "40.00 USD", acct2: "10.00 USD", acct3: "0.00 EUR"}, e.balances(t))
			assert.Empty(t, e.logs.String(), "business errors are not logged as technical ones")
		})
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t, "memuow", nil, nil)
	e.open(t, "USD", acct1)
	valid := `{"id":"dep-1","account":"` + acct1 + `","amount":{"amount":"1.00","currency":"USD"}}`

	cases := []struct {
		name, body, detail string
	}{
		{"empty body", "", "empty"},
		{"only whitespace", " \n\t", "empty"},
		{"syntax error", `{"id" "dep-1"}`, "byte"},
		{"not JSON", `id=dep-1`, "byte"},
		{"truncated", `{"id":"dep-1","account":`, "ends"},
		{"null", `null`, "null"},
		{"array", `[` + valid + `]`, "object"},
		{"string", `"dep-1"`, "object"},
		{"number for a string", `{"id":5,"account":"` + acct1 + `","amount":{"amount":"1.00","currency":"USD"}}`, `"id"`},
		{"object for a string", `{"id":"dep-1","account":{"n":1},"amount":{"amount":"1.00","currency":"USD"}}`, `"account"`},
		{"malformed money", `{"id":"dep-1","account":"` + acct1 + `","amount":"1.00 USD"}`, "money"},
		{"money amount not a number", `{"id":"dep-1","account":"` + acct1 + `","amount":{"amount":"ten","currency":"USD"}}`, "money"},
		{"money with wrong types", `{"id":"dep-1","account":"` + acct1 + `","amount":{"amount":"1.00","currency":840}}`, "money"},
		{"unknown field", `{"id":"dep-1","account":"` + acct1 + `","amount":{"amount":"1.00","currency":"USD"},"memo":"rent"}`, `"memo"`},
		{"unknown field in money", `{"id":"dep-1","account":"` + acct1 + `","amount":{"amount":"1.00","currency":"USD","rate":1}}`, "money"},
		{"trailing object", valid + valid, "after"},
		{"trailing garbage", valid + ` x`, "after"},
		{"trailing comma", valid + `,`, "after"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := requireProblem(t, e.do(t, http.MethodPost, "/commands/deposit", "application/json", c.body), http.StatusBadRequest, "malformed_json")
			assert.Contains(t, p.Detail, c.detail)
			for _, internal := range []string{"Go ", "struct", "DepositRequest", "jsonMoney", "transfer."} {
				assert.NotContains(t, p.Detail, internal)
			}
		})
	}
	t.Run("wrong type in transfer and open-account", func(t *testing.T) {
		p := requireProblem(t, e.command(t, "transfer", `{"number":"tr-1","from":1,"to":"`+acct1+`"}`), http.StatusBadRequest, "malformed_json")
		assert.Equal(t, `field "from": want a string, not a number`, p.Detail)
		p = requireProblem(t, e.command(t, "transfer", `{"number":"tr-1","strategy":["keyed"]}`), http.StatusBadRequest, "malformed_json")
		assert.Equal(t, `field "strategy": want a string, not an array`, p.Detail)
		p = requireProblem(t, e.command(t, "deposit", `{"id":true}`), http.StatusBadRequest, "malformed_json")
		assert.Equal(t, `field "id": want a string, not a bool`, p.Detail)
		p = requireProblem(t, e.command(t, "open-account", `{"number":"`+acct2+`","currency":"USD","overdraft":true}`), http.StatusBadRequest, "malformed_json")
		assert.Equal(t, `unknown field "overdraft"`, p.Detail)
	})
	t.Run("trailing whitespace is fine", func(t *testing.T) {
		requireJSON(t, e.do(t, http.MethodPost, "/commands/deposit", "application/json", valid+"\n \n"), http.StatusOK, nil)
	})
	assert.Equal(t, map[transfer.AccountNumber]string{acct1: "1.00 USD"}, e.balances(t), "only the valid deposit was made")
	assert.Empty(t, e.logs.String())
}

func TestBodyTooLarge(t *testing.T) {
	t.Run("default 64 KiB", func(t *testing.T) {
		e := newEnv(t, "memuow", nil, nil)
		big := `{"id":"` + strings.Repeat("a", 70_000) + `"}`
		p := requireProblem(t, e.do(t, http.MethodPost, "/commands/deposit", "application/json", big), http.StatusRequestEntityTooLarge, "body_too_large")
		assert.Contains(t, p.Detail, "65536")
		// Just under the limit is read (and refused by the bank: the ID is too long).
		under := `{"id":"` + strings.Repeat("a", 60_000) + `"}`
		requireProblem(t, e.do(t, http.MethodPost, "/commands/deposit", "application/json", under), http.StatusUnprocessableEntity, "invalid_input")
	})
	t.Run("Options.MaxBody", func(t *testing.T) {
		e := newEnv(t, "memuow", nil, &api.Options{MaxBody: 200})
		e.open(t, "USD", acct1)
		body := `{"id":"dep-1","account":"` + acct1 + `","amount":{"amount":"1.00","currency":"USD"}}`
		require.Less(t, len(body), 200)
		requireJSON(t, e.command(t, "deposit", body), http.StatusOK, nil)
		requireProblem(t, e.command(t, "deposit", `{"id":"dep-2","account":"`+acct1+`","amount":{"amount":"1.00","currency":"USD"},"x":"`+strings.Repeat("b", 200)+`"}`),
			http.StatusRequestEntityTooLarge, "body_too_large")
		// A valid object followed by enough whitespace to pass the limit.
		requireProblem(t, e.command(t, "deposit", strings.Replace(body, "dep-1", "dep-3", 1)+strings.Repeat(" ", 300)),
			http.StatusRequestEntityTooLarge, "body_too_large")
		assert.Equal(t, map[transfer.AccountNumber]string{acct1: "1.00 USD"}, e.balances(t))
	})
}

func TestContentType(t *testing.T) {
	e := newEnv(t, "memuow", nil, nil)
	body := `{"number":"` + acct1 + `","currency":"USD"}`
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "application/jsonp", "json"} {
		t.Run("refused "+ct, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/commands/open-account", ct, body)
			requireProblem(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
			assert.Equal(t, "application/json", r.header.Get("Accept-Post"))
		})
	}
	assert.Empty(t, e.balances(t), "no account was opened")
	requireJSON(t, e.do(t, http.MethodPost, "/commands/open-account", "Application/JSON; charset=UTF-8", body), http.StatusCreated, nil)
}

func TestRouting(t *testing.T) {
	e := newEnv(t, "memuow", nil, nil)
	t.Run("unknown command", func(t *testing.T) {
		p := requireProblem(t, e.command(t, "close-account", `{"number":"`+acct1+`"}`), http.StatusNotFound, "unknown_command")
		assert.Contains(t, p.Detail, "close-account")
		// The name is checked before the content type.
		requireProblem(t, e.do(t, http.MethodPost, "/commands/close-account", "text/plain", "x"), http.StatusNotFound, "unknown_command")
	})
	t.Run("wrong method", func(t *testing.T) {
		for _, c := range []struct{ method, path, allow string }{
			{http.MethodGet, "/commands/deposit", "POST"},
			{http.MethodPut, "/commands/transfer", "POST"},
			{http.MethodPost, "/accounts", "GET, HEAD"},
			{http.MethodDelete, "/accounts/" + acct1 + "/statement", "GET, HEAD"},
			{http.MethodPost, "/reconciliation", "GET, HEAD"},
		} {
			r := e.do(t, c.method, c.path, "application/json", "{}")
			p := requireProblem(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
			assert.Equal(t, c.allow, r.header.Get("Allow"), "%s %s", c.method, c.path)
			assert.Contains(t, p.Detail, c.method)
		}
	})
	t.Run("no route", func(t *testing.T) {
		for _, path := range []string{"/", "/account", "/accounts/", "/accounts/" + acct1, "/commands", "/commands/deposit/x"} {
			requireProblem(t, e.get(t, path), http.StatusNotFound, "not_found")
		}
	})
	assert.Empty(t, e.logs.String())
}

func TestQueryParameters(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, nil, nil)
			e.open(t, "USD", acct1)
			for _, path := range []string{
				"/accounts/" + acct1 + "/statement?limit=abc",
				"/accounts/" + acct1 + "/statement?limit=0",
				"/accounts/" + acct1 + "/statement?limit=-1",
				"/accounts/" + acct1 + "/statement?limit=1001",
				"/accounts/" + acct1 + "/statement?limit=",
				"/accounts/123/statement",
				"/accounts/00000000000x/statement",
				"/transfers",
				"/transfers?over=200.00",
				"/transfers?over=200.00&currency=XYZ",
				"/transfers?over=abc&currency=USD",
				"/transfers?over=1.234&currency=USD",
				"/transfers?over=&currency=USD",
				"/transfers?currency=USD&limit=many",
			} {
				requireProblem(t, e.get(t, path), http.StatusBadRequest, "invalid_parameter")
			}
			requireJSON(t, e.get(t, "/accounts/"+acct1+"/statement?limit=1000"), http.StatusOK, nil)
			p := requireProblem(t, e.get(t, "/accounts/"+acct9+"/statement"), http.StatusNotFound, "unknown_account")
			assert.Contains(t, p.Detail, acct9)
			assert.Equal(t, "Unknown account", p.Title)
			assert.Empty(t, e.logs.String())
		})
	}
}

// requireHidden checks that r is the 500 problem and shows nothing of the error.
func requireHidden(t *testing.T, r response) {
	t.Helper()
	p := requireProblem(t, r, http.StatusInternalServerError, "internal")
	body := strings.ToLower(string(r.body))
	for _, internal := range []string{"sql", "table", "no such", "uow", "closed", "secret", "memuow", "fault"} {
		assert.NotContains(t, body, internal)
	}
	assert.Equal(t, "Internal error", p.Title)
}

func TestTechnicalErrorsAreHidden(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite tables dropped", func(t *testing.T) {
		e := newEnv(t, "sqlite", nil, nil)
		e.open(t, "USD", acct1, acct2)
		for _, table := range []string{"account", "transfer", "deposit"} {
			_, err := e.sqlite.DB().ExecContext(ctx, "DROP TABLE "+table)
			require.NoError(t, err)
		}
		requireHidden(t, e.command(t, "deposit", depositBody("dep-1", acct1, usd("1.00"))))
		requireHidden(t, e.command(t, "transfer", transferBody("tr-1", acct1, acct2, usd("1.00"))))
		requireHidden(t, e.command(t, "open-account", openBody(acct9, "USD")))
		requireHidden(t, e.get(t, "/accounts"))
		requireHidden(t, e.get(t, "/accounts/"+acct1+"/statement"))
		requireHidden(t, e.get(t, "/transfers?currency=USD"))
		requireHidden(t, e.get(t, "/totals"))
		requireHidden(t, e.get(t, "/reconciliation"))
		logs := e.logs.String()
		assert.Equal(t, 8, strings.Count(logs, "level=ERROR"), "%s", logs)
		assert.Contains(t, logs, "no such table")
		assert.Contains(t, logs, "path=/commands/deposit")
		assert.Contains(t, logs, "path=/reconciliation")
	})
	t.Run("sqlite driver closed", func(t *testing.T) {
		e := newEnv(t, "sqlite", nil, nil)
		e.open(t, "USD", acct1)
		require.NoError(t, e.sqlite.Close())
		requireHidden(t, e.get(t, "/accounts"))
		requireHidden(t, e.command(t, "deposit", depositBody("dep-1", acct1, usd("1.00"))))
		logs := e.logs.String()
		assert.Equal(t, 2, strings.Count(logs, "level=ERROR"), "%s", logs)
		assert.Contains(t, logs, "closed")
	})
	t.Run("memuow commit fault", func(t *testing.T) {
		e := newEnv(t, "memuow", nil, nil)
		e.open(t, "USD", acct1)
		e.mem.InjectFault(memuow.Fault{Err: errors.New("SQL error: no such table secret_ledger")})
		requireHidden(t, e.command(t, "deposit", depositBody("dep-1", acct1, usd("1.00"))))
		logs := e.logs.String()
		assert.Contains(t, logs, "level=ERROR")
		assert.Contains(t, logs, "secret_ledger")
		assert.Equal(t, map[transfer.AccountNumber]string{acct1: "0.00 USD"}, e.balances(t))
	})
}

func TestConflictsOutlastingRetriesAre503(t *testing.T) {
	e := newEnv(t, "memuow", &transfer.Options{Do: &uow.DoOptions{MaxAttempts: 2}}, nil)
	e.open(t, "USD", acct1, acct2)
	e.deposit(t, "dep-1", acct1, "10.00", "USD")
	for range 2 {
		e.mem.InjectFault(memuow.Fault{Err: fmt.Errorf("%w: injected", uow.ErrConflict)})
	}
	body := transferBody("tr-1", acct1, acct2, usd("4.00"))
	r := e.command(t, "transfer", body)
	requireProblem(t, r, http.StatusServiceUnavailable, "contention")
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	assert.NotContains(t, string(r.body), "uow")
	logs := e.logs.String()
	assert.Contains(t, logs, "level=WARN")
	assert.NotContains(t, logs, "level=ERROR")

	// The retry the client is told to make goes through.
	var out transferResult
	requireJSON(t, e.command(t, "transfer", body), http.StatusOK, &out)
	assert.False(t, out.Replayed)
	assert.Equal(t, map[transfer.AccountNumber]string{acct1: "6.00 USD", acct2: "4.00 USD"}, e.balances(t))
}

func TestNewDefaults(t *testing.T) {
	b, err := transfer.New(uow.NewStore(memuow.New(nil), nil), nil)
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(b, nil))
	defer srv.Close()
	res, err := http.Post(srv.URL+"/commands/open-account", "application/json", strings.NewReader(`{"number":"`+acct1+`","currency":"USD"}`))
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusCreated, res.StatusCode)
	assert.Panics(t, func() { api.New(nil, nil) })
}

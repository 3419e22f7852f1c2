package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/teststore"
)

// The largest balance the bank keeps: 2^63-1 cents, what every store holds exactly.
const (
	maxUSD     = "92233720368547758.07"
	overMaxUSD = "92233720368547758.08" // one cent more
	twiceMax   = "184467440737095516.14"
	thriceMax  = "276701161105643274.21"
)

// TestBalanceLimits checks every path that writes an amount (open, deposit, transfer with each
// strategy) at the largest balance the bank keeps, on every store: a command that would leave a
// balance beyond it is the 422 invalid_input of the other refusals, never a 500, and writes
// nothing.
func TestBalanceLimits(t *testing.T) {
	for _, driver := range teststore.Names {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, nil, nil)
			e.open(t, "USD", acct1, acct2) // open writes a zero balance

			p := requireProblem(t, e.command(t, "deposit", depositBody("dep-huge", acct1, usd(overMaxUSD))),
				http.StatusUnprocessableEntity, "invalid_input")
			assert.Contains(t, p.Detail, overMaxUSD)
			e.deposit(t, "dep-max", acct2, maxUSD, "USD") // exactly the largest balance
			requireProblem(t, e.command(t, "deposit", depositBody("dep-over", acct2, usd("0.01"))),
				http.StatusUnprocessableEntity, "invalid_input")
			e.deposit(t, "dep-1", acct1, "1.00", "USD")
			for _, s := range transfer.Strategies() {
				body := transferBody("tr-"+s.String(), acct1, acct2, usd("0.01"))
				body["strategy"] = s.String()
				p := requireProblem(t, e.command(t, "transfer", body), http.StatusUnprocessableEntity, "invalid_input")
				assert.Contains(t, p.Detail, acct2, "strategy %s", s)
			}
			requireProblem(t, e.command(t, "transfer", transferBody("tr-huge", acct2, acct1, usd(overMaxUSD))),
				http.StatusUnprocessableEntity, "invalid_input")

			// Nothing was written: the balances, the movements and the books are as before.
			assert.Equal(t, map[transfer.AccountNumber]string{acct1: "1.00 USD", acct2: maxUSD + " USD"}, e.balances(t))
			for n, want := range map[string][]transfer.Reference{acct1: {"dep-1"}, acct2: {"dep-max"}} {
				var st transfer.Statement
				requireJSON(t, e.get(t, "/accounts/"+n+"/statement"), http.StatusOK, &st)
				var refs []transfer.Reference
				for _, l := range st.Lines {
					refs = append(refs, l.Reference)
				}
				assert.Equal(t, want, refs, "statement of %s", n)
			}
			var trs struct{ Transfers []transfer.TransferView }
			requireJSON(t, e.get(t, "/transfers?currency=USD"), http.StatusOK, &trs)
			assert.Empty(t, trs.Transfers)
			requireBooks(t, e, "92233720368547759.07", "92233720368547759.07")

			// The accounts still work, with every strategy, up to the limit.
			for i, s := range transfer.Strategies() {
				body := transferBody("back-"+s.String(), acct2, acct1, usd("0.01"))
				body["strategy"] = s.String()
				var out transferResult
				requireJSON(t, e.command(t, "transfer", body), http.StatusOK, &out)
				assert.Equal(t, s.String(), out.Strategy)
				assert.Equal(t, fmt.Sprintf("1.%02d USD", i+1), out.Credited.Balance.String())
			}
			requireBooks(t, e, "92233720368547759.07", "92233720368547759.07")
			assert.Empty(t, e.logs.String(), "no technical error")
		})
	}
}

// TestReadsPastInt64Movements moves the largest balance back and forth until an account's
// lifetime credits and debits, and the bank's totals, pass 2^63-1 minor units: every read still
// answers 200 with exact figures, on every store.
func TestReadsPastInt64Movements(t *testing.T) {
	for _, driver := range teststore.Names {
		t.Run(driver, func(t *testing.T) {
			e := newEnv(t, driver, nil, nil)
			e.open(t, "USD", acct1, acct2, acct3)
			e.deposit(t, "dep-1", acct1, maxUSD, "USD")
			e.deposit(t, "dep-3", acct3, maxUSD, "USD") // the deposits and balances total past 2^63-1 too
			moves := []struct{ number, from, to, strategy string }{
				{"tr-1", acct1, acct2, "optimistic"},
				{"tr-2", acct2, acct1, "eventual"},
				{"tr-3", acct1, acct2, "pessimistic"},
				{"tr-4", acct2, acct1, "keyed"},
				{"tr-5", acct1, acct2, "eventual"},
			}
			for _, m := range moves {
				body := transferBody(m.number, m.from, m.to, usd(maxUSD))
				body["strategy"] = m.strategy
				requireJSON(t, e.command(t, "transfer", body), http.StatusOK, nil)
			}
			// acct1: deposited max, credited 2 max, debited 3 max; acct2: credited 3 max, debited 2 max.
			assert.Equal(t, map[transfer.AccountNumber]string{acct1: "0.00 USD", acct2: maxUSD + " USD", acct3: maxUSD + " USD"}, e.balances(t))
			requireBooks(t, e, twiceMax, twiceMax)

			var totals struct{ Totals []map[string]json.RawMessage }
			requireJSON(t, e.get(t, "/totals"), http.StatusOK, &totals)
			require.Len(t, totals.Totals, 1)
			for _, field := range []string{"credited", "debited"} { // five transfers of the largest balance
				assert.JSONEq(t, `{"amount":"461168601842738790.35","currency":"USD"}`, string(totals.Totals[0][field]), field)
			}

			var st transfer.Statement
			requireJSON(t, e.get(t, "/accounts/"+acct2+"/statement"), http.StatusOK, &st)
			require.Len(t, st.Lines, 5)
			for i, l := range st.Lines {
				want := map[bool]string{true: maxUSD + " USD", false: "-" + maxUSD + " USD"}[i%2 == 0]
				assert.Equal(t, want, l.Amount.String(), "line %d", i)
			}
			assert.Equal(t, maxUSD+" USD", st.Balance.String())
			requireJSON(t, e.get(t, "/accounts/"+acct1+"/statement"), http.StatusOK, &st)
			require.Len(t, st.Lines, 6)
			var trs struct{ Transfers []transfer.TransferView }
			requireJSON(t, e.get(t, "/transfers?currency=USD"), http.StatusOK, &trs)
			assert.Len(t, trs.Transfers, 5)
			assert.Empty(t, e.logs.String(), "no technical error")
		})
	}
}

// requireBooks checks that /totals and /reconciliation answer 200 with one currency, USD, whose
// balances and deposits total the given amounts, and that the books balance.
func requireBooks(t *testing.T, e *env, balance, deposited string) {
	t.Helper()
	var totals struct{ Totals []transfer.Total }
	requireJSON(t, e.get(t, "/totals"), http.StatusOK, &totals)
	require.Len(t, totals.Totals, 1)
	assert.Equal(t, balance+" USD", totals.Totals[0].Balance.String())
	assert.Equal(t, deposited+" USD", totals.Totals[0].Deposited.String())
	var rec struct {
		transfer.Reconciliation
		Balanced bool `json:"balanced"`
	}
	requireJSON(t, e.get(t, "/reconciliation"), http.StatusOK, &rec)
	assert.True(t, rec.Balanced, "%+v", rec)
	assert.Empty(t, rec.Mismatches)
	require.Len(t, rec.Totals, 1)
	assert.Equal(t, balance+" USD", rec.Totals[0].Balance.String())
}

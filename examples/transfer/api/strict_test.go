package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/transfer/api"
)

// TestStrictCommandBodies sends each command's body with one flaw at a time: a field name in
// another case, a field twice, an unknown field, a flaw inside the amount of money, data after
// the object, a body over the limit. Each is the 400 malformed_json problem (413 for the size)
// and writes nothing; the valid body, and the same body with a name spelled with a JSON escape,
// are accepted.
func TestStrictCommandBodies(t *testing.T) {
	const (
		money  = `{"amount":"1.00","currency":"USD"}`
		open   = `{"number":"` + acct3 + `","currency":"USD"}`
		dep    = `{"id":"dep-2","account":"` + acct1 + `","amount":` + money + `}`
		trans  = `{"number":"tr-1","from":"` + acct1 + `","to":"` + acct2 + `","amount":` + money + `,"strategy":"keyed"}`
		moneyC = `{"Amount":"1.00","currency":"USD"}`
	)
	type flaw struct{ name, body, detail string }
	cases := map[string]struct {
		valid   string
		escaped string // the valid body with a field name written with a \u escape
		flaws   []flaw
	}{
		"open-account": {valid: open, escaped: strings.Replace(open, `"number"`, `"n\u0075mber"`, 1), flaws: []flaw{
			{"upper case", strings.Replace(open, `"number"`, `"NUMBER"`, 1), `"NUMBER"`},
			{"title case", strings.Replace(open, `"currency"`, `"Currency"`, 1), `did you mean "currency"`},
			{"duplicate", strings.Replace(open, `{`, `{"currency":"EUR",`, 1), `duplicate field "currency"`},
			{"duplicate escaped", strings.Replace(open, `{`, `{"c\u0075rrency":"EUR",`, 1), `duplicate field "currency"`},
			{"unknown", strings.Replace(open, `{`, `{"overdraft":true,`, 1), `unknown field "overdraft"`},
			{"unknown nested in a string field", strings.Replace(open, `"USD"`, `{"code":"USD","code":"EUR"}`, 1), `duplicate field "code"`},
			{"trailing object", open + open, "after"},
			{"trailing garbage", open + ` x`, "after"},
			{"trailing comma", open + `,`, "after"},
			{"trailing null", open + `null`, "after"},
		}},
		"deposit": {valid: dep, escaped: strings.Replace(dep, `"account"`, `"\u0061ccount"`, 1), flaws: []flaw{
			{"upper case", strings.Replace(dep, `"id"`, `"ID"`, 1), `"ID"`},
			{"duplicate", strings.Replace(dep, `{`, `{"account":"`+acct2+`",`, 1), `duplicate field "account"`},
			{"unknown", strings.Replace(dep, `{`, `{"memo":"rent",`, 1), `unknown field "memo"`},
			{"money key in another case", strings.Replace(dep, money, moneyC, 1), `"Amount"`},
			{"money currency in another case", strings.Replace(dep, `"currency"`, `"CURRENCY"`, 1), `"CURRENCY"`},
			{"money duplicate amount", strings.Replace(dep, money, `{"amount":"1.00","amount":"500.00","currency":"USD"}`, 1), `duplicate field "amount"`},
			{"money unknown key", strings.Replace(dep, money, `{"amount":"1.00","currency":"USD","rate":1}`, 1), `unknown field "rate"`},
			{"trailing", dep + `{}`, "after"},
		}},
		"transfer": {valid: trans, escaped: strings.Replace(trans, `"from"`, `"\u0066rom"`, 1), flaws: []flaw{
			{"upper case", strings.Replace(trans, `"number"`, `"NUMBER"`, 1), `"NUMBER"`},
			{"strategy in another case", strings.Replace(trans, `"strategy"`, `"Strategy"`, 1), `"Strategy"`},
			{"duplicate", strings.Replace(trans, `{`, `{"to":"`+acct3+`",`, 1), `duplicate field "to"`},
			{"duplicate strategy", strings.Replace(trans, `}`+`,"strategy"`, `},"strategy":"eventual","strategy"`, 1), `duplicate field "strategy"`},
			{"unknown", strings.Replace(trans, `{`, `{"fee":"0.10",`, 1), `unknown field "fee"`},
			{"money key in another case", strings.Replace(trans, money, moneyC, 1), `"Amount"`},
			{"money duplicate currency", strings.Replace(trans, money, `{"amount":"1.00","currency":"USD","currency":"EUR"}`, 1), `duplicate field "currency"`},
			{"trailing", trans + `]`, "after"},
		}},
	}
	for _, name := range []string{"open-account", "deposit", "transfer"} {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, "memuow", nil, &api.Options{MaxBody: 4 << 10})
			e.open(t, "USD", acct1, acct2)
			e.deposit(t, "dep-1", acct1, "100.00", "USD")
			before := e.balances(t)
			for _, f := range c.flaws {
				t.Run(f.name, func(t *testing.T) {
					p := requireProblem(t, e.command(t, name, f.body), http.StatusBadRequest, "malformed_json")
					assert.Contains(t, p.Detail, f.detail)
				})
			}
			huge := strings.Replace(c.valid, `{`, `{"pad":"`+strings.Repeat("x", 5<<10)+`",`, 1)
			requireProblem(t, e.command(t, name, huge), http.StatusRequestEntityTooLarge, "body_too_large")
			require.Equal(t, before, e.balances(t), "a refused body wrote nothing")
			var status int
			switch name {
			case "open-account":
				status = http.StatusCreated
			default:
				status = http.StatusOK
			}
			requireJSON(t, e.command(t, name, c.escaped), status, nil)
			assert.Empty(t, e.logs.String())
		})
	}
}

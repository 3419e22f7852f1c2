package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/money"
)

// maxLimit is the largest limit a query takes.
const maxLimit = 1000

// balancesResult is the answer of GET /accounts.
type balancesResult struct {
	Accounts []transfer.Balance `json:"accounts"`
}

// balances answers every account's balance.
func (s *server) balances(w http.ResponseWriter, r *http.Request) error {
	bs, err := s.finder.Balances(r.Context())
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, balancesResult{Accounts: nonNil(bs)})
}

// statement answers an account's statement; an unknown account is 404.
func (s *server) statement(w http.ResponseWriter, r *http.Request) error {
	n, err := transfer.ParseAccountNumber(r.PathValue("number"))
	if err != nil {
		return badParameter(fmt.Sprintf("account number %q: want 12 digits", r.PathValue("number")))
	}
	limit, err := limitOf(r.URL.Query())
	if err != nil {
		return err
	}
	st, err := s.finder.Statement(r.Context(), n, limit)
	if errors.Is(err, transfer.ErrUnknownAccount) {
		return &apiError{status: http.StatusNotFound, code: transfer.ErrUnknownAccount.Code,
			title: ruleTitle(transfer.ErrUnknownAccount), detail: fmt.Sprintf("no account has number %s", n)}
	}
	if err != nil {
		return err
	}
	st.Lines = nonNil(st.Lines)
	return reply(w, http.StatusOK, st)
}

// transfersResult is the answer of GET /transfers.
type transfersResult struct {
	Transfers []transfer.TransferView `json:"transfers"`
}

// transfersOver answers the transfers over an amount, largest first.
func (s *server) transfersOver(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	code := q.Get("currency")
	if code == "" {
		return badParameter("currency is required, such as currency=USD")
	}
	c, err := money.Lookup(code)
	if err != nil {
		return badParameter(fmt.Sprintf("currency %q is not an ISO 4217 currency", code))
	}
	over := money.Zero(c)
	if q.Has("over") {
		if over, err = money.FromString(q.Get("over"), c); err != nil {
			return badParameter(fmt.Sprintf("over %q: want an amount in %s, such as over=200.00", q.Get("over"), c.Code()))
		}
	}
	limit, err := limitOf(q)
	if err != nil {
		return err
	}
	ts, err := s.finder.TransfersOver(r.Context(), over, limit)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, transfersResult{Transfers: nonNil(ts)})
}

// totalsResult is the answer of GET /totals.
type totalsResult struct {
	Totals []transfer.Total `json:"totals"`
}

// totals answers the money of each currency.
func (s *server) totals(w http.ResponseWriter, r *http.Request) error {
	ts, err := s.finder.Totals(r.Context())
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, totalsResult{Totals: nonNil(ts)})
}

// reconciliationResult is the answer of GET /reconciliation: the reconciliation and its verdict.
type reconciliationResult struct {
	transfer.Reconciliation
	Balanced bool `json:"balanced"`
}

// reconcile answers the reconciliation of the ledger.
func (s *server) reconcile(w http.ResponseWriter, r *http.Request) error {
	rec, err := s.finder.Reconcile(r.Context())
	if err != nil {
		return err
	}
	rec.Totals = nonNil(rec.Totals)
	return reply(w, http.StatusOK, reconciliationResult{Reconciliation: rec, Balanced: rec.Balanced()})
}

// limitOf returns the query's limit: 0 (the Finder's default, 100) when absent, else 1 to
// maxLimit.
func limitOf(q url.Values) (int, error) {
	if !q.Has("limit") {
		return 0, nil
	}
	n, err := strconv.Atoi(q.Get("limit"))
	if err != nil || n < 1 || n > maxLimit {
		return 0, badParameter(fmt.Sprintf("limit %q: want an integer from 1 to %d", q.Get("limit"), maxLimit))
	}
	return n, nil
}

// nonNil returns s, or an empty slice for nil, so that JSON shows [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

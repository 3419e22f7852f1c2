package aggregate_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
)

var (
	errInsufficientFunds = aggregate.NewRule("insufficient_funds", "insufficient funds")
	errAccountClosed     = aggregate.NewRule("account_closed", "the account is closed")
)

func TestNewRule(t *testing.T) {
	r := aggregate.NewRule("code", "message")
	require.Equal(t, "code", r.Code)
	require.Equal(t, "message", r.Message)
	require.Equal(t, "message", r.Error())
	require.NotSame(t, r, aggregate.NewRule("code", "message"), "each call makes a new sentinel")
}

func TestRuleErrorIs(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{name: "sentinel is itself", err: errInsufficientFunds, target: errInsufficientFunds, want: true},
		{name: "wrapped once", err: fmt.Errorf("%w: balance 10, debit 25", errInsufficientFunds), target: errInsufficientFunds, want: true},
		{
			name:   "wrapped three times",
			err:    fmt.Errorf("handler: %w", fmt.Errorf("account acc-1: %w", fmt.Errorf("%w: balance 10", errInsufficientFunds))),
			target: errInsufficientFunds, want: true,
		},
		{name: "joined", err: errors.Join(io.EOF, errInsufficientFunds), target: errInsufficientFunds, want: true},
		{name: "any rule matches ErrRule", err: errInsufficientFunds, target: aggregate.ErrRule, want: true},
		{name: "wrapped rule matches ErrRule", err: fmt.Errorf("x: %w", fmt.Errorf("y: %w", errAccountClosed)), target: aggregate.ErrRule, want: true},
		{name: "literal RuleError matches ErrRule", err: &aggregate.RuleError{Code: "c", Message: "m"}, target: aggregate.ErrRule, want: true},
		{name: "ErrRule matches itself", err: aggregate.ErrRule, target: aggregate.ErrRule, want: true},
		{name: "plain error is no rule", err: errors.New("insufficient funds"), target: aggregate.ErrRule, want: false},
		{name: "wrapped plain error is no rule", err: fmt.Errorf("x: %w", io.EOF), target: aggregate.ErrRule, want: false},
		{name: "different rules", err: errInsufficientFunds, target: errAccountClosed, want: false},
		{name: "different rules, other way", err: errAccountClosed, target: errInsufficientFunds, want: false},
		{name: "wrapped different rule", err: fmt.Errorf("x: %w", errAccountClosed), target: errInsufficientFunds, want: false},
		{name: "same code and message, different sentinel", err: aggregate.NewRule("insufficient_funds", "insufficient funds"), target: errInsufficientFunds, want: false},
		{name: "ErrRule is not a particular rule", err: aggregate.ErrRule, target: errInsufficientFunds, want: false},
		{name: "rule is not a plain error", err: errInsufficientFunds, target: io.EOF, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, errors.Is(tc.err, tc.target))
		})
	}
}

func TestRuleErrorAs(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantOK      bool
		wantCode    string
		wantMessage string
	}{
		{name: "sentinel", err: errInsufficientFunds, wantOK: true, wantCode: "insufficient_funds", wantMessage: "insufficient funds"},
		{
			name:   "wrapped twice",
			err:    fmt.Errorf("debit: %w", fmt.Errorf("%w: balance 10", errAccountClosed)),
			wantOK: true, wantCode: "account_closed", wantMessage: "the account is closed",
		},
		{name: "plain error", err: errors.New("boom"), wantOK: false},
		{name: "nil", err: nil, wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rule *aggregate.RuleError
			ok := errors.As(tc.err, &rule)
			require.Equal(t, tc.wantOK, ok)
			if !ok {
				return
			}
			require.Equal(t, tc.wantCode, rule.Code)
			require.Equal(t, tc.wantMessage, rule.Message)
		})
	}
}

func TestRuleErrorMessage(t *testing.T) {
	require.Equal(t, "insufficient funds", errInsufficientFunds.Error())
	require.EqualError(t, fmt.Errorf("%w: balance 10, debit 25", errInsufficientFunds), "insufficient funds: balance 10, debit 25")
	require.Equal(t, "aggregate: business rule violated", aggregate.ErrRule.Error())
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestTour(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"[33.34 EUR 33.33 EUR 33.33 EUR]",
		"7.7% VAT on 33.34 EUR, rounded half-even: 2.57 EUR",
		"refused: money: more decimals than the currency allows",
		"refused: money: currency mismatch: EUR and USD",
		`rule "insufficient_funds": insufficient funds: balance 30.00 EUR, withdrawal 45.00 EUR`,
		"balance: 30.00 EUR version: 0",
		`Wallet wallet.Deposited v1 {"wallet":"`,
		`"amount":{"amount":"20.00","currency":"EUR"}}`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

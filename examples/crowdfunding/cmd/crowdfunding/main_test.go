package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRun runs the demo on a temporary SQLite file and checks its story: every step's outcome,
// the dashboards and the books.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	require.NoError(t, run(t.Context(), nil, &out), out.String())
	assert.Less(t, time.Since(start), 15*time.Second, "the demo finishes in a few seconds")
	got := out.String()

	for _, want := range []string{
		"  accounting  accounting_ddd_aggregate accounting_ddd_inbox accounting_ddd_outbox accounting_ddd_schema_migrations\n",
		"  campaigns   campaigns_ddd_aggregate campaigns_ddd_inbox campaigns_ddd_outbox campaigns_ddd_schema_migrations\n",
		"  payouts     payouts_ddd_aggregate payouts_ddd_inbox payouts_ddd_outbox payouts_ddd_schema_migrations\n",
		"  dashboard   dashboard_ddd_aggregate dashboard_ddd_inbox dashboard_ddd_outbox dashboard_ddd_schema_migrations\n",
		"   -> alice sees donation node/alice-1 confirmed\n",
		"   -> carol sees donation node/carol-1 failed (insufficient funds: account carol holds 0.00 USD, donation/node/carol-1 needs 5.00 USD)\n",
		"   bob donates to his own campaign: you cannot donate to your own campaign: node\n",
		"   -> w1 paid (completed)\n",
		"   -> w2 refunded (compensated) (payouts: payment declined: 5.00 USD to lnbc1bob)\n",
		"   -> w3 refunded (compensated) (cancelled: the provider did not answer in time)\n",
		"   -> w4 rejected (failed) (insufficient funds: account carol holds 0.00 USD, withdrawal/w4 needs 1.00 USD)\n",
		`dashboards:
  alice: balance 70.00 USD
    donation node/alice-1: 30.00 USD confirmed
  bob: balance 20.00 USD
    campaign node "Bob's lightning node": 30.00 USD raised of 500.00 USD
    withdrawal w1: 10.00 USD paid
    withdrawal w2: 5.00 USD refunded (payouts: payment declined: 5.00 USD to lnbc1bob)
    withdrawal w3: 5.00 USD refunded (cancelled: the provider did not answer in time)
  carol: balance 0.00 USD
    donation node/carol-1: 5.00 USD failed (insufficient funds: account carol holds 0.00 USD, donation/node/carol-1 needs 5.00 USD)
    withdrawal w4: 1.00 USD rejected (insufficient funds: account carol holds 0.00 USD, withdrawal/w4 needs 1.00 USD)
`,
		`accounting's ledger:
  deposit/topup-1          deposit    100.00 USD
  donation/node/alice-1    transfer   30.00 USD
  refund/w2                refund     5.00 USD
  refund/w3                refund     5.00 USD
  withdrawal/w1            withdrawal 10.00 USD
  withdrawal/w2            withdrawal 5.00 USD
  withdrawal/w3            withdrawal 5.00 USD
`,
		"the books: 100.00 USD deposited = 90.00 USD in the accounts + 10.00 USD paid out by the provider\n",
	} {
		assert.Contains(t, got, want)
	}
	// The temporary file is gone.
	first, _, _ := strings.Cut(got, "\n")
	dir := filepath.Dir(strings.TrimSuffix(strings.TrimPrefix(first, "crowdfunding on SQLite, one file ("), "), four sets of tables:"))
	require.True(t, strings.HasPrefix(filepath.Base(dir), "crowdfunding-"), first)
	assert.NoDirExists(t, dir)
}

// TestRunKeepsDB runs the story twice on a kept file: every step is idempotent, so the second
// run finds everything done and tells the same story.
func TestRunKeepsDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cf.db")
	args := []string{"--db", path, "--payment-timeout", "300ms"}
	var first, second bytes.Buffer
	require.NoError(t, run(t.Context(), args, &first), first.String())
	require.FileExists(t, path)
	require.NoError(t, run(t.Context(), args, &second), second.String())
	assert.Equal(t, first.String(), second.String())
	assert.Contains(t, second.String(), "the books: 100.00 USD deposited = 90.00 USD in the accounts + 10.00 USD paid out by the provider\n")
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Positive(t, info.Size())
}

func TestRunFlags(t *testing.T) {
	var out bytes.Buffer
	require.ErrorIs(t, run(t.Context(), []string{"-h"}, &out), flag.ErrHelp)
	assert.Contains(t, out.String(), "-db")
	require.Error(t, run(t.Context(), []string{"--nope"}, &out))
	require.Error(t, run(t.Context(), []string{"extra"}, &out))
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var out bytes.Buffer
	require.Error(t, run(ctx, nil, &out))
}

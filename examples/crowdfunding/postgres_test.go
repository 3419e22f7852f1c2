package crowdfunding_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/examples/crowdfunding"
	"github.com/dddkit/ddd/examples/crowdfunding/accounting"
	"github.com/dddkit/ddd/examples/crowdfunding/campaigns"
	"github.com/dddkit/ddd/examples/crowdfunding/dashboard"
	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/pguow"
	"github.com/dddkit/ddd/uow/uowtest"
)

// postgresDSN returns DDD_TEST_POSTGRES, or skips the test without it (fails it when
// DDD_REQUIRE_SERVICES=1, as CI sets).
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("DDD_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("DDD_REQUIRE_SERVICES") == "1" {
			t.Fatal("DDD_TEST_POSTGRES is not set and DDD_REQUIRE_SERVICES=1")
		}
		t.Skip("DDD_TEST_POSTGRES is not set")
	}
	return dsn
}

// twice is a network that delivers every batch twice: the consumers' inboxes in PostgreSQL
// absorb the second delivery.
type twice struct{ bus *outbox.Bus }

func (p twice) Publish(ctx context.Context, msgs []uow.Message) error {
	if err := p.bus.Publish(ctx, msgs); err != nil {
		return err
	}
	return p.bus.Publish(ctx, msgs)
}

// TestPostgres runs the donation and withdrawal flows with the four contexts on PostgreSQL: one
// fresh schema, a table prefix per context (so four sets of tables, as four services would have
// four databases), dropped at the end.
func TestPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	for _, dup := range []bool{false, true} {
		name := map[bool]string{false: "reliable", true: "every message twice"}[dup]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cfg, err := pgxpool.ParseConfig(dsn)
			require.NoError(t, err)
			cfg.MaxConns = 8 // a relay's held claim, and the units its handlers run meanwhile
			pool, err := pgxpool.NewWithConfig(ctx, cfg)
			require.NoError(t, err)
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			schema := "crowdfunding_" + hex.EncodeToString(b)
			t.Cleanup(func() {
				_, err := pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
				assert.NoError(t, err)
				pool.Close()
			})
			prefixes := []string{"accounting_", "campaigns_", "payouts_", "dashboard_"}
			var ds []*pguow.Driver
			for _, p := range prefixes {
				d, err := pguow.New(pool, &pguow.Options{Schema: schema, Prefix: p})
				require.NoError(t, err)
				require.NoError(t, d.Migrate(ctx))
				ds = append(ds, d)
			}

			clock := memuow.NewClock(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
			provider := payouts.NewFakeProvider()
			opts := &crowdfunding.Options{Clock: clock,
				Payouts: &payouts.Options{PaymentTimeout: time.Minute, PayWait: 20 * time.Millisecond},
				Relay: &outbox.RelayOptions{MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, MaxAttempts: 1000,
					Logger: slog.New(slog.DiscardHandler)}}
			if dup {
				opts.Publisher = func(b *outbox.Bus) outbox.Publisher { return twice{b} }
			}
			sys, err := crowdfunding.New(crowdfunding.Drivers{Accounting: ds[0], Campaigns: ds[1], Payouts: ds[2], Dashboard: ds[3]},
				provider, opts)
			require.NoError(t, err)
			// quiet relays, letting the clock pass retries and the payment timeout, until every
			// outbox is empty.
			quiet := func() {
				t.Helper()
				for round := 0; ; round++ {
					require.NoError(t, sys.Drain(ctx))
					n := 0
					for _, d := range ds {
						n += len(uowtest.Messages(t, d))
					}
					if n == 0 {
						return
					}
					require.Less(t, round, 100, "%d messages left", n)
					clock.Advance(10 * time.Second)
				}
			}

			// Donations: one paid, one bounced, one refused at once; a retried pledge.
			for _, a := range []string{"alice", "bob", "carol"} {
				require.NoError(t, accounting.OpenAccount(ctx, sys.Accounting, accounting.AccountID(a), a, chaosUSD))
			}
			require.NoError(t, accounting.Deposit(ctx, sys.Accounting, "d1", "alice", usdOf(100)))
			require.NoError(t, campaigns.Create(ctx, sys.Campaigns, "c1", "bob", "Bob's node", usdOf(500)))
			require.NoError(t, campaigns.Donate(ctx, sys.Campaigns, "c1", "k1", "alice", usdOf(30)))
			require.NoError(t, campaigns.Donate(ctx, sys.Campaigns, "c1", "k1", "alice", usdOf(30))) // a retry
			require.NoError(t, campaigns.Donate(ctx, sys.Campaigns, "c1", "k2", "carol", usdOf(5)))  // carol has nothing
			require.ErrorIs(t, campaigns.Donate(ctx, sys.Campaigns, "c1", "k3", "bob", usdOf(1)), campaigns.ErrOwnCampaign)
			quiet()

			cs, err := campaigns.Campaigns(ctx, sys.Campaigns)
			require.NoError(t, err)
			require.Len(t, cs, 1)
			assert.Equal(t, int64(3000), cents(t, cs[0].Raised))
			assert.Equal(t, campaigns.Confirmed, cs[0].Donations["k1"].Status)
			assert.Equal(t, campaigns.Failed, cs[0].Donations["k2"].Status)
			assert.Contains(t, cs[0].Donations["k2"].Reason, "insufficient funds")

			// Withdrawals: paid, declined and refunded, hanging past the timeout and refunded,
			// paid with its answer lost, rejected.
			provider.Set("w2", payouts.Declines)
			provider.Set("w3", payouts.Hangs)
			provider.Set("w4", payouts.PaysSilently)
			for _, w := range []string{"w1", "w2", "w3", "w4"} {
				require.NoError(t, payouts.Request(ctx, sys.Payouts, w, "bob", "lnbc1bob", usdOf(5)))
			}
			require.NoError(t, payouts.Request(ctx, sys.Payouts, "w5", "carol", "lnbc1carol", usdOf(5)))
			quiet()

			want := map[string]string{"w1": "paid", "w2": "refunded", "w3": "refunded", "w4": "paid", "w5": "rejected"}
			for id, state := range want {
				info, err := sys.Withdrawals.Manager.Get(ctx, id)
				require.NoError(t, err)
				assert.Equal(t, state, string(info.State), id)
			}
			paid := provider.Paid()
			assert.Equal(t, []string{"w1", "w4"}, slices.Sorted(maps.Keys(paid)))
			accs, err := accounting.Accounts(ctx, sys.Accounting)
			require.NoError(t, err)
			bal := map[accounting.AccountID]int64{}
			for _, a := range accs {
				bal[a.ID()] = cents(t, a.Balance)
			}
			assert.Equal(t, map[accounting.AccountID]int64{"alice": 7000, "bob": 2000, "carol": 0}, bal)
			ops, err := accounting.Operations(ctx, sys.Accounting)
			require.NoError(t, err)
			var keys []accounting.OperationKey
			for _, o := range ops {
				keys = append(keys, o.ID())
			}
			assert.ElementsMatch(t, []accounting.OperationKey{"deposit/d1", "donation/c1/k1", "withdrawal/w1", "withdrawal/w2", "withdrawal/w3",
				"withdrawal/w4", "refund/w2", "refund/w3"}, keys)

			// The dashboard, from the same events.
			for who, b := range bal {
				v, err := dashboard.Get(ctx, sys.Dashboard, dashboard.ViewID(who))
				require.NoError(t, err)
				assert.Equal(t, b, cents(t, v.Balance), who)
			}
			bob, err := dashboard.Get(ctx, sys.Dashboard, "bob")
			require.NoError(t, err)
			assert.Equal(t, int64(3000), cents(t, bob.Campaigns["c1"].Raised))
			assert.Empty(t, bob.Donations)
			got := map[string]string{}
			for id, w := range bob.Withdrawals {
				got[id] = w.Status
			}
			assert.Equal(t, map[string]string{"w1": "paid", "w2": "refunded", "w3": "refunded", "w4": "paid"}, got)
			carol, err := dashboard.Get(ctx, sys.Dashboard, "carol")
			require.NoError(t, err)
			require.Len(t, carol.Donations, 1)
			for _, d := range carol.Donations {
				assert.Equal(t, "failed", d.Status)
				assert.Contains(t, d.Reason, "insufficient funds")
			}
			assert.Equal(t, "rejected", carol.Withdrawals["w5"].Status)

			// Four contexts, four sets of tables: each context's records and inbox are in its own.
			count := func(table, where string) int {
				t.Helper()
				var n int
				require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM "`+schema+`".`+table+` `+where).Scan(&n))
				return n
			}
			for _, p := range prefixes {
				assert.Positive(t, count(p+"ddd_aggregate", ""), p)
				assert.Positive(t, count(p+"ddd_inbox", ""), p) // each context consumes something
			}
			for table, want := range map[string]map[string]int{
				"accounting_ddd_aggregate": {"c1": 0, "alice": 1, "donation/c1/k1": 1},
				"campaigns_ddd_aggregate":  {"c1": 1, "alice": 0, "donation/c1/k1": 0},
				"dashboard_ddd_aggregate":  {"c1": 0, "alice": 1, "donation/c1/k1": 0}, // alice's view
			} {
				for id, n := range want {
					assert.Equal(t, n, count(table, "WHERE id = '"+id+"'"), "%s in %s", id, table)
				}
			}
		})
	}
}

// Package dashboard is the crowdfunding system's read side: one view per account, with its
// balance, the campaigns it owns, the donations it made and its withdrawals, built from the
// other contexts' events and nothing else.
//
// The joins are by the right key, which seed 002's dashboard got wrong: a donation belongs to
// its donor's view and counts in its campaign, which belongs to its owner's view. Events may
// arrive twice or out of order: each consumer marks the inbox, versions keep the newest balance
// and total, and a settled donation or withdrawal never goes back to pending.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// Consumer is the dashboard's inbox name.
const Consumer = "dashboard"

// ViewID is an account's ID: the key of its view.
type ViewID string

// View is one account's dashboard.
type View struct {
	aggregate.Root[ViewID]
	Balance        money.Money              `json:"balance"`
	BalanceVersion int64                    `json:"balance_version"`
	Campaigns      map[string]*CampaignView `json:"campaigns"`   // the account's own campaigns
	Donations      map[string]*DonationView `json:"donations"`   // the donations it made, by DonationKey
	Withdrawals    map[string]*Withdrawal   `json:"withdrawals"` // its withdrawals, by ID
}

// AggregateType is View's stable name: its storage kind and the topic of its events.
func (*View) AggregateType() string { return "View" }

// CampaignView is a campaign as its owner sees it.
type CampaignView struct {
	Title   string      `json:"title"`
	Goal    money.Money `json:"goal"`
	Raised  money.Money `json:"raised"`
	Version int64       `json:"version"`
}

// DonationView is a donation as its donor sees it: pledged, confirmed or failed (with why).
type DonationView struct {
	Campaign string      `json:"campaign"`
	Amount   money.Money `json:"amount"`
	Status   string      `json:"status"`
	Reason   string      `json:"reason,omitempty"`
}

// Withdrawal is a withdrawal as its account sees it: requested, paid, rejected or refunded.
type Withdrawal struct {
	Amount money.Money `json:"amount"`
	Status string      `json:"status"`
	Reason string      `json:"reason,omitempty"`
}

// Handler returns the dashboard's consumer: subscribe it to the topics "accounting",
// "crowdfunding" and "payouts". It updates the views of the accounts an event names, with the
// inbox mark, in one unit.
func Handler(store *uow.Store) outbox.Handler {
	return func(ctx context.Context, m uow.Message) error {
		change, ok := changes[m.Name]
		if !ok {
			return nil
		}
		var e event
		if err := m.Decode(&e); err != nil {
			return fmt.Errorf("dashboard: %w", err)
		}
		return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
			if done, err := u.MarkProcessed(ctx, Consumer, m.ID); err != nil || done {
				return err
			}
			for _, id := range change.views(e) {
				if id == "" {
					continue
				}
				v, err := view(ctx, u, id)
				if err != nil {
					return err
				}
				change.apply(v, e)
			}
			return nil
		}, nil)
	}
}

// event is the union of the fields the dashboard reads from the events it follows: one tolerant
// reading of ten events of three contexts, dispatched by name through changes (an outbox.Router
// would need a reading type per event for the same table).
type event struct {
	Account    ViewID      `json:"account"`
	Currency   string      `json:"currency"`
	Balance    money.Money `json:"balance"`
	Version    int64       `json:"version"`
	Campaign   string      `json:"campaign"`
	Owner      ViewID      `json:"owner"`
	Title      string      `json:"title"`
	Goal       money.Money `json:"goal"`
	Donation   string      `json:"donation"`
	Donor      ViewID      `json:"donor"`
	Amount     money.Money `json:"amount"`
	Raised     money.Money `json:"raised"`
	Reason     string      `json:"reason"`
	Withdrawal string      `json:"withdrawal"`
}

// change is how one event changes the views it names.
type change struct {
	views func(e event) []ViewID
	apply func(v *View, e event)
}

var changes = map[string]change{
	"accounting.AccountOpened": {
		views: func(e event) []ViewID { return []ViewID{e.Account} },
		apply: func(v *View, e event) {
			c, err := money.Lookup(e.Currency)
			if err == nil && v.BalanceVersion < 1 { // the account's first version: empty
				v.Balance, v.BalanceVersion = money.Zero(c), 1
			}
		},
	},
	"accounting.BalanceChanged": {
		views: func(e event) []ViewID { return []ViewID{e.Account} },
		apply: func(v *View, e event) {
			if e.Version > v.BalanceVersion {
				v.Balance, v.BalanceVersion = e.Balance, e.Version
			}
		},
	},
	"campaigns.CampaignCreated": {
		views: func(e event) []ViewID { return []ViewID{e.Owner} },
		apply: func(v *View, e event) {
			c := v.Campaigns[e.Campaign]
			if c == nil {
				c = &CampaignView{Raised: money.Zero(e.Goal.Currency())}
				v.Campaigns[e.Campaign] = c
			}
			c.Title, c.Goal = e.Title, e.Goal // a confirmation may have come first
		},
	},
	"campaigns.DonationPledged": {
		views: func(e event) []ViewID { return []ViewID{e.Donor} },
		apply: func(v *View, e event) { donation(v, e, "pledged") },
	},
	"campaigns.DonationConfirmed": {
		views: func(e event) []ViewID { return []ViewID{e.Donor, e.Owner} },
		apply: func(v *View, e event) {
			if v.ID() == e.Donor {
				donation(v, e, "confirmed")
			}
			if v.ID() == e.Owner {
				c := v.Campaigns[e.Campaign]
				if c == nil { // confirmed before created arrived: the title comes later
					c = &CampaignView{Raised: money.Zero(e.Raised.Currency())}
					v.Campaigns[e.Campaign] = c
				}
				if e.Version > c.Version {
					c.Raised, c.Version = e.Raised, e.Version
				}
			}
		},
	},
	"campaigns.DonationFailed": {
		views: func(e event) []ViewID { return []ViewID{e.Donor} },
		apply: func(v *View, e event) { donation(v, e, "failed") },
	},
	"payouts.WithdrawalStarted": {
		views: func(e event) []ViewID { return []ViewID{e.Account} },
		apply: func(v *View, e event) { withdrawal(v, e, "requested") },
	},
	"payouts.WithdrawalPaid": {
		views: func(e event) []ViewID { return []ViewID{e.Account} },
		apply: func(v *View, e event) { withdrawal(v, e, "paid") },
	},
	"payouts.WithdrawalRejected": {
		views: func(e event) []ViewID { return []ViewID{e.Account} },
		apply: func(v *View, e event) { withdrawal(v, e, "rejected") },
	},
	"payouts.WithdrawalRefunded": {
		views: func(e event) []ViewID { return []ViewID{e.Account} },
		apply: func(v *View, e event) { withdrawal(v, e, "refunded") },
	},
}

// donation sets a donation's status; a settled one never goes back to pledged.
func donation(v *View, e event, status string) {
	k := DonationKey(e.Campaign, e.Donation)
	d := v.Donations[k]
	if d == nil {
		d = &DonationView{Campaign: e.Campaign, Amount: e.Amount, Status: status}
		v.Donations[k] = d
	}
	if status != "pledged" {
		d.Status, d.Reason = status, e.Reason
	}
}

// DonationKey is a donation's key in View.Donations: the campaign and the donor's key, each
// path-escaped so that no two donations share one.
func DonationKey(campaign, key string) string {
	return url.PathEscape(campaign) + "/" + url.PathEscape(key)
}

// withdrawal sets a withdrawal's status; a finished one never goes back to requested.
func withdrawal(v *View, e event, status string) {
	w := v.Withdrawals[e.Withdrawal]
	if w == nil {
		w = &Withdrawal{Amount: e.Amount, Status: status}
		v.Withdrawals[e.Withdrawal] = w
	}
	if status != "requested" {
		w.Status, w.Reason = status, e.Reason
	}
}

// view loads the account's view, or starts it.
func view(ctx context.Context, u *uow.Unit, id ViewID) (*View, error) {
	return uow.Repo[View, ViewID](u).GetOrAdd(ctx, id, newView)
}

// newView returns the empty view of an account nothing happened to yet.
func newView(id ViewID) (*View, error) {
	root, err := aggregate.NewRoot(id)
	if err != nil {
		return nil, err
	}
	return &View{Root: root, Campaigns: map[string]*CampaignView{}, Donations: map[string]*DonationView{},
		Withdrawals: map[string]*Withdrawal{}}, nil
}

// String renders the view, its maps in key order: the balance, then a line per campaign,
// donation and withdrawal.
func (v *View) String() string {
	var b strings.Builder
	if v.BalanceVersion == 0 {
		fmt.Fprintf(&b, "%s: no balance yet\n", v.ID()) // accounting's events have not arrived
	} else {
		fmt.Fprintf(&b, "%s: balance %s\n", v.ID(), v.Balance)
	}
	for _, k := range slices.Sorted(maps.Keys(v.Campaigns)) {
		c := v.Campaigns[k]
		fmt.Fprintf(&b, "  campaign %s %q: %s raised of %s\n", k, c.Title, c.Raised, c.Goal)
	}
	for _, k := range slices.Sorted(maps.Keys(v.Donations)) {
		d := v.Donations[k]
		fmt.Fprintf(&b, "  donation %s: %s %s%s\n", k, d.Amount, d.Status, why(d.Reason))
	}
	for _, k := range slices.Sorted(maps.Keys(v.Withdrawals)) {
		w := v.Withdrawals[k]
		fmt.Fprintf(&b, "  withdrawal %s: %s %s%s\n", k, w.Amount, w.Status, why(w.Reason))
	}
	return b.String()
}

func why(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}

// Get returns the account's view; an account nothing happened to has an empty one.
func Get(ctx context.Context, store *uow.Store, account ViewID) (*View, error) {
	u, err := store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = u.Rollback(context.WithoutCancel(ctx)) }()
	v, err := uow.Repo[View, ViewID](u).Get(ctx, account)
	if errors.Is(err, uow.ErrNotFound) {
		return newView(account)
	}
	return v, err
}

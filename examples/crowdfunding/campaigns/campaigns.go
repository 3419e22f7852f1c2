// Package campaigns is the crowdfunding context: campaigns with a goal, and donations to them.
//
// A donation is pledged here, paid by accounting (which this context reaches only through
// messages) and recorded once accounting reports the transfer: DonationConfirmed adds it to the
// campaign's total, DonationFailed tells the donor why it bounced (seed 002's donation that
// failed for insufficient funds and told nobody). Donations carry the donor's idempotency key:
// pledging the same donation again changes nothing.
package campaigns

import (
	"context"
	"errors"
	"fmt"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/money"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/driver"
)

// Topic is where the context publishes its events.
const Topic = "crowdfunding"

// Errors: business rules, returned wrapped.
var (
	ErrOwnCampaign      = aggregate.NewRule("own_campaign", "you cannot donate to your own campaign")
	ErrInvalidAmount    = aggregate.NewRule("invalid_amount", "the amount must be positive")
	ErrCurrencyMismatch = aggregate.NewRule("currency_mismatch", "the amount's currency is not the campaign's")
	ErrDuplicateKey     = aggregate.NewRule("duplicate_donation", "the idempotency key was used for another donation")
	ErrUnknownCampaign  = aggregate.NewRule("unknown_campaign", "unknown campaign")
	ErrCampaignExists   = aggregate.NewRule("campaign_exists", "the campaign exists")
)

// CampaignID identifies a campaign.
type CampaignID string

// Status is a donation's state.
type Status string

// The donation statuses: pledged until accounting answers, then confirmed or failed.
const (
	Pledged   Status = "pledged"
	Confirmed Status = "confirmed"
	Failed    Status = "failed"
)

// Donation is a donation to a campaign; its key is the donor's idempotency key.
type Donation struct {
	Donor  string      `json:"donor"`
	Amount money.Money `json:"amount"`
	Status Status      `json:"status"`
	Reason string      `json:"reason,omitempty"`
}

// Campaign raises money for its owner's account.
type Campaign struct {
	aggregate.Root[CampaignID]
	Owner     string               `json:"owner"`
	Title     string               `json:"title"`
	Goal      money.Money          `json:"goal"`
	Raised    money.Money          `json:"raised"`
	Donations map[string]*Donation `json:"donations"`
}

// AggregateType is Campaign's stable name: its storage kind and the topic of its events.
func (*Campaign) AggregateType() string { return "Campaign" }

// Create starts a campaign for owner (an accounting account ID) with a positive goal.
func Create(ctx context.Context, store *uow.Store, id CampaignID, owner, title string, goal money.Money) error {
	if !goal.IsPositive() {
		return fmt.Errorf("%w: goal %s", ErrInvalidAmount, goal)
	}
	err := uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot(id)
		if err != nil {
			return err
		}
		c := &Campaign{Root: root, Owner: owner, Title: title, Goal: goal, Raised: money.Zero(goal.Currency()),
			Donations: map[string]*Donation{}}
		c.Record(CampaignCreated{Campaign: id, Owner: owner, Title: title, Goal: goal})
		return uow.Repo[Campaign, CampaignID](u).Add(ctx, c)
	}, nil)
	if errors.Is(err, uow.ErrDuplicate) {
		return fmt.Errorf("%w: %s", ErrCampaignExists, id)
	}
	return err
}

// Donate pledges amount from donor's account to the campaign under the donor's idempotency key:
// a retry of the same pledge does nothing; the key reused for another amount or donor is
// ErrDuplicateKey. Accounting then moves the money and the campaign records the outcome.
func Donate(ctx context.Context, store *uow.Store, id CampaignID, key, donor string, amount money.Money) error {
	return uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		c, err := uow.Repo[Campaign, CampaignID](u).Get(ctx, id)
		if errors.Is(err, uow.ErrNotFound) {
			return fmt.Errorf("%w: %s", ErrUnknownCampaign, id)
		} else if err != nil {
			return err
		}
		return c.pledge(key, donor, amount)
	}, nil)
}

func (c *Campaign) pledge(key, donor string, amount money.Money) error {
	if d, ok := c.Donations[key]; ok {
		if d.Donor != donor || !d.Amount.Equal(amount) {
			return fmt.Errorf("%w: %s", ErrDuplicateKey, key)
		}
		return nil
	}
	switch {
	case key == "":
		return fmt.Errorf("%w: no idempotency key", ErrDuplicateKey)
	case donor == c.Owner:
		return fmt.Errorf("%w: %s", ErrOwnCampaign, c.ID())
	case !amount.IsPositive():
		return fmt.Errorf("%w: %s", ErrInvalidAmount, amount)
	case amount.Currency() != c.Goal.Currency():
		return fmt.Errorf("%w: %s to a campaign in %s", ErrCurrencyMismatch, amount, c.Goal.Currency().Code())
	}
	c.Donations[key] = &Donation{Donor: donor, Amount: amount, Status: Pledged}
	c.Record(DonationPledged{Campaign: c.ID(), Donation: key, Donor: donor, Owner: c.Owner, Amount: amount})
	return nil
}

// settle records accounting's answer for a pledged donation, once: a donation already settled
// is left as it is.
func (c *Campaign) settle(key string, ok bool, reason string) {
	d := c.Donations[key]
	if d == nil || d.Status != Pledged {
		return
	}
	if !ok {
		d.Status, d.Reason = Failed, reason
		c.Record(DonationFailed{Campaign: c.ID(), Donation: key, Donor: d.Donor, Amount: d.Amount, Reason: reason})
		return
	}
	raised, err := c.Raised.Add(d.Amount)
	if err != nil {
		return // currencies were checked when pledged
	}
	d.Status, c.Raised = Confirmed, raised
	c.Record(DonationConfirmed{Campaign: c.ID(), Donation: key, Donor: d.Donor, Owner: c.Owner, Amount: d.Amount,
		Raised: raised, Version: c.Version() + 1})
}

// Events the context publishes on Topic.
type (
	// CampaignCreated: a new campaign, owned by the account Owner.
	CampaignCreated struct {
		Campaign CampaignID  `json:"campaign"`
		Owner    string      `json:"owner"`
		Title    string      `json:"title"`
		Goal     money.Money `json:"goal"`
	}
	// DonationPledged asks accounting (which reacts to it) to move the money.
	DonationPledged struct {
		Campaign CampaignID  `json:"campaign"`
		Donation string      `json:"donation"`
		Donor    string      `json:"donor"`
		Owner    string      `json:"owner"`
		Amount   money.Money `json:"amount"`
	}
	// DonationConfirmed: the money moved; Raised is the campaign's new total, Version orders
	// the totals of one campaign.
	DonationConfirmed struct {
		Campaign CampaignID  `json:"campaign"`
		Donation string      `json:"donation"`
		Donor    string      `json:"donor"`
		Owner    string      `json:"owner"`
		Amount   money.Money `json:"amount"`
		Raised   money.Money `json:"raised"`
		Version  int64       `json:"version"`
	}
	// DonationFailed: accounting refused the transfer; Reason says why, for the donor.
	DonationFailed struct {
		Campaign CampaignID  `json:"campaign"`
		Donation string      `json:"donation"`
		Donor    string      `json:"donor"`
		Amount   money.Money `json:"amount"`
		Reason   string      `json:"reason"`
	}
)

// EventName implements aggregate.Event.
func (CampaignCreated) EventName() string { return "campaigns.CampaignCreated" }

// EventName implements aggregate.Event.
func (DonationPledged) EventName() string { return "campaigns.DonationPledged" }

// EventName implements aggregate.Event.
func (DonationConfirmed) EventName() string { return "campaigns.DonationConfirmed" }

// EventName implements aggregate.Event.
func (DonationFailed) EventName() string { return "campaigns.DonationFailed" }

// Consumer is the context's inbox name.
const Consumer = "campaigns"

// answer is the part of accounting's answers (its OperationApplied and OperationRejected on
// topic "accounting") that this context reads: one payload, two names, so two types.
type answer struct {
	Ref struct {
		Campaign CampaignID `json:"campaign"`
		Donation string     `json:"donation"`
	} `json:"ref"`
	Reason string `json:"reason"`
}

type (
	applied  answer
	rejected answer
)

// EventName implements aggregate.Event: the name accounting gives it.
func (applied) EventName() string { return "accounting.OperationApplied" }

// EventName implements aggregate.Event: the name accounting gives it.
func (rejected) EventName() string { return "accounting.OperationRejected" }

// settle is the command that records accounting's answer a for a donation, ok or not; nil for
// an answer about something else than a donation.
func settle(a answer, ok bool) uow.Command {
	if a.Ref.Donation == "" {
		return nil // not a donation's
	}
	return settleCmd{campaign: a.Ref.Campaign, donation: a.Ref.Donation, reason: a.Reason, ok: ok}
}

// settleCmd records accounting's answer for a donation.
type settleCmd struct {
	campaign         CampaignID
	donation, reason string
	ok               bool
}

// Handle implements uow.Command.
func (s settleCmd) Handle(ctx context.Context, u *uow.Unit) error {
	c, err := uow.Repo[Campaign, CampaignID](u).Get(ctx, s.campaign)
	if err != nil {
		return err // a campaign accounting names exists: not finding it is a technical error
	}
	c.settle(s.donation, s.ok, s.reason)
	return nil
}

// Handler returns the context's consumer of accounting's events: subscribe it to topic
// "accounting". Accounting's other events are not this context's business. An error is
// saga.Translate's, from a translation this package got wrong.
func Handler(store *uow.Store) (outbox.Handler, error) {
	translate, err := saga.Translate(outbox.SkipUnknown,
		saga.On(func(a applied, _ uow.Message) (uow.Command, error) { return settle(answer(a), true), nil }),
		saga.On(func(a rejected, _ uow.Message) (uow.Command, error) { return settle(answer(a), false), nil }),
	)
	if err != nil {
		return nil, err
	}
	return saga.React(store, Consumer, translate, nil), nil
}

// NewStore returns the context's store on d (a driver of its own), publishing its events on Topic,
// timed by clock (nil: the system clock).
func NewStore(d driver.Driver, clock uow.Clock) *uow.Store {
	return uow.NewStore(d, &uow.Options{Clock: clock, Topic: func(aggregate.Envelope) string { return Topic }})
}

// Campaigns returns every campaign.
func Campaigns(ctx context.Context, store *uow.Store) ([]*Campaign, error) {
	u, err := store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = u.Rollback(context.WithoutCancel(ctx)) }()
	return uow.Repo[Campaign, CampaignID](u).Find(ctx)
}

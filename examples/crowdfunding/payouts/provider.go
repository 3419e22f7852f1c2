package payouts

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dddkit/ddd/money"
)

// Provider is the external payment provider's port (seed 002's Lightning node): it pays a
// withdrawal to its destination. Pay and Cancel are idempotent per key.
type Provider interface {
	// Pay pays amount to dest once per key; paying a key again returns the first result. An
	// error wrapping ErrDeclined is final (nothing was paid); any other error (a timeout) leaves
	// the outcome unknown until Pay succeeds or Cancel answers.
	Pay(ctx context.Context, key, dest string, amount money.Money) error
	// Cancel makes sure key will never be paid and reports whether it already was: true means
	// the payment went through (keep the money out), false that it never will.
	Cancel(ctx context.Context, key string) (paid bool, err error)
}

// ErrDeclined is a payment the provider refused: nothing was paid.
var ErrDeclined = errors.New("payouts: payment declined")

// Behaviour is what FakeProvider does with a payment.
type Behaviour int

// The behaviours.
const (
	// Pays at once.
	Pays Behaviour = iota
	// Declines: ErrDeclined, nothing paid.
	Declines
	// Hangs: waits for the caller's context to end, pays nothing.
	Hangs
	// PaysSilently pays but the answer is lost: the caller's context ends first.
	PaysSilently
)

// FakeProvider is an in-memory Provider for tests and the demo: it pays, declines, hangs or
// loses its answer, per key or by default, and keeps what it paid. It is safe for concurrent use.
type FakeProvider struct {
	mu        sync.Mutex
	Default   Behaviour
	byKey     map[string]Behaviour
	paid      map[string]money.Money
	cancelled map[string]bool
	calls     int
}

// NewFakeProvider returns a provider that pays.
func NewFakeProvider() *FakeProvider {
	return &FakeProvider{byKey: map[string]Behaviour{}, paid: map[string]money.Money{}, cancelled: map[string]bool{}}
}

// Set makes the payments of key behave as b.
func (p *FakeProvider) Set(key string, b Behaviour) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byKey[key] = b
}

// SetDefault makes the payments of keys without their own behaviour behave as b.
func (p *FakeProvider) SetDefault(b Behaviour) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Default = b
}

// Pay implements Provider.
func (p *FakeProvider) Pay(ctx context.Context, key, dest string, amount money.Money) error {
	p.mu.Lock()
	p.calls++
	if _, ok := p.paid[key]; ok {
		p.mu.Unlock()
		return nil
	}
	if p.cancelled[key] {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s was cancelled", ErrDeclined, key)
	}
	b, ok := p.byKey[key]
	if !ok {
		b = p.Default
	}
	switch b {
	case Declines:
		p.mu.Unlock()
		return fmt.Errorf("%w: %s to %s", ErrDeclined, amount, dest)
	case Pays, PaysSilently:
		p.paid[key] = amount
	}
	p.mu.Unlock()
	if b == Hangs || b == PaysSilently {
		<-ctx.Done()
		return fmt.Errorf("payouts: provider: %w", ctx.Err())
	}
	return nil
}

// Cancel implements Provider.
func (p *FakeProvider) Cancel(_ context.Context, key string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.paid[key]; ok {
		return true, nil
	}
	p.cancelled[key] = true
	return false, nil
}

// Paid returns what the provider paid, by key.
func (p *FakeProvider) Paid() map[string]money.Money {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]money.Money, len(p.paid))
	for k, v := range p.paid {
		out[k] = v
	}
	return out
}

// Calls returns how many times Pay was called.
func (p *FakeProvider) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

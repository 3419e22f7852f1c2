package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// The router's test events: value and pointer receivers, used as values and as pointers.
type (
	placed struct {
		Order string `json:"order"`
		Units int    `json:"units"`
	}
	cancelled struct {
		Order  string `json:"order"`
		Reason string `json:"reason"`
	}
	// refunded names itself with a pointer receiver: routed as *refunded.
	refunded struct {
		Order  string `json:"order"`
		Amount int    `json:"amount"`
	}
	// shipped has a value receiver but is routed as *shipped.
	shipped struct {
		Order string `json:"order"`
	}
)

func (placed) EventName() string    { return "shop.Placed" }
func (cancelled) EventName() string { return "shop.Cancelled" }
func (*refunded) EventName() string { return "shop.Refunded" }
func (shipped) EventName() string   { return "shop.Shipped" }

// Event types that break the rule that EventName is a constant of the type.
type (
	// dynamic's name depends on a field: its zero value's name is "shop.".
	dynamic struct {
		Kind string `json:"kind"`
	}
	// nameless's zero value has no name.
	nameless struct {
		Kind string `json:"kind"`
	}
	// fragile's EventName panics on the zero value.
	fragile struct {
		Parts []string `json:"parts"`
	}
	// impostor claims placed's name.
	impostor struct{}
)

func (d dynamic) EventName() string  { return "shop." + d.Kind }
func (n nameless) EventName() string { return n.Kind }
func (f fragile) EventName() string  { return f.Parts[0] }
func (impostor) EventName() string   { return "shop.Placed" }

func message(t require.TestingT, id, name string, payload any) uow.Message {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	b, err := json.Marshal(payload)
	require.NoError(t, err)
	return uow.Message{ID: id, Topic: "shop", Key: "k", Name: name, Payload: b}
}

// got records what the handlers of a router received.
type got struct {
	calls []string
	last  any
}

func routes(g *got) []outbox.Route {
	return []outbox.Route{
		outbox.On(func(_ context.Context, _ *uow.Unit, e placed, m uow.Message) error {
			g.calls, g.last = append(g.calls, "placed "+m.ID), e
			return nil
		}),
		outbox.On(func(_ context.Context, _ *uow.Unit, e cancelled, m uow.Message) error {
			g.calls, g.last = append(g.calls, "cancelled "+m.ID), e
			return nil
		}),
		outbox.On(func(_ context.Context, _ *uow.Unit, e *refunded, m uow.Message) error {
			g.calls, g.last = append(g.calls, "refunded "+m.ID), *e
			return nil
		}),
		outbox.On(func(_ context.Context, _ *uow.Unit, e *shipped, m uow.Message) error {
			g.calls, g.last = append(g.calls, "shipped "+m.ID), *e
			return nil
		}),
	}
}

func TestRouterDispatchesByName(t *testing.T) {
	ctx := context.Background()
	var g got
	r, err := outbox.NewRouter(outbox.RejectUnknown, append(routes(&g), outbox.Skip("shop.Viewed", "shop.Liked"))...)
	require.NoError(t, err)

	require.NoError(t, r.Handle(ctx, nil, message(t, "m1", "shop.Placed", placed{Order: "o1", Units: 2})))
	require.Equal(t, placed{Order: "o1", Units: 2}, g.last)
	require.NoError(t, r.Handle(ctx, nil, message(t, "m2", "shop.Refunded", refunded{Order: "o1", Amount: 5})))
	require.Equal(t, refunded{Order: "o1", Amount: 5}, g.last, "a pointer receiver: routed as a pointer")
	require.NoError(t, r.Handle(ctx, nil, message(t, "m3", "shop.Shipped", shipped{Order: "o1"})))
	require.Equal(t, shipped{Order: "o1"}, g.last, "a value receiver routed as a pointer")
	require.NoError(t, r.Handle(ctx, nil, message(t, "m4", "shop.Viewed", nil)), "skipped on purpose")
	require.Equal(t, []string{"placed m1", "refunded m2", "shipped m3"}, g.calls)

	err = r.Handle(ctx, nil, message(t, "m5", "shop.Placd", placed{}))
	require.ErrorIs(t, err, outbox.ErrNoRoute)
	require.EqualError(t, err, `outbox: no route: message m5 "shop.Placd" on topic "shop"`)

	err = r.Handle(ctx, nil, uow.Message{ID: "m6", Name: "shop.Placed", Payload: []byte(`{"units":"two"}`)})
	require.ErrorIs(t, err, outbox.ErrInvalid, "a payload that does not decode")
	require.ErrorContains(t, err, "m6")
	require.Len(t, g.calls, 3, "no handler ran for the failures")

	failing := errors.New("handler failed")
	r, err = outbox.NewRouter(outbox.SkipUnknown, outbox.On(func(context.Context, *uow.Unit, cancelled, uow.Message) error {
		return failing
	}))
	require.NoError(t, err)
	require.NoError(t, r.Handle(ctx, nil, message(t, "m7", "shop.Placed", placed{})), "SkipUnknown")
	require.ErrorIs(t, r.Handle(ctx, nil, message(t, "m8", "shop.Cancelled", cancelled{})), failing,
		"the handler's error as it is")
}

// TestNewRouterReportsEveryProblem: one error lists every mistake in the routes.
func TestNewRouterReportsEveryProblem(t *testing.T) {
	nop := func(context.Context, *uow.Unit, placed, uow.Message) error { return nil }
	_, err := outbox.NewRouter(0,
		outbox.On(nop),
		outbox.On(func(context.Context, *uow.Unit, impostor, uow.Message) error { return nil }),
		outbox.Skip("shop.Placed"),
		outbox.Skip(),
		outbox.Skip("x", ""),
		outbox.On[placed](nil),
		outbox.On(func(context.Context, *uow.Unit, nameless, uow.Message) error { return nil }),
		outbox.On(func(context.Context, *uow.Unit, fragile, uow.Message) error { return nil }),
		outbox.On(func(context.Context, *uow.Unit, aggregate.Event, uow.Message) error { return nil }),
		outbox.Route{},
	)
	require.ErrorIs(t, err, outbox.ErrInvalid)
	require.ErrorIs(t, err, aggregate.ErrInvalidEvent)
	for _, want := range []string{
		"choose RejectUnknown or SkipUnknown, not 0",
		`route 1: uow: invalid argument: a second route for "shop.Placed"`,
		`route 2: uow: invalid argument: a second route for "shop.Placed"`,
		"route 3: uow: invalid argument: Skip needs non-empty names",
		"route 4: uow: invalid argument: Skip needs non-empty names",
		"route 5: uow: invalid argument: On[outbox_test.placed]: nil handler",
		"route 6: uow: invalid argument: On[outbox_test.nameless]: aggregate: invalid event: outbox_test.nameless: EventName of the zero value is empty",
		"route 7: uow: invalid argument: On[outbox_test.fragile]: aggregate: invalid event: outbox_test.fragile: EventName panics on the zero value",
		"route 8: uow: invalid argument: On[aggregate.Event]: aggregate: invalid event: aggregate.Event is an interface",
		"route 9: uow: invalid argument: the zero Route",
	} {
		require.ErrorContains(t, err, want)
	}
}

func TestDecode(t *testing.T) {
	e, err := outbox.Decode[placed](message(t, "m1", "shop.Placed", placed{Order: "o", Units: 1}))
	require.NoError(t, err)
	require.Equal(t, placed{Order: "o", Units: 1}, e)
	p, err := outbox.Decode[*refunded](message(t, "m2", "shop.Refunded", refunded{Order: "o"}))
	require.NoError(t, err)
	require.Equal(t, &refunded{Order: "o"}, p)

	_, err = outbox.Decode[placed](message(t, "m3", "shop.Cancelled", cancelled{}))
	require.ErrorIs(t, err, outbox.ErrInvalid)
	require.ErrorContains(t, err, `message m3 is a "shop.Cancelled", not a outbox_test.placed ("shop.Placed")`)
	_, err = outbox.Decode[*refunded](uow.Message{ID: "m4", Name: "shop.Refunded", Payload: []byte(`null`)})
	require.ErrorIs(t, err, outbox.ErrInvalid)
	require.ErrorContains(t, err, "null payload")
	_, err = outbox.Decode[placed](uow.Message{ID: "m5", Name: "shop.Placed", Payload: []byte(`[`)})
	require.ErrorIs(t, err, outbox.ErrInvalid)

	// A name computed from fields: the zero value names the route, and a decoded event that
	// names itself otherwise is refused rather than handled as what it is not.
	_, err = outbox.Decode[dynamic](message(t, "m6", "shop.", dynamic{Kind: "Placed"}))
	require.ErrorIs(t, err, outbox.ErrInvalid)
	require.ErrorContains(t, err, `decodes into a outbox_test.dynamic named "shop.Placed", not "shop.": EventName must be a constant of the type`)
	_, err = outbox.Decode[nameless](message(t, "m7", "", nameless{}))
	require.ErrorIs(t, err, aggregate.ErrInvalidEvent)
}

// TestRouterIdempotent: a routed message runs once in a unit with its inbox mark; a skipped or
// unknown one opens no unit and leaves no mark.
func TestRouterIdempotent(t *testing.T) {
	ctx := context.Background()
	d := memuow.New(nil)
	store := uow.NewStore(d, nil)
	var units []string
	r, err := outbox.NewRouter(outbox.RejectUnknown, outbox.Skip("shop.Viewed"),
		outbox.On(func(_ context.Context, u *uow.Unit, e placed, m uow.Message) error {
			require.NotNil(t, u)
			units = append(units, e.Order)
			return nil
		}))
	require.NoError(t, err)
	h := r.Idempotent(store, "billing", nil)

	m := message(t, "m1", "shop.Placed", placed{Order: "o1"})
	require.NoError(t, h(ctx, m))
	require.NoError(t, h(ctx, m), "redelivered")
	require.Equal(t, []string{"o1"}, units)
	require.Equal(t, 1, d.InboxLen())

	require.NoError(t, h(ctx, message(t, "m2", "shop.Viewed", nil)))
	require.ErrorIs(t, h(ctx, message(t, "m3", "shop.Unknown", nil)), outbox.ErrNoRoute)
	require.NoError(t, h(ctx, uow.Message{Name: "shop.Viewed"}), "skipped before the ID is needed")
	require.Equal(t, 1, d.InboxLen(), "no mark for what no handler took")
	require.ErrorIs(t, h(ctx, uow.Message{Name: "shop.Placed"}), outbox.ErrInvalid, "a routed message needs an ID")
}

// TestRouterProperty: whatever routes a router has, each message reaches exactly the handler of
// its name with the payload it was emitted with; a name without a handler reaches none and is
// skipped or rejected as the router was told.
func TestRouterProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var g got
		all := routes(&g)
		names := []string{"shop.Placed", "shop.Cancelled", "shop.Refunded", "shop.Shipped"}
		registered := map[string]bool{}
		var chosen []outbox.Route
		for i, rt2 := range all {
			if rapid.Bool().Draw(rt, "register "+names[i]) {
				chosen = append(chosen, rt2)
				registered[names[i]] = true
			}
		}
		unknown := rapid.SampledFrom([]outbox.Unknown{outbox.RejectUnknown, outbox.SkipUnknown}).Draw(rt, "unknown")
		r, err := outbox.NewRouter(unknown, chosen...)
		require.NoError(rt, err)

		for i := range rapid.IntRange(1, 20).Draw(rt, "messages") {
			id := fmt.Sprint("m", i)
			order := rapid.StringMatching(`[a-z0-9]{0,6}`).Draw(rt, "order")
			n := rapid.IntRange(-5, 5).Draw(rt, "n")
			events := []any{placed{Order: order, Units: n}, cancelled{Order: order, Reason: fmt.Sprint(n)},
				refunded{Order: order, Amount: n}, shipped{Order: order}}
			k := rapid.IntRange(0, len(events)).Draw(rt, "kind") // len(events): a name nobody knows
			name, want := "shop.Other", any(nil)
			if k < len(events) {
				name, want = names[k], events[k]
			}
			before := len(g.calls)
			err := r.Handle(context.Background(), nil, message(rt, id, name, want))
			switch {
			case registered[name]:
				require.NoError(rt, err)
				require.Len(rt, g.calls, before+1, "one handler ran")
				require.Equal(rt, fmt.Sprintf("%s %s", map[string]string{"shop.Placed": "placed", "shop.Cancelled": "cancelled",
					"shop.Refunded": "refunded", "shop.Shipped": "shipped"}[name], id), g.calls[before], "the handler of its name")
				require.Equal(rt, want, g.last, "the payload emitted")
			case unknown == outbox.RejectUnknown:
				require.ErrorIs(rt, err, outbox.ErrNoRoute)
				require.Len(rt, g.calls, before)
			default:
				require.NoError(rt, err)
				require.Len(rt, g.calls, before)
			}
		}
	})
}

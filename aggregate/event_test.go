package aggregate_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/internal/rootaccess"
)

// Events that cannot become envelopes.
type unnamed struct{}

func (unnamed) EventName() string { return "" }

type withChan struct {
	C chan int `json:"c"`
}

func (withChan) EventName() string { return "test.WithChan" }

type badMarshaler struct{}

func (badMarshaler) EventName() string            { return "test.BadMarshaler" }
func (badMarshaler) MarshalJSON() ([]byte, error) { return nil, errors.New("cannot encode") }

// transferred has several field kinds, for round trips.
type transferred struct {
	From   accountID         `json:"from"`
	To     accountID         `json:"to"`
	Amount int64             `json:"amount"`
	Memo   string            `json:"memo,omitempty"`
	Tags   []string          `json:"tags"`
	Extra  map[string]string `json:"extra"`
}

func (transferred) EventName() string { return "test.Transferred" }

// typedAccount names its aggregate type other than its Go type.
type typedAccount struct {
	aggregate.Root[accountID]
}

func (*typedAccount) AggregateType() string { return "bank.Account" }

var fixedTime = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.FixedZone("CEST", 2*60*60))

func TestNewEnvelopeFillsEveryField(t *testing.T) {
	e := transferred{From: "a", To: "b", Amount: 250, Tags: []string{"x"}, Extra: map[string]string{"k": "v"}}
	md := aggregate.Metadata{CorrelationID: "corr-1", CausationID: "cause-1", OccurredAt: fixedTime}

	env, err := aggregate.NewEnvelope("bank.Account", "acc-1", 7, e, md)
	require.NoError(t, err)

	require.Regexp(t, canonicalV7, env.ID)
	require.Equal(t, "test.Transferred", env.Name)
	require.Equal(t, "bank.Account", env.AggregateType)
	require.Equal(t, "acc-1", env.AggregateID)
	require.Equal(t, int64(7), env.Version)
	require.True(t, fixedTime.Equal(env.OccurredAt), "same instant")
	require.Equal(t, time.UTC, env.OccurredAt.Location())
	require.Equal(t, fixedTime.UTC(), env.OccurredAt)
	require.Equal(t, "corr-1", env.CorrelationID)
	require.Equal(t, "cause-1", env.CausationID)

	want, err := json.Marshal(e)
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(env.Payload))
	require.JSONEq(t, `{"from":"a","to":"b","amount":250,"tags":["x"],"extra":{"k":"v"}}`, string(env.Payload))

	other, err := aggregate.NewEnvelope("bank.Account", "acc-1", 7, e, md)
	require.NoError(t, err)
	require.NotEqual(t, env.ID, other.ID, "every envelope gets a new message ID")
}

func TestNewEnvelopeZeroTimeIsNow(t *testing.T) {
	before := time.Now()
	env, err := aggregate.NewEnvelope("account", "acc-1", 1, deposited{5}, aggregate.Metadata{})
	after := time.Now()
	require.NoError(t, err)

	require.False(t, env.OccurredAt.IsZero())
	require.Equal(t, time.UTC, env.OccurredAt.Location())
	require.False(t, env.OccurredAt.Before(before.Truncate(time.Microsecond)), "%v before %v", env.OccurredAt, before)
	require.False(t, env.OccurredAt.After(after), "%v after %v", env.OccurredAt, after)
	require.Empty(t, env.CorrelationID)
	require.Empty(t, env.CausationID)
}

func TestNewEnvelopeRejectsInvalidEvents(t *testing.T) {
	tests := []struct {
		name  string
		event aggregate.Event
	}{
		{name: "nil event", event: nil},
		{name: "empty name", event: unnamed{}},
		{name: "chan field", event: withChan{C: make(chan int)}},
		{name: "failing MarshalJSON", event: badMarshaler{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := aggregate.NewEnvelope("account", "acc-1", 1, tc.event, aggregate.Metadata{})
			require.ErrorIs(t, err, aggregate.ErrInvalidEvent)
			require.Equal(t, aggregate.Envelope{}, env)
		})
	}
}

func TestSeal(t *testing.T) {
	tests := []struct {
		name        string
		version     int64 // the stored version; 0 is a new aggregate
		events      []aggregate.Event
		wantNames   []string
		wantPayload []string
	}{
		{
			name:        "new aggregate, one event",
			events:      []aggregate.Event{deposited{10}},
			wantNames:   []string{"test.Deposited"},
			wantPayload: []string{`{"amount":10}`},
		},
		{
			name:        "stored aggregate, events in order",
			version:     4,
			events:      []aggregate.Event{deposited{10}, withdrawn{3}, deposited{1}},
			wantNames:   []string{"test.Deposited", "test.Withdrawn", "test.Deposited"},
			wantPayload: []string{`{"amount":10}`, `{"amount":3}`, `{"amount":1}`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAccount(t, "acc-1")
			if tc.version > 0 {
				require.NoError(t, rootaccess.Restore(a, "acc-1", tc.version))
			}
			a.Record(tc.events...)
			md := aggregate.Metadata{CorrelationID: "corr", CausationID: "cause", OccurredAt: fixedTime}

			envs, err := aggregate.Seal(a, md)
			require.NoError(t, err)
			require.Len(t, envs, len(tc.events))

			ids := make(map[string]struct{})
			for i, env := range envs {
				require.Equal(t, tc.wantNames[i], env.Name)
				require.JSONEq(t, tc.wantPayload[i], string(env.Payload))
				require.Equal(t, tc.version+1, env.Version)
				require.Equal(t, "account", env.AggregateType)
				require.Equal(t, "acc-1", env.AggregateID)
				require.Equal(t, "corr", env.CorrelationID)
				require.Equal(t, "cause", env.CausationID)
				require.Equal(t, fixedTime.UTC(), env.OccurredAt)
				require.Regexp(t, canonicalV7, env.ID)
				ids[env.ID] = struct{}{}
			}
			require.Len(t, ids, len(envs), "distinct message IDs")
			require.Equal(t, tc.events, a.Recorded(), "Seal leaves the events in the aggregate")
			require.Equal(t, tc.version, a.Version(), "Seal does not change the version")
		})
	}
}

func TestSealNothingRecorded(t *testing.T) {
	a := newAccount(t, "acc-1")
	envs, err := aggregate.Seal(a, aggregate.Metadata{})
	require.NoError(t, err)
	require.Nil(t, envs)

	// Nor after a commit took the events.
	a.Record(deposited{1})
	require.NoError(t, rootaccess.Committed(a, 1))
	envs, err = aggregate.Seal(a, aggregate.Metadata{})
	require.NoError(t, err)
	require.Nil(t, envs)
}

func TestSealZeroTimeSharedByAllEvents(t *testing.T) {
	a := newAccount(t, "acc-1")
	a.Record(deposited{1}, deposited{2}, deposited{3})
	before := time.Now()
	envs, err := aggregate.Seal(a, aggregate.Metadata{})
	require.NoError(t, err)
	require.Len(t, envs, 3)
	for _, env := range envs {
		require.Equal(t, envs[0].OccurredAt, env.OccurredAt)
		require.Equal(t, time.UTC, env.OccurredAt.Location())
	}
	require.False(t, envs[0].OccurredAt.Before(before.Truncate(time.Microsecond)))
}

func TestSealUsesAggregateType(t *testing.T) {
	root, err := aggregate.NewRoot[accountID]("acc-2")
	require.NoError(t, err)
	a := &typedAccount{Root: root}
	a.Record(deposited{1})
	envs, err := aggregate.Seal(a, aggregate.Metadata{})
	require.NoError(t, err)
	require.Len(t, envs, 1)
	require.Equal(t, "bank.Account", envs[0].AggregateType)
}

func TestSealInvalidEvent(t *testing.T) {
	a := newAccount(t, "acc-1")
	a.Record(deposited{1}, withChan{}, deposited{2})
	envs, err := aggregate.Seal(a, aggregate.Metadata{})
	require.ErrorIs(t, err, aggregate.ErrInvalidEvent)
	require.Nil(t, envs)
	require.Len(t, a.Recorded(), 3, "events stay in the aggregate")
}

func TestEnvelopeJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		md       aggregate.Metadata
		wantKeys []string
	}{
		{
			name:     "with tracing IDs",
			md:       aggregate.Metadata{CorrelationID: "corr", CausationID: "cause", OccurredAt: fixedTime},
			wantKeys: []string{"id", "name", "aggregateType", "aggregateId", "version", "occurredAt", "correlationId", "causationId", "payload"},
		},
		{
			name:     "without tracing IDs",
			md:       aggregate.Metadata{OccurredAt: fixedTime},
			wantKeys: []string{"id", "name", "aggregateType", "aggregateId", "version", "occurredAt", "payload"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := transferred{From: "a", To: "b", Amount: 1, Memo: "rent", Tags: []string{"p", "q"}, Extra: map[string]string{}}
			env, err := aggregate.NewEnvelope("bank.Account", "acc-1", 3, e, tc.md)
			require.NoError(t, err)

			b, err := json.Marshal(env)
			require.NoError(t, err)

			var fields map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(b, &fields))
			keys := make([]string, 0, len(fields))
			for k := range fields {
				keys = append(keys, k)
			}
			require.ElementsMatch(t, tc.wantKeys, keys)
			require.JSONEq(t, string(env.Payload), string(fields["payload"]), "payload embedded as JSON, not as a string")

			var back aggregate.Envelope
			require.NoError(t, json.Unmarshal(b, &back))
			require.Equal(t, env, back)

			var decoded transferred
			require.NoError(t, back.Decode(&decoded))
			require.Equal(t, e, decoded)
		})
	}
}

func TestEnvelopeDecode(t *testing.T) {
	tests := []struct {
		name  string
		event aggregate.Event
		into  func() any
		deref func(any) any
	}{
		{
			name:  "deposited",
			event: deposited{42},
			into:  func() any { return new(deposited) },
			deref: func(v any) any { return *v.(*deposited) },
		},
		{
			name:  "transferred",
			event: transferred{From: "x", To: "y", Amount: -5, Tags: []string{}, Extra: map[string]string{"a": "b"}},
			into:  func() any { return new(transferred) },
			deref: func(v any) any { return *v.(*transferred) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, err := aggregate.NewEnvelope("account", "acc-1", 1, tc.event, aggregate.Metadata{OccurredAt: fixedTime})
			require.NoError(t, err)
			v := tc.into()
			require.NoError(t, env.Decode(v))
			require.Equal(t, tc.event, tc.deref(v))
		})
	}
}

func TestEnvelopeDecodeBadPayload(t *testing.T) {
	tests := []struct {
		name    string
		payload string
	}{
		{name: "not JSON", payload: `not json`},
		{name: "empty", payload: ``},
		{name: "wrong field type", payload: `{"amount":"ten"}`},
		{name: "array for object", payload: `[1,2]`},
		{name: "truncated", payload: `{"amount":1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := aggregate.Envelope{ID: "id-1", Name: "test.Deposited", Payload: json.RawMessage(tc.payload)}
			var d deposited
			require.ErrorIs(t, env.Decode(&d), aggregate.ErrInvalidEvent)
		})
	}
}

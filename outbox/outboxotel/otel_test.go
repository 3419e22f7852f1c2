package outboxotel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/outbox/outboxotel"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

var prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

type fixture struct {
	rec    *tracetest.SpanRecorder
	tracer trace.Tracer
	drv    *memuow.Driver
	store  *uow.Store
	bus    *outbox.Bus
	relay  *outbox.Relay
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	drv := memuow.New(nil)
	bus := &outbox.Bus{}
	return &fixture{
		rec:    rec,
		tracer: tp.Tracer("test"),
		drv:    drv,
		store:  uow.NewStore(drv, &uow.Options{Decorate: outboxotel.Decorate(prop)}),
		bus:    bus,
		relay:  outbox.NewRelay(drv, bus, &outbox.RelayOptions{ID: "relay"}),
	}
}

// commit emits one message in a unit of work run inside a "command" span, and returns the
// span's context.
func (f *fixture) commit(t *testing.T, ctx context.Context, m uow.Message) trace.SpanContext {
	t.Helper()
	ctx, span := f.tracer.Start(ctx, "command")
	defer span.End()
	require.NoError(t, uow.Do(ctx, f.store, func(ctx context.Context, u *uow.Unit) error {
		u.SetCausation("corr-1", "")
		return u.Emit(m)
	}, nil))
	return span.SpanContext()
}

func (f *fixture) span(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range f.rec.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %q", name)
	return found[0]
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value.String()
	}
	return out
}

func TestDecorateStoresCommitTraceContext(t *testing.T) {
	f := newFixture(t)
	member, err := baggage.NewMember("tenant", "acme")
	require.NoError(t, err)
	bag, err := baggage.New(member)
	require.NoError(t, err)
	ctx := baggage.ContextWithBaggage(context.Background(), bag)

	sc := f.commit(t, ctx, uow.Message{Topic: "payments", Key: "p-1", Name: "PaymentTaken", Headers: map[string]string{"x": "y"}})

	msgs := f.drv.Messages()
	require.Len(t, msgs, 1)
	h := msgs[0].Headers
	require.Equal(t, "y", h["x"], "existing headers are kept")
	require.Equal(t, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01", h["traceparent"])
	require.Equal(t, "tenant=acme", h["baggage"])
	require.Equal(t, "corr-1", h[uow.HeaderCorrelationID], "the unit's own headers are kept")

	// Extract restores the commit's span context, remote, and the baggage.
	got := outboxotel.Extract(context.Background(), msgs[0], prop)
	rsc := trace.SpanContextFromContext(got)
	require.True(t, rsc.IsRemote())
	require.Equal(t, sc.TraceID(), rsc.TraceID())
	require.Equal(t, sc.SpanID(), rsc.SpanID())
	require.Equal(t, "acme", baggage.FromContext(got).Member("tenant").Value())
}

func TestDecorateWithoutSpanLeavesHeaders(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    map[string]string
	}{
		{name: "nil headers stay nil", headers: nil, want: nil},
		{name: "headers unchanged", headers: map[string]string{"a": "b"}, want: map[string]string{"a": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := uow.Message{Headers: tt.headers}
			outboxotel.Decorate(prop)(context.Background(), &m)
			require.Equal(t, tt.want, m.Headers)
		})
	}
}

func TestDecorateNilHeadersGetTraceContext(t *testing.T) {
	f := newFixture(t)
	ctx, span := f.tracer.Start(context.Background(), "command")
	defer span.End()
	var m uow.Message
	outboxotel.Decorate(prop)(ctx, &m)
	require.Contains(t, m.Headers["traceparent"], span.SpanContext().TraceID().String())
}

func TestNilPropagatorUsesGlobal(t *testing.T) {
	old := otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTextMapPropagator(old) })
	f := newFixture(t)
	ctx, span := f.tracer.Start(context.Background(), "command")
	defer span.End()
	decorate := outboxotel.Decorate(nil)

	// The default global propagator is a no-op...
	m := uow.Message{Headers: map[string]string{}}
	decorate(ctx, &m)
	require.Empty(t, m.Headers)

	// ...and one set later is used from then on, by Decorate and Extract alike.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	decorate(ctx, &m)
	require.Contains(t, m.Headers, "traceparent")
	got := trace.SpanContextFromContext(outboxotel.Extract(context.Background(), m, nil))
	require.Equal(t, span.SpanContext().TraceID(), got.TraceID())
}

func TestHandlerContinuesCommitTrace(t *testing.T) {
	f := newFixture(t)
	var seen trace.SpanContext
	var seenBaggage string
	_, err := f.bus.Subscribe("payments", "ledger", outboxotel.Handler(func(ctx context.Context, m uow.Message) error {
		seen = trace.SpanContextFromContext(ctx)
		seenBaggage = baggage.FromContext(ctx).Member("tenant").Value()
		return nil
	}, f.tracer, prop))
	require.NoError(t, err)

	member, _ := baggage.NewMember("tenant", "acme")
	bag, _ := baggage.New(member)
	producer := f.commit(t, baggage.ContextWithBaggage(context.Background(), bag),
		uow.Message{Topic: "payments", Key: "p-1", Name: "PaymentTaken", Payload: []byte(`{}`)})
	msg := f.drv.Messages()[0]

	n, err := f.relay.Step(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)

	s := f.span(t, "payments process")
	require.Equal(t, trace.SpanKindConsumer, s.SpanKind())
	require.Equal(t, producer.TraceID(), s.SpanContext().TraceID(), "same trace as the commit")
	require.Equal(t, producer.TraceID(), s.Parent().TraceID())
	require.Equal(t, producer.SpanID(), s.Parent().SpanID(), "parent is the commit's span")
	require.True(t, s.Parent().IsRemote())
	require.Empty(t, s.Links(), "the relay delivered without a span")
	require.Equal(t, codes.Unset, s.Status().Code)

	a := attrs(s)
	require.Equal(t, "payments", a["messaging.destination.name"])
	require.Equal(t, msg.ID, a["messaging.message.id"])
	require.Equal(t, "process", a["messaging.operation.name"])
	require.Equal(t, "process", a["messaging.operation.type"])
	require.Equal(t, "corr-1", a["messaging.message.conversation_id"])
	require.Equal(t, "PaymentTaken", a[outboxotel.MessageNameKey])
	require.Equal(t, "p-1", a[outboxotel.MessageKeyKey])

	// The handler runs inside the consumer span, with the producer's baggage.
	require.Equal(t, s.SpanContext().SpanID(), seen.SpanID())
	require.Equal(t, "acme", seenBaggage)
}

func TestHandlerErrorMarksSpan(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("ledger closed")
	_, err := f.bus.Subscribe("payments", "ledger", outboxotel.Handler(func(context.Context, uow.Message) error {
		return boom
	}, f.tracer, prop))
	require.NoError(t, err)
	f.commit(t, context.Background(), uow.Message{Topic: "payments", Key: "p-1", Name: "PaymentTaken"})

	n, err := f.relay.Step(context.Background())
	require.NoError(t, err) // the relay releases the message for a retry
	require.Equal(t, 1, n)
	require.Len(t, f.drv.Messages(), 1, "the failed message stays in the outbox")

	s := f.span(t, "payments process")
	require.Equal(t, codes.Error, s.Status().Code)
	require.Equal(t, "ledger closed", s.Status().Description)
	require.Equal(t, "*errors.errorString", attrs(s)["error.type"])
	require.True(t, hasEvent(s, "exception"), "the error is recorded")

	// The error is returned unchanged.
	h := outboxotel.Handler(func(context.Context, uow.Message) error { return boom }, f.tracer, prop)
	require.ErrorIs(t, h(context.Background(), uow.Message{Topic: "t"}), boom)
}

func hasEvent(s sdktrace.ReadOnlySpan, name string) bool {
	for _, e := range s.Events() {
		if e.Name == name {
			return true
		}
	}
	return false
}

func TestHandlerWithoutTraceHeadersStartsRoot(t *testing.T) {
	f := newFixture(t)
	var seen trace.SpanContext
	h := outboxotel.Handler(func(ctx context.Context, m uow.Message) error {
		seen = trace.SpanContextFromContext(ctx)
		return nil
	}, f.tracer, prop)

	// Delivered by a caller with a span of its own: that span is a link, not the parent.
	ctx, delivery := f.tracer.Start(context.Background(), "delivery")
	require.NoError(t, h(ctx, uow.Message{ID: "m-1", Topic: "payments", Name: "PaymentTaken"}))
	delivery.End()
	// Delivered with no span at all.
	require.NoError(t, h(context.Background(), uow.Message{ID: "m-2", Topic: "refunds", Name: "Refunded", Headers: map[string]string{"x": "y"}}))

	linked := f.span(t, "payments process")
	require.False(t, linked.Parent().IsValid(), "a root span")
	require.NotEqual(t, delivery.SpanContext().TraceID(), linked.SpanContext().TraceID(), "a new trace")
	require.Len(t, linked.Links(), 1)
	require.Equal(t, delivery.SpanContext(), linked.Links()[0].SpanContext)
	require.Equal(t, "m-1", attrs(linked)["messaging.message.id"])

	bare := f.span(t, "refunds process")
	require.False(t, bare.Parent().IsValid(), "a root span")
	require.Empty(t, bare.Links())
	require.Equal(t, bare.SpanContext().SpanID(), seen.SpanID())
}

func TestHandlerChainsTraceThroughEmittedMessages(t *testing.T) {
	// A consumer that commits its own messages (through outbox.Idempotent, in a unit of work of
	// the decorated store) continues the trace: the next consumer's span is a child of its span.
	f := newFixture(t)
	_, err := f.bus.Subscribe("payments", "ledger", outboxotel.Handler(outbox.Idempotent(f.store, "ledger",
		func(ctx context.Context, u *uow.Unit, m uow.Message) error {
			return u.Emit(uow.Message{Topic: "ledger", Key: m.Key, Name: "Booked"})
		}, nil), f.tracer, prop))
	require.NoError(t, err)
	_, err = f.bus.Subscribe("ledger", "report", outboxotel.Handler(func(context.Context, uow.Message) error { return nil }, f.tracer, prop))
	require.NoError(t, err)

	producer := f.commit(t, context.Background(), uow.Message{Topic: "payments", Key: "p-1", Name: "PaymentTaken"})
	for range 2 {
		_, err := f.relay.Step(context.Background())
		require.NoError(t, err)
	}
	require.Empty(t, f.drv.Messages())

	first, second := f.span(t, "payments process"), f.span(t, "ledger process")
	require.Equal(t, producer.TraceID(), second.SpanContext().TraceID())
	require.Equal(t, first.SpanContext().SpanID(), second.Parent().SpanID())
	require.Equal(t, "Booked", attrs(second)[outboxotel.MessageNameKey])
}

func TestNilTracerUsesGlobalProvider(t *testing.T) {
	old := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(old) })
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))

	h := outboxotel.Handler(func(context.Context, uow.Message) error { return nil }, nil, prop)
	require.NoError(t, h(context.Background(), uow.Message{ID: "m", Topic: "t"}))
	spans := rec.Ended()
	require.Len(t, spans, 1)
	require.Equal(t, outboxotel.ScopeName, spans[0].InstrumentationScope().Name)
}

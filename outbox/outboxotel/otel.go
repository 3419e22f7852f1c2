// Package outboxotel carries OpenTelemetry trace context through the outbox: [Decorate] stores
// the context of the commit (traceparent, tracestate and, with a baggage propagator, baggage) in
// the headers of every message a unit of work writes, and [Handler] restores it when the message
// is consumed, so the consumer's span continues the trace of the command that committed the
// message, however long the message waited and whichever relay and broker carried it.
//
// Wire it on both sides:
//
//	store := uow.NewStore(driver, &uow.Options{Decorate: outboxotel.Decorate(nil)})
//	bus.Subscribe("payments", "ledger", outboxotel.Handler(handler, nil, nil))
//
// A nil propagator means the global one (otel.GetTextMapPropagator), which is a no-op until the
// application sets one; a nil tracer means the global tracer provider's. The headers are plain
// strings, so they survive every store and publisher of package outbox unchanged.
package outboxotel

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// ScopeName is the instrumentation scope of the tracer [Handler] uses when given none.
const ScopeName = "github.com/dddkit/ddd/outbox/outboxotel"

// Attribute keys [Handler] sets on consumer spans beside the messaging semantic conventions:
// the message's name (what consumers dispatch on) and its ordering key.
const (
	MessageNameKey = attribute.Key("ddd.message.name")
	MessageKeyKey  = attribute.Key("ddd.message.key")
)

// Decorate returns a function for uow.Options.Decorate that injects the trace context of the
// commit's ctx into each message's Headers through prop (nil means the global propagator,
// resolved at every call, so setting it later takes effect). A ctx without a span or baggage
// leaves the headers as they are. The returned function is safe for concurrent use.
func Decorate(prop propagation.TextMapPropagator) func(ctx context.Context, m *uow.Message) {
	return func(ctx context.Context, m *uow.Message) {
		p := propagator(prop)
		if m.Headers != nil {
			p.Inject(ctx, propagation.MapCarrier(m.Headers))
			return
		}
		h := propagation.MapCarrier{}
		p.Inject(ctx, h)
		if len(h) > 0 {
			m.Headers = h
		}
	}
}

// Extract returns ctx with the trace context (and baggage, if prop carries it) stored in m's
// headers, read through prop (nil means the global propagator). The span context it restores
// is remote: start a span from the returned ctx to continue the producer's trace. When m has no
// trace headers, ctx is returned with its own span, if any; [Handler] instead starts a new root.
func Extract(ctx context.Context, m uow.Message, prop propagation.TextMapPropagator) context.Context {
	return propagator(prop).Extract(ctx, propagation.MapCarrier(m.Headers))
}

// Handler wraps a consumer's handler h: for each message it restores the trace context from
// the headers and runs h inside a consumer span named "<topic> process", a child of the span
// that committed the message. A message without trace headers starts a new root span; the span
// of the context the message is delivered with (a relay's, a broker client's) is not its parent
// but, when there is one, a link. The span carries the messaging attributes (operation
// "process", destination = topic, message ID, conversation ID = the correlation header) and
// [MessageNameKey] and [MessageKeyKey]. An error of h is recorded on the span, whose status
// becomes Error, and returned unchanged. A nil tracer means the global provider's tracer named
// [ScopeName]; a nil prop the global propagator.
//
// Wrap the outermost handler (around [outbox.Idempotent], say) so the span covers the whole
// handling, and messages the handler's unit of work emits, decorated by [Decorate], continue
// the same trace.
func Handler(h outbox.Handler, tracer trace.Tracer, prop propagation.TextMapPropagator) outbox.Handler {
	return func(ctx context.Context, m uow.Message) error {
		tr := tracer
		if tr == nil {
			tr = otel.GetTracerProvider().Tracer(ScopeName)
		}
		delivery := trace.SpanContextFromContext(ctx)
		// Mask the delivering context's span, so that only the message's headers give a parent.
		ctx = Extract(trace.ContextWithSpanContext(ctx, trace.SpanContext{}), m, prop)

		attrs := []attribute.KeyValue{
			semconv.MessagingOperationName("process"),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingDestinationName(m.Topic),
			semconv.MessagingMessageID(m.ID),
			MessageNameKey.String(m.Name),
		}
		if m.Key != "" {
			attrs = append(attrs, MessageKeyKey.String(m.Key))
		}
		if c := m.Headers[uow.HeaderCorrelationID]; c != "" {
			attrs = append(attrs, semconv.MessagingMessageConversationID(c))
		}
		opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
		if !trace.SpanContextFromContext(ctx).IsValid() {
			opts = append(opts, trace.WithNewRoot())
		}
		if delivery.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: delivery}))
		}
		ctx, span := tr.Start(ctx, fmt.Sprintf("%s process", m.Topic), opts...)
		defer span.End()

		err := h(ctx, m)
		if err != nil {
			span.RecordError(err)
			span.SetAttributes(semconv.ErrorType(err))
			span.SetStatus(codes.Error, err.Error())
		}
		return err
	}
}

func propagator(p propagation.TextMapPropagator) propagation.TextMapPropagator {
	if p == nil {
		return otel.GetTextMapPropagator()
	}
	return p
}

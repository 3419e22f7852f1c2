package outboxotel_test

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/outbox/outboxotel"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// Example: a command commits a message inside its span; the relay publishes it to a bus whose
// consumer, wrapped by Handler, continues the command's trace.
func Example() {
	ctx := context.Background()
	rec := tracetest.NewSpanRecorder()
	tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("example")
	prop := propagation.TraceContext{}

	drv := memuow.New(nil)
	store := uow.NewStore(drv, &uow.Options{Decorate: outboxotel.Decorate(prop)})
	var bus outbox.Bus
	_, _ = bus.Subscribe("greetings", "printer", outboxotel.Handler(func(ctx context.Context, m uow.Message) error {
		fmt.Println("handled", m.Name, "in a span:", trace.SpanContextFromContext(ctx).IsValid())
		return nil
	}, tracer, prop))

	cmdCtx, cmd := tracer.Start(ctx, "greet")
	_ = uow.Do(cmdCtx, store, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "greetings", Key: "world", Name: "Hello"})
	}, nil)
	cmd.End()
	fmt.Println("traceparent stored:", drv.Messages()[0].Headers["traceparent"] != "")

	_, _ = outbox.NewRelay(drv, &bus, nil).Step(ctx)
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindConsumer {
			fmt.Println(s.Name(), "same trace:", s.SpanContext().TraceID() == cmd.SpanContext().TraceID(),
				"child of the command:", s.Parent().SpanID() == cmd.SpanContext().SpanID())
		}
	}
	// Output:
	// traceparent stored: true
	// handled Hello in a span: true
	// greetings process same trace: true child of the command: true
}

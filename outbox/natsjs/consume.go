package natsjs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
)

// ConsumeOptions tune [Consume]. Nil or zero fields mean the defaults.
type ConsumeOptions struct {
	// MaxDeliveries is the delivery at which a message whose handler still fails is
	// terminated (Term: the server never delivers it again); 0 means 10. The consumer's own
	// MaxDeliver, if set, must be larger, or the server gives up on the message first.
	MaxDeliveries int
	// MinBackoff and MaxBackoff bound the delay of a nak after a failure:
	// min(MaxBackoff, MinBackoff×2^(delivery-1)). 0 means 1s and 1m.
	MinBackoff, MaxBackoff time.Duration
	// HandlerTimeout bounds one handler call; 0 means 30s. The handler's context is not
	// cancelled when Consume's ctx is done (the message in hand is finished), only by this
	// timeout. Keep it below the consumer's AckWait (30s by default), or the server may
	// deliver the message again while its handler still runs.
	HandlerTimeout time.Duration
	// Buffer is how many messages are pulled ahead of the handler (PullMaxMessages); 0
	// means 100. They wait in memory within the consumer's AckWait, so keep
	// Buffer × handling time below it.
	Buffer int
	// OnTerm, if set, is called with a message that was terminated and the handler's last
	// error, after the Term: the place to record a dead letter.
	OnTerm func(ctx context.Context, m uow.Message, err error)
	// Logger receives Warn records for failed and terminated messages; nil means
	// slog.Default().
	Logger *slog.Logger
}

func (o *ConsumeOptions) withDefaults() ConsumeOptions {
	var r ConsumeOptions
	if o != nil {
		r = *o
	}
	if r.MaxDeliveries <= 0 {
		r.MaxDeliveries = 10
	}
	if r.MinBackoff <= 0 {
		r.MinBackoff = time.Second
	}
	if r.MaxBackoff <= 0 {
		r.MaxBackoff = time.Minute
	}
	if r.HandlerTimeout <= 0 {
		r.HandlerTimeout = 30 * time.Second
	}
	if r.Buffer <= 0 {
		r.Buffer = 100
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r
}

// Consume runs h on the messages of cons, a pull consumer with explicit acks (a durable one,
// usually), one message at a time in delivery order, until ctx is done. Each message is
// turned back into an [uow.Message] ([FromMsg]) and given to h, typically an
// [outbox.Idempotent] handler, which runs in a unit of work with the inbox mark, so a message
// delivered twice has one effect. Then:
//
//   - h returned nil: the message is acked (after h's unit committed);
//   - h failed and the message's delivery count is below MaxDeliveries: it is nak'd with a
//     delay (exponential backoff), and the server delivers it again after that delay,
//     possibly after later messages;
//   - h failed on delivery MaxDeliveries: it is terminated (a poison message never blocks
//     the consumer) and OnTerm is called.
//
// When ctx is done Consume finishes the message in hand (acks, naks or terminates it) and
// returns nil; the messages pulled ahead but not handled are left unacknowledged, so the
// server delivers them again after the consumer's AckWait (nak'ing them would not bring them
// back sooner: the server may send them to the stopped pull request until it expires). Any
// other end, such as a deleted consumer or a closed connection, returns an error wrapping the
// jetstream error. A nil cons or h is an error wrapping [ErrInvalid]. Run several Consume
// calls on one consumer (in one process or many) to handle messages in parallel.
func Consume(ctx context.Context, cons jetstream.Consumer, h outbox.Handler, opts *ConsumeOptions) error {
	if cons == nil || h == nil {
		return fmt.Errorf("%w: Consume needs a consumer and a handler", ErrInvalid)
	}
	o := opts.withDefaults()
	it, err := cons.Messages(jetstream.PullMaxMessages(o.Buffer))
	if err != nil {
		return fmt.Errorf("natsjs: consume: %w", err)
	}
	defer it.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("natsjs: consume: %w", err)
		}
		handle(ctx, msg, h, &o)
	}
}

// handle runs h on one message and acks, naks or terminates it.
func handle(ctx context.Context, msg jetstream.Msg, h outbox.Handler, o *ConsumeOptions) {
	m := FromMsg(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.HandlerTimeout)
	err := h(hctx, m)
	cancel()
	if err == nil {
		if err := msg.Ack(); err != nil {
			o.Logger.WarnContext(ctx, "natsjs: ack failed", slog.String("id", m.ID), slog.String("error", err.Error()))
		}
		return
	}
	delivery := 1
	if md, merr := msg.Metadata(); merr == nil {
		delivery = int(md.NumDelivered)
	}
	attrs := []any{slog.String("id", m.ID), slog.String("name", m.Name), slog.String("subject", msg.Subject()),
		slog.Int("delivery", delivery), slog.String("error", err.Error())}
	if delivery >= o.MaxDeliveries {
		o.Logger.WarnContext(ctx, "natsjs: message terminated", attrs...)
		// Term, not TermWithReason: servers before 2.10.4 ignore the latter (and redeliver).
		// The reason is in the log record and given to OnTerm.
		if terr := msg.Term(); terr != nil {
			o.Logger.WarnContext(ctx, "natsjs: term failed", slog.String("id", m.ID), slog.String("error", terr.Error()))
		}
		if o.OnTerm != nil {
			o.OnTerm(context.WithoutCancel(ctx), m, err)
		}
		return
	}
	delay := o.MinBackoff
	for i := 1; i < delivery && delay < o.MaxBackoff; i++ {
		delay *= 2
	}
	delay = min(delay, o.MaxBackoff)
	o.Logger.WarnContext(ctx, "natsjs: message failed", append(attrs, slog.Duration("retry_in", delay))...)
	if nerr := msg.NakWithDelay(delay); nerr != nil {
		o.Logger.WarnContext(ctx, "natsjs: nak failed", slog.String("id", m.ID), slog.String("error", nerr.Error()))
	}
}

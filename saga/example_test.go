package saga_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/dddkit/ddd/aggregate"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

type order struct {
	Order string `json:"order"`
}

// paymentSaga waits for an order's payment and cancels the order when none comes within 15
// minutes, a limit the business chose.
func paymentSaga() (*saga.Definition[order], error) {
	return saga.Define("payment", saga.Spec[order]{
		Initial:  "new",
		Terminal: map[saga.State]saga.Status{"paid": saga.Completed, "cancelled": saga.Failed},
		Correlate: map[string]saga.Correlator{
			"OrderPlaced":     saga.ByField("order"),
			"PaymentReceived": saga.ByField("order"),
		},
		Timeouts: map[string]time.Duration{"payment": 15 * time.Minute},
		Transitions: []saga.Transition[order]{
			{From: "new", On: "OrderPlaced", To: []saga.State{"awaiting_payment"},
				Do: func(_ context.Context, s *saga.Step[order], m uow.Message) error {
					s.Data.Order = s.Key()
					if err := s.Send(uow.Message{Topic: "payments", Name: "RequestPayment", Payload: m.Payload}); err != nil {
						return err
					}
					return s.Schedule("payment")
				}},
			{From: "awaiting_payment", On: "PaymentReceived", To: []saga.State{"paid"}},
			{From: "awaiting_payment", On: "payment", To: []saga.State{"cancelled"},
				Do: func(_ context.Context, s *saga.Step[order], _ uow.Message) error {
					payload, err := json.Marshal(s.Data)
					if err != nil {
						return err
					}
					return s.Send(uow.Message{Topic: "order-commands", Name: "CancelOrder", Payload: payload})
				}},
		},
	})
}

func ExampleDefine() {
	def, err := paymentSaga()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(def.Mermaid())
	// Output:
	// stateDiagram-v2
	//     [*] --> new
	//     new --> awaiting_payment : OrderPlaced
	//     awaiting_payment --> paid : PaymentReceived
	//     awaiting_payment --> cancelled : after payment (15m0s)
	//     cancelled --> [*]
	//     note right of cancelled : failed
	//     paid --> [*]
	//     note right of paid : completed
}

func ExampleDefine_invalid() {
	_, err := saga.Define("broken", saga.Spec[order]{
		Initial:   "new",
		Terminal:  map[saga.State]saga.Status{"done": saga.Completed, "lost": saga.Failed},
		Correlate: map[string]saga.Correlator{"Go": saga.ByField("order")},
		Transitions: []saga.Transition[order]{
			{From: "new", On: "Go", To: []saga.State{"done"}},
			{From: "done", On: "Go", To: []saga.State{"new"}},
		},
	})
	fmt.Println(err)
	// Output:
	// saga: invalid definition "broken": transition 1 (done on Go): terminal state done has an outgoing transition
	// state lost is unreachable from new
}

func ExampleManager() {
	ctx := context.Background()
	def, err := paymentSaga()
	if err != nil {
		fmt.Println(err)
		return
	}
	d := memuow.New(nil)
	clock := memuow.NewClock(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC))
	store := uow.NewStore(d, &uow.Options{Clock: clock})
	quiet := slog.New(slog.DiscardHandler)

	// The saga listens to the orders topic (and its own, for timeouts); another context
	// handles the commands it sends.
	var bus outbox.Bus
	manager := saga.NewManager(store, def, &saga.Options{Logger: quiet})
	if _, err := manager.Subscribe(&bus, "orders"); err != nil {
		fmt.Println(err)
		return
	}
	for _, topic := range []string{"payments", "order-commands"} {
		_, err := bus.Subscribe(topic, "printer", func(_ context.Context, m uow.Message) error {
			fmt.Printf("%s: %s %s\n", clock.Now().Format("15:04"), m.Name, m.Payload)
			return nil
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	relay := outbox.NewRelay(d, &bus, &outbox.RelayOptions{Clock: clock, Logger: quiet})
	drain := func() {
		for {
			if n, err := relay.Step(ctx); err != nil || n == 0 {
				return
			}
		}
	}

	// The ordering context commits an order and its event; the relay delivers it to the saga,
	// which requests the payment and schedules its timeout.
	err = uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		return u.Emit(uow.Message{Topic: "orders", Name: "OrderPlaced", Payload: []byte(`{"order":"o-1"}`)})
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	drain()

	// No payment comes: after 15 minutes the timeout fires and the saga cancels the order.
	clock.Advance(15 * time.Minute)
	drain()
	info, err := manager.Get(ctx, "o-1")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(info.State, info.Status)
	// Output:
	// 12:00: RequestPayment {"order":"o-1"}
	// 12:15: CancelOrder {"order":"o-1"}
	// cancelled failed
}

// shelf is the stock context's aggregate: units of one product.
type shelf struct {
	aggregate.Root[string]
	Units int `json:"units"`
}

func (*shelf) AggregateType() string { return "shelf" }

var errOutOfStock = aggregate.NewRule("out_of_stock", "out of stock")

// reserve is the stock context's command.
type reserve struct {
	Product string
	Units   int
}

func (c reserve) Handle(ctx context.Context, u *uow.Unit) error {
	s, err := uow.Repo[shelf, string](u).Get(ctx, c.Product)
	if err != nil {
		return err
	}
	if s.Units < c.Units {
		return fmt.Errorf("%w: %d left", errOutOfStock, s.Units)
	}
	s.Units -= c.Units
	return nil
}

// orderPlaced is the stock context's reading of the sales context's OrderPlaced: the fields it
// needs, and the name the sales context gives the event.
type orderPlaced struct {
	Order   string `json:"order"`
	Product string `json:"product"`
	Units   int    `json:"units"`
}

func (orderPlaced) EventName() string { return "OrderPlaced" }

func ExampleReact() {
	ctx := context.Background()
	d := memuow.New(nil)
	store := uow.NewStore(d, nil)
	err := uow.Do(ctx, store, func(ctx context.Context, u *uow.Unit) error {
		root, err := aggregate.NewRoot("book")
		if err != nil {
			return err
		}
		return uow.Repo[shelf, string](u).Add(ctx, &shelf{Root: root, Units: 3})
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}

	// At the stock context's edge, the sales context's OrderPlaced becomes a Reserve command
	// (the sales context's other events are not the stock's business); a refusal is announced
	// as ReservationFailed, so the sales context learns of it.
	translate, err := saga.Translate(outbox.SkipUnknown,
		saga.On(func(e orderPlaced, _ uow.Message) (uow.Command, error) {
			return reserve{Product: e.Product, Units: e.Units}, nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	handler := saga.React(store, "stock", translate, &saga.ReactOptions{
		Logger: slog.New(slog.DiscardHandler),
		Rejected: func(_ context.Context, u *uow.Unit, m uow.Message, rule error) error {
			return u.Emit(uow.Message{Topic: "stock", Name: "ReservationFailed", Payload: m.Payload})
		},
	})

	first := uow.Message{ID: aggregate.NewID[string](), Topic: "sales", Name: "OrderPlaced",
		Payload: []byte(`{"order":"o-1","product":"book","units":2}`)}
	second := first
	second.ID = aggregate.NewID[string]()
	cancelled := uow.Message{ID: aggregate.NewID[string](), Topic: "sales", Name: "OrderCancelled", Payload: []byte(`{}`)}
	for _, m := range []uow.Message{first, first, second, cancelled} { // first is delivered twice
		fmt.Println(handler(ctx, m))
	}
	units, _ := d.Get("shelf", "book")
	fmt.Println(string(units.Data))
	for _, m := range d.Messages() {
		fmt.Println(m.Name)
	}
	// Output:
	// <nil>
	// <nil>
	// <nil>
	// <nil>
	// {"units":1}
	// ReservationFailed
}

package sagatest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/saga/sagatest"
	"github.com/dddkit/ddd/uow"
)

// printTB reports failures by printing them. Examples have no *testing.T; tests pass theirs.
type printTB struct {
	testing.TB
	failed bool
}

func (*printTB) Helper() {}

func (*printTB) Context() context.Context { return context.Background() }

func (tb *printTB) Errorf(format string, args ...any) {
	tb.failed = true
	fmt.Printf("FAIL: "+format+"\n", args...)
}

func (tb *printTB) Fatalf(format string, args ...any) {
	tb.Errorf(format, args...)
	panic("fatal failure") // a real testing.T stops the test here
}

type reminder struct{}

func Example() {
	def, err := saga.Define("invoice", saga.Spec[reminder]{
		Initial:   "new",
		Terminal:  map[saga.State]saga.Status{"paid": saga.Completed, "written_off": saga.Failed},
		Correlate: map[string]saga.Correlator{"InvoiceSent": saga.ByField("invoice"), "InvoicePaid": saga.ByField("invoice")},
		Timeouts:  map[string]time.Duration{"due": 30 * 24 * time.Hour},
		Transitions: []saga.Transition[reminder]{
			{From: "new", On: "InvoiceSent", To: []saga.State{"open"},
				Do: func(_ context.Context, s *saga.Step[reminder], _ uow.Message) error { return s.Schedule("due") }},
			{From: "open", On: "InvoicePaid", To: []saga.State{"paid"}},
			{From: "open", On: "due", To: []saga.State{"written_off"},
				Do: func(_ context.Context, s *saga.Step[reminder], m uow.Message) error {
					return s.Send(uow.Message{Topic: "collections", Name: "StartCollection", Payload: []byte(`{}`)})
				}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tb := &printTB{}
	f := sagatest.New(tb, def, nil)
	f.Given(f.Message("InvoiceSent", map[string]string{"invoice": "inv-7"}))
	f.AdvanceTime(29 * 24 * time.Hour)
	f.ThenState("inv-7", "open", saga.Running)
	f.AdvanceTime(24 * time.Hour)
	f.ThenState("inv-7", "written_off", saga.Failed)
	f.ThenSent("StartCollection")
	fmt.Println("failed:", tb.failed)
	// Output:
	// failed: false
}

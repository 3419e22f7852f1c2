package payouts_test

import (
	"fmt"
	"time"

	"github.com/dddkit/ddd/examples/crowdfunding/payouts"
)

// ExampleDefine draws the withdrawal saga.
func ExampleDefine() {
	def, err := payouts.Define(30 * time.Second)
	if err != nil {
		panic(err)
	}
	fmt.Print(def.Mermaid())
	// Output:
	// stateDiagram-v2
	//     [*] --> new
	//     new --> debiting : payouts.WithdrawalRequested
	//     debiting --> rejected : payouts.DebitRejected
	//     debiting --> paying : payouts.Debited
	//     paying --> paid : payouts.PaymentSucceeded
	//     paying --> refunded : payouts.PaymentFailed
	//     paying --> cancelling : after payment (30s)
	//     cancelling --> paid : payouts.PaymentSucceeded
	//     cancelling --> refunded : payouts.PaymentFailed
	//     paid --> [*]
	//     note right of paid : completed
	//     refunded --> [*]
	//     note right of refunded : compensated
	//     rejected --> [*]
	//     note right of rejected : failed
}

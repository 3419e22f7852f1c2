package bench_test

import (
	"context"
	"fmt"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/internal/bench"
	"github.com/dddkit/ddd/examples/transfer/internal/load"
)

// Measure two strategies under hot contention in memory. Run writes the Markdown table to its
// io.Writer (nil here) and returns the rows; their figures depend on the machine.
func Example() {
	rows, err := bench.Run(context.Background(), bench.Config{
		DBs:         []string{"memory"},
		Strategies:  []transfer.Strategy{transfer.Optimistic, transfer.Pessimistic},
		Contentions: []load.Contention{load.Hot},
		Goroutines:  []int{1, 4},
		Accounts:    20,
		Transfers:   100,
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rows {
		fmt.Println(r.DB, r.Strategy, r.Contention, r.Goroutines, r.Transfers, r.PerSecond > 0)
	}
	// Output:
	// memory optimistic hot 1 100 true
	// memory pessimistic hot 1 100 true
	// memory optimistic hot 4 100 true
	// memory pessimistic hot 4 100 true
}

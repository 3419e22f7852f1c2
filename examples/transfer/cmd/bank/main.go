// Command bank is the reference bank of package transfer, money transfers with every rule
// always on, on the embedded SQLite default or a server:
//
//	bank demo   [flags]  open accounts, run concurrent transfers, relay the outbox, reconcile
//	bank serve  [flags]  the HTTP JSON API: POST /commands/{name}, GET queries
//	bank bench  [flags]  the strategy table: transfers/s, p50/p99, retries, beside raw pgx
//
// Every command takes --db (default: a SQLite file; memory, postgres://... or
// mysql://user:pass@host:3306/db) and --broker (nats://... publishes the outbox to NATS
// JetStream; default: an in-process bus). Run `bank <command> -h` for the rest.
//
//	go run ./examples/transfer/cmd/bank demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bank:", err)
		os.Exit(1)
	}
}

const usage = `usage: bank <command> [flags]

commands:
  demo    open accounts, run concurrent transfers behind a progress bar, relay the outbox,
          print balances, the ledger reconciliation, conflicts and throughput
  serve   serve the HTTP JSON API
  bench   print the strategy table (strategy x db x contention x goroutines, beside raw pgx)

common flags:
  --db      the store: a SQLite file (default), memory, postgres://... or mysql://user:pass@host:3306/db
  --broker  nats://host:4222 publishes the outbox to NATS JetStream (default: an in-process bus)
`

// run runs the command args name, writing results to out and progress to errw.
func run(ctx context.Context, args []string, out, errw io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(errw, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "demo":
		return demo(ctx, args[1:], out, errw)
	case "serve":
		return serve(ctx, args[1:], out, errw)
	case "bench":
		return benchCmd(ctx, args[1:], out, errw)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(out, usage)
		return nil
	}
	fmt.Fprint(errw, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// commonFlags are the flags of every command.
type commonFlags struct {
	db, broker string
}

func (c *commonFlags) register(fs *flag.FlagSet, db string) {
	fs.StringVar(&c.db, "db", db, "the store: a SQLite file, memory, postgres://... or mysql://user:pass@host:3306/db")
	fs.StringVar(&c.broker, "broker", "", "nats://host:4222 publishes the outbox to NATS JetStream (default: an in-process bus)")
}

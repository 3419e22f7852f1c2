package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dddkit/ddd/examples/transfer"
	"github.com/dddkit/ddd/examples/transfer/api"
	"github.com/dddkit/ddd/examples/transfer/internal/backend"
	"github.com/dddkit/ddd/outbox"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/pguow"
)

// serve runs the HTTP JSON API with a relay beside it until ctx ends, then shuts down.
func serve(ctx context.Context, args []string, out, errw io.Writer) error {
	fs := flag.NewFlagSet("bank serve", flag.ContinueOnError)
	fs.SetOutput(errw)
	var (
		c        commonFlags
		addr     = fs.String("addr", "127.0.0.1:8080", "the address to listen on")
		strategy = fs.String("strategy", "optimistic", "the default strategy of transfers: optimistic, pessimistic, keyed or eventual")
	)
	c.register(fs, "bank.db")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := transfer.ParseStrategy(*strategy)
	if err != nil || s == transfer.Default {
		return fmt.Errorf("serve: --strategy %q: want optimistic, pessimistic, keyed or eventual", *strategy)
	}
	logger := slog.New(slog.NewTextHandler(errw, nil))
	be, err := backend.Open(ctx, c.db, nil)
	if err != nil {
		return err
	}
	defer be.Close()
	sk, err := newSink(ctx, c.broker)
	if err != nil {
		return err
	}
	defer sk.close()
	bank, err := transfer.New(uow.NewStore(be.Driver, nil), &transfer.Options{Strategy: s})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: api.New(bank, &api.Options{Logger: logger}),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}

	ropts := &outbox.RelayOptions{Logger: logger, PollInterval: 200 * time.Millisecond}
	if pg, ok := be.Driver.(*pguow.Driver); ok {
		ropts.Wake = pg.Listen(ctx)
	}
	ctx, cancel := context.WithCancel(ctx) // ends the relay however the server ends
	defer cancel()
	relay := outbox.NewRelay(be.Driver, sk.pub, ropts)
	relayDone := make(chan error, 1)
	go func() { relayDone <- relay.Run(ctx) }()

	fmt.Fprintf(out, "bank: serving on http://%s (%s: %s; outbox to %s)\n", ln.Addr(), be.Kind, be.Where, sk.where)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(api.NewListener(ln)) }() // the server's own errors are problems too
	select {
	case err = <-served:
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(shut)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	cancel()
	return errors.Join(err, <-relayDone)
}

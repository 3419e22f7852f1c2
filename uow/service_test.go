package uow_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
)

// payer is the port a command pays through, reached as a service.
type payer interface {
	Pay(account string, amount int64) error
}

type fakePayer struct{ paid atomic.Int64 }

func (p *fakePayer) Pay(_ string, amount int64) error {
	p.paid.Add(amount)
	return nil
}

// otherPayer is a second payer: with fakePayer, the store cannot tell which one a command means.
type otherPayer struct{ fakePayer }

// payCmd pays through the store's payer and declares it.
type payCmd struct {
	account string
	amount  int64
	runs    *atomic.Int64
}

func (c payCmd) Requires() []uow.Requirement { return []uow.Requirement{uow.Needs[payer]()} }

func (c payCmd) Handle(ctx context.Context, u *uow.Unit) error {
	if c.runs != nil {
		c.runs.Add(1)
	}
	p, err := uow.Service[payer](u)
	if err != nil {
		return err
	}
	return p.Pay(c.account, c.amount)
}

// closeCmd reaches an io.Closer without declaring it.
type closeCmd struct{}

func (closeCmd) CommandName() string { return "close" }

func (closeCmd) Handle(ctx context.Context, u *uow.Unit) error {
	_, err := uow.Service[io.Closer](u)
	return err
}

func TestNewExecutorChecksRequiredServices(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	for _, c := range []struct {
		name     string
		services []any
		want     error
		message  string
	}{
		{"missing", nil, uow.ErrNoService, "command uow_test.payCmd needs uow_test.payer"},
		{"unrelated", []any{"a string"}, uow.ErrNoService, "command uow_test.payCmd needs uow_test.payer"},
		{"ambiguous", []any{&fakePayer{}, &otherPayer{}}, uow.ErrAmbiguousService,
			"command uow_test.payCmd needs uow_test.payer, and 2 services are one (*uow_test.fakePayer, *uow_test.otherPayer)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := uow.NewStore(memuow.New(nil), &uow.Options{Services: c.services})
			exec, err := uow.NewExecutor(s, &uow.ExecutorOptions{Commands: []uow.Command{closeCmd{}, payCmd{}}, Logger: quiet})
			require.ErrorIs(t, err, c.want)
			assert.Contains(t, err.Error(), c.message)
			assert.Nil(t, exec)
		})
	}

	p := &fakePayer{}
	s := uow.NewStore(memuow.New(nil), &uow.Options{Services: []any{p, "a string"}})
	exec, err := uow.NewExecutor(s, &uow.ExecutorOptions{Commands: []uow.Command{payCmd{}}, Logger: quiet})
	require.NoError(t, err)
	require.NoError(t, exec.Execute(t.Context(), payCmd{account: "alice", amount: 7}))
	assert.Equal(t, int64(7), p.paid.Load(), "the command paid through the store's payer")
}

func TestNewExecutorRefusesBadOptions(t *testing.T) {
	_, err := uow.NewExecutor(nil, nil)
	require.ErrorIs(t, err, uow.ErrInvalid)
	s := uow.NewStore(memuow.New(nil), nil)
	_, err = uow.NewExecutor(s, &uow.ExecutorOptions{Commands: []uow.Command{nil}})
	require.ErrorIs(t, err, uow.ErrInvalid)
	_, err = uow.NewExecutor(s, &uow.ExecutorOptions{Commands: []uow.Command{zeroRequirement{}}})
	require.ErrorIs(t, err, uow.ErrInvalid)
	assert.Contains(t, err.Error(), "uow_test.zeroRequirement")
}

type zeroRequirement struct{}

func (zeroRequirement) Requires() []uow.Requirement             { return []uow.Requirement{{}} }
func (zeroRequirement) Handle(context.Context, *uow.Unit) error { return nil }

// A command not listed in ExecutorOptions.Commands is checked on its first run, before Handle.
func TestExecuteChecksUnlistedCommandFirst(t *testing.T) {
	var logs bytes.Buffer
	var results []uow.Result
	s := uow.NewStore(memuow.New(nil), nil)
	exec, err := uow.NewExecutor(s, &uow.ExecutorOptions{
		Logger:  slog.New(slog.NewTextHandler(&logs, nil)),
		Observe: func(r uow.Result) { results = append(results, r) },
	})
	require.NoError(t, err)
	var runs atomic.Int64
	err = exec.Execute(t.Context(), payCmd{account: "alice", amount: 1, runs: &runs})
	require.ErrorIs(t, err, uow.ErrNoService)
	assert.Contains(t, err.Error(), "command uow_test.payCmd needs uow_test.payer")
	assert.Zero(t, runs.Load(), "Handle must not run without its services")
	require.Len(t, results, 1)
	assert.Zero(t, results[0].Attempts)
	assert.Contains(t, logs.String(), `msg="command failed" command=uow_test.payCmd attempts=0`)
}

// A service a command did not declare, missing at run time, is reported with the command's name.
func TestServiceErrorNamesTheCommand(t *testing.T) {
	s := uow.NewStore(memuow.New(nil), nil)
	exec, err := uow.NewExecutor(s, &uow.ExecutorOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	err = exec.Execute(t.Context(), closeCmd{})
	require.ErrorIs(t, err, uow.ErrNoService)
	assert.Contains(t, err.Error(), "command close needs io.Closer")

	// Outside an executor there is no command to name.
	err = uow.Do(t.Context(), s, closeCmd{}.Handle, nil)
	require.ErrorIs(t, err, uow.ErrNoService)
	assert.Equal(t, "uow: no such service: io.Closer", err.Error())
}

func TestServiceLookup(t *testing.T) {
	type gateway struct{ name string }
	gw := &gateway{name: "test"}
	s := uow.NewStore(memuow.New(nil), &uow.Options{Services: []any{gw, &fakePayer{}, &otherPayer{}}})
	u := begin(t, s)
	got, err := uow.Service[*gateway](u)
	require.NoError(t, err)
	require.Same(t, gw, got)
	_, err = uow.Service[*testing.T](u)
	require.ErrorIs(t, err, uow.ErrNoService)
	_, err = uow.Service[payer](u)
	require.ErrorIs(t, err, uow.ErrAmbiguousService, "two services are payers: none is picked")
	p, err := uow.Service[*otherPayer](u)
	require.NoError(t, err, "a concrete type tells them apart")
	require.NotNil(t, p)
	_, err = uow.Service[payer](nil)
	require.ErrorIs(t, err, uow.ErrInvalid)
}

func TestClockOption(t *testing.T) {
	ctx := t.Context()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := memuow.NewClock(at)
	d := memuow.New(nil)
	s := uow.NewStore(d, &uow.Options{Clock: clock, Services: []any{memuow.NewClock(at.Add(time.Hour))}})
	require.NoError(t, uow.Do(ctx, s, func(ctx context.Context, u *uow.Unit) error {
		assert.Equal(t, at, u.Now(), "Unit.Now is the Options.Clock's, not a Clock among the services")
		acc, err := OpenAccount("alice", "Alice", 0)
		if err != nil {
			return err
		}
		acc.Credit(5)
		if err := uow.Repo[Account, AccountID](u).Add(ctx, acc); err != nil {
			return err
		}
		if _, err := u.MarkProcessed(ctx, "consumer", "message-1"); err != nil {
			return err
		}
		return u.Emit(uow.Message{Topic: "t", Key: "k", Name: "emitted"})
	}, nil))

	msgs := d.Messages()
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		assert.Equal(t, at, m.CreatedAt.UTC(), "CreatedAt of %s", m.Name)
	}
	// The inbox mark carries the clock's time: not before it, so a purge up to it keeps it, and
	// one just after it deletes it (the system clock's time is years earlier).
	n, err := s.PurgeInbox(ctx, at)
	require.NoError(t, err)
	require.Zero(t, n, "the mark was made at the clock's time, not before")
	n, err = s.PurgeInbox(ctx, at.Add(time.Microsecond))
	require.NoError(t, err)
	require.Equal(t, 1, n)

	// Without Options.Clock, the system clock.
	u := begin(t, uow.NewStore(d, &uow.Options{Services: []any{clock}}))
	assert.WithinDuration(t, time.Now(), u.Now(), time.Minute)
}

func TestServiceErrorsAreDistinct(t *testing.T) {
	assert.False(t, errors.Is(uow.ErrAmbiguousService, uow.ErrNoService))
	assert.True(t, strings.HasPrefix(uow.ErrAmbiguousService.Error(), "uow: "))
}

// Concurrent first runs of an unlisted command check its services without a race.
func TestExecuteChecksConcurrently(t *testing.T) {
	p := &fakePayer{}
	s := uow.NewStore(memuow.New(nil), &uow.Options{Services: []any{p}})
	exec, err := uow.NewExecutor(s, &uow.ExecutorOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- exec.Execute(t.Context(), payCmd{account: "alice", amount: 1}) }()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, int64(8), p.paid.Load())
}

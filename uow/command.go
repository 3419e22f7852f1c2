package uow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dddkit/ddd/aggregate"
)

// Command is a task-based command in seed 001's style: the command's data and its handler in
// one type. Handle runs in a unit of work, reaching the application state through repositories
// and services of the unit; it may run more than once when conflicts are retried.
type Command interface {
	Handle(ctx context.Context, u *Unit) error
}

// Named is implemented by commands that choose the name logged and observed for them; others
// are named by their Go type.
type Named interface {
	CommandName() string
}

// Result is what an [Executor] reports of one command.
type Result struct {
	// Command is the command's name.
	Command string
	// Attempts is how many times the command ran (more than 1 after conflicts).
	Attempts int
	// Duration is the time from start to the end of the last attempt.
	Duration time.Duration
	// Err is the command's error, nil on success.
	Err error
}

// ExecutorOptions tune an [Executor]. The zero value is ready to use.
type ExecutorOptions struct {
	// Do tunes the retries of conflicts; nil means Do's defaults.
	Do *DoOptions
	// Logger receives a record per command: Debug on success, Info when a business rule
	// rejected it, Error for any other failure. nil means slog.Default().
	Logger *slog.Logger
	// Observe, if set, is called after every command with its result: the metrics hook (count
	// by name and outcome, histogram of durations, attempts). It must be safe for concurrent
	// use and quick.
	Observe func(Result)
}

// Executor runs commands in units of work with retries, logging and metrics. It is safe for
// concurrent use.
type Executor struct {
	store *Store
	opts  ExecutorOptions
}

// NewExecutor returns an executor running commands on s; nil opts means the defaults.
func NewExecutor(s *Store, opts *ExecutorOptions) *Executor {
	e := &Executor{store: s}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.Logger == nil {
		e.opts.Logger = slog.Default()
	}
	return e
}

// Execute runs cmd.Handle through [Do] and returns its error (see Do for what is retried).
func (e *Executor) Execute(ctx context.Context, cmd Command) error {
	name := commandName(cmd)
	start := time.Now()
	attempts, err := do(ctx, e.store, cmd.Handle, e.opts.Do)
	res := Result{Command: name, Attempts: attempts, Duration: time.Since(start), Err: err}
	attrs := []any{slog.String("command", name), slog.Int("attempts", attempts), slog.Duration("duration", res.Duration)}
	switch {
	case err == nil:
		e.opts.Logger.DebugContext(ctx, "command done", attrs...)
	case errors.Is(err, aggregate.ErrRule):
		e.opts.Logger.InfoContext(ctx, "command rejected", append(attrs, slog.String("error", err.Error()))...)
	default:
		e.opts.Logger.ErrorContext(ctx, "command failed", append(attrs, slog.String("error", err.Error()))...)
	}
	if e.opts.Observe != nil {
		e.opts.Observe(res)
	}
	return err
}

func commandName(cmd Command) string {
	if n, ok := cmd.(Named); ok {
		return n.CommandName()
	}
	return fmt.Sprintf("%T", cmd)
}

package uow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	"github.com/dddkit/ddd/aggregate"
)

// Command is a task-based command: the command's data and its handler in one type. Handle runs
// in a unit of work, reaching the application state through repositories and services of the
// unit; it may run more than once when conflicts are retried. A command that uses services
// declares them by implementing [Requirer].
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
	// Attempts is how many times the command ran (more than 1 after conflicts; 0 when it did not
	// run because a service it requires is missing).
	Attempts int
	// Duration is the time from start to the end of the last attempt.
	Duration time.Duration
	// Err is the command's error, nil on success.
	Err error
}

// ExecutorOptions tune an [Executor]. The zero value is ready to use.
type ExecutorOptions struct {
	// Commands are the commands the executor runs, one value of each type (the zero value
	// does): [NewExecutor] checks the services each of them requires ([Requirer]), so that a
	// missing one stops the application when it starts, not when the command first runs.
	// Commands not listed here still run; theirs are checked on their first run.
	Commands []Command
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
	store   *Store
	opts    ExecutorOptions
	checked sync.Map // reflect.Type of a Requirer command whose services the store has -> true
}

// NewExecutor returns an executor running commands on s; nil opts means the defaults. It checks
// that s has, for every requirement of every command of opts.Commands ([Requirer]), exactly one
// service: it returns an error wrapping [ErrNoService] when s has none, and one wrapping
// [ErrAmbiguousService] when it has several, each naming the command and the type (the errors
// of several requirements are joined). A nil store or a nil command is an error wrapping
// [ErrInvalid].
func NewExecutor(s *Store, opts *ExecutorOptions) (*Executor, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: executor on a nil store", ErrInvalid)
	}
	e := &Executor{store: s}
	if opts != nil {
		e.opts = *opts
	}
	if e.opts.Logger == nil {
		e.opts.Logger = slog.Default()
	}
	var errs []error
	for i, cmd := range e.opts.Commands {
		if cmd == nil {
			errs = append(errs, fmt.Errorf("%w: ExecutorOptions.Commands[%d] is nil", ErrInvalid, i))
			continue
		}
		errs = append(errs, e.check(cmd, commandName(cmd)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return e, nil
}

// check checks the services cmd requires, if it is a Requirer whose type was not checked yet.
func (e *Executor) check(cmd Command, name string) error {
	r, ok := cmd.(Requirer)
	if !ok {
		return nil
	}
	t := reflect.TypeOf(cmd)
	if _, ok := e.checked.Load(t); ok {
		return nil
	}
	if err := e.store.check(name, r.Requires()); err != nil {
		return err
	}
	e.checked.Store(t, true)
	return nil
}

// Execute runs cmd.Handle through [Do] and returns its error (see Do for what is retried). On the
// first run of a command type that NewExecutor did not check, it checks the services the command
// requires first, and returns the error NewExecutor would have without running the command. A
// [Service] that fails in Handle names the command in its error.
func (e *Executor) Execute(ctx context.Context, cmd Command) error {
	name := commandName(cmd)
	start := time.Now()
	attempts, err := 0, e.check(cmd, name)
	if err == nil {
		attempts, err = do(ctx, e.store, name, cmd.Handle, e.opts.Do)
	}
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

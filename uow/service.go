package uow

import (
	"fmt"
	"reflect"
	"strings"
)

// Requirement is a service a command needs: a type (concrete, or an interface) of which the
// store must hold exactly one service. Make one with [Needs].
type Requirement struct {
	typ reflect.Type
	is  func(v any) bool
}

// Needs returns the requirement of a service of type T, for a command's [Requirer.Requires]:
//
//	func (Pay) Requires() []uow.Requirement { return []uow.Requirement{uow.Needs[Provider]()} }
func Needs[T any]() Requirement {
	return Requirement{typ: reflect.TypeFor[T](), is: func(v any) bool { _, ok := v.(T); return ok }}
}

// String returns the name of the required type, such as "payouts.Provider".
func (r Requirement) String() string {
	if r.typ == nil {
		return "<nil>"
	}
	return r.typ.String()
}

// Requirer is implemented by a [Command] that reaches services through [Service]. Requires
// lists their types, so that the executor checks them before any command runs: [NewExecutor]
// for the commands of ExecutorOptions.Commands, [Executor.Execute] on the first run of the
// others. The list must depend on the command's type only, not on its fields' values: it is
// checked once per type.
type Requirer interface {
	Requires() []Requirement
}

// Service returns the service of the unit's store that is a T (a concrete type, or an
// interface it implements). It returns an error wrapping [ErrNoService] when none is, and one
// wrapping [ErrAmbiguousService] when more than one is: the unit does not pick one of them by
// their order in Options.Services. In a unit of a command an [Executor] runs, the error names
// the command. A nil unit is an error wrapping [ErrInvalid].
func Service[T any](u *Unit) (T, error) {
	var found T
	if u == nil {
		return found, fmt.Errorf("%w: nil unit", ErrInvalid)
	}
	var matches []any
	for _, v := range u.store.services {
		if t, ok := v.(T); ok {
			if len(matches) == 0 {
				found = t
			}
			matches = append(matches, v)
		}
	}
	if len(matches) != 1 {
		var zero T
		return zero, serviceError(u.command, reflect.TypeFor[T](), matches)
	}
	return found, nil
}

// check returns an error when the store does not have exactly one service for each of the
// requirements of command.
func (s *Store) check(command string, reqs []Requirement) error {
	for _, r := range reqs {
		if r.is == nil {
			return fmt.Errorf("%w: command %s requires a Requirement not made by Needs", ErrInvalid, command)
		}
		var matches []any
		for _, v := range s.services {
			if r.is(v) {
				matches = append(matches, v)
			}
		}
		if len(matches) != 1 {
			return serviceError(command, r.typ, matches)
		}
	}
	return nil
}

// serviceError is the error of a service of type typ found matches times (not once), named
// after command unless it is "".
func serviceError(command string, typ reflect.Type, matches []any) error {
	what := typ.String()
	if command != "" {
		what = "command " + command + " needs " + what
	}
	if len(matches) == 0 {
		return fmt.Errorf("%w: %s", ErrNoService, what)
	}
	names := make([]string, len(matches))
	for i, v := range matches {
		names[i] = fmt.Sprintf("%T", v)
	}
	return fmt.Errorf("%w: %s, and %d services are one (%s)", ErrAmbiguousService, what, len(matches), strings.Join(names, ", "))
}

package aggregate

import (
	"fmt"
	"reflect"
)

// NameOf returns the name of the event type E: the EventName of its zero value, or of a pointer
// to a zero value when E is a pointer type (so EventName may have a value or a pointer
// receiver). Typed handlers learn from it which messages are theirs before any arrives, so
// EventName must return a constant of the type, never a name computed from the event's fields.
// An interface type, an empty name and an EventName that panics on the zero value are errors
// wrapping [ErrInvalidEvent].
func NameOf[E Event]() (string, error) {
	t := reflect.TypeFor[E]()
	var e E
	switch t.Kind() {
	case reflect.Interface:
		return "", fmt.Errorf("%w: %s is an interface, not an event type", ErrInvalidEvent, t)
	case reflect.Pointer:
		e = reflect.New(t.Elem()).Interface().(E)
	}
	return zeroName(e)
}

// zeroName calls e.EventName, turning an empty name or a panic into an error.
func zeroName(e Event) (name string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %T: EventName panics on the zero value (%v): it must return a constant of the type",
				ErrInvalidEvent, e, r)
		}
	}()
	if name = e.EventName(); name == "" {
		return "", fmt.Errorf("%w: %T: EventName of the zero value is empty: it must return a constant of the type",
			ErrInvalidEvent, e)
	}
	return name, nil
}

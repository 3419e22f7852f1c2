package aggregate_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/aggregate"
)

type (
	byValue   struct{ N int }
	byPointer struct{ N int }
	byField   struct{ Kind string }
	panicky   struct{ Parts []string }
)

func (byValue) EventName() string    { return "t.ByValue" }
func (*byPointer) EventName() string { return "t.ByPointer" }
func (e byField) EventName() string  { return e.Kind }
func (e panicky) EventName() string  { return e.Parts[0] }

func TestNameOf(t *testing.T) {
	for name, got := range map[string]func() (string, error){
		"t.ByValue":   aggregate.NameOf[byValue],
		"t.ByPointer": aggregate.NameOf[*byPointer],
	} {
		n, err := got()
		require.NoError(t, err)
		require.Equal(t, name, n)
	}
	n, err := aggregate.NameOf[*byValue]()
	require.NoError(t, err, "a value receiver through a pointer type: the pointer is not nil")
	require.Equal(t, "t.ByValue", n)

	_, err = aggregate.NameOf[byField]()
	require.ErrorIs(t, err, aggregate.ErrInvalidEvent, "a name from a field is empty on the zero value")
	require.ErrorContains(t, err, "aggregate_test.byField: EventName of the zero value is empty: it must return a constant of the type")
	_, err = aggregate.NameOf[panicky]()
	require.ErrorIs(t, err, aggregate.ErrInvalidEvent)
	require.ErrorContains(t, err, "EventName panics on the zero value")
	_, err = aggregate.NameOf[aggregate.Event]()
	require.ErrorIs(t, err, aggregate.ErrInvalidEvent)
	require.ErrorContains(t, err, "aggregate.Event is an interface")
}

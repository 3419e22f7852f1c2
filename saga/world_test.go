package saga_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dddkit/ddd/internal/testenv"
	"github.com/dddkit/ddd/saga"
	"github.com/dddkit/ddd/saga/sagatest"
	"github.com/dddkit/ddd/uow"
	"github.com/dddkit/ddd/uow/memuow"
	"github.com/dddkit/ddd/uow/pguow"
)

// world is a storage backend the saga scenarios run on.
type world struct {
	name string
	// open returns a fresh, empty driver.
	open func(t *testing.T) sagatest.Driver
	// restart returns a driver on the same data as d, as a restarted process would open it.
	restart func(t *testing.T, d sagatest.Driver) sagatest.Driver
}

// worlds are memuow and PostgreSQL (skipped, or failed under DDD_REQUIRE_SERVICES=1, without
// DDD_TEST_POSTGRES).
var worlds = []world{
	{
		name: "memuow",
		open: func(*testing.T) sagatest.Driver { return memuow.New(nil) },
		// memuow's data lives in its driver: a restarted process is a new store, manager and
		// relay over it, which is what a new fixture builds.
		restart: func(_ *testing.T, d sagatest.Driver) sagatest.Driver { return d },
	},
	{
		name: "postgres",
		open: func(t *testing.T) sagatest.Driver {
			schema := testenv.Name("t_")
			d := openPG(t, schema)
			require.NoError(t, d.Migrate(t.Context()))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if _, err := d.Pool().Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`); err != nil {
					t.Errorf("dropping schema %s: %v", schema, err)
				}
			})
			pgSchemas[d] = schema
			return d
		},
		restart: func(t *testing.T, d sagatest.Driver) sagatest.Driver {
			return openPG(t, pgSchemas[d.(*pguow.Driver)])
		},
	},
}

// pgSchemas maps the PostgreSQL drivers of the scenarios to their schemas (tests using it do
// not run in parallel).
var pgSchemas = map[*pguow.Driver]string{}

func openPG(t *testing.T, schema string) *pguow.Driver {
	t.Helper()
	d, err := pguow.Open(t.Context(), testenv.Postgres(t), &pguow.Options{Schema: schema})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// eachWorld runs test on every world.
func eachWorld(t *testing.T, test func(t *testing.T, w world)) {
	for _, w := range worlds {
		t.Run(w.name, func(t *testing.T) { test(t, w) })
	}
}

func mustJSON(t require.TestingT, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func decode(m uow.Message, v any) error {
	if err := m.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %w", saga.ErrInvalid, m.Name, err)
	}
	return nil
}

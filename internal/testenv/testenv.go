// Package testenv gives tests the services they need: the DSN of a real PostgreSQL, MariaDB or
// NATS server from the environment. A test whose service is not configured is skipped with a
// message, or fails when DDD_REQUIRE_SERVICES=1 (CI sets it, so nothing silently skips there).
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
)

// The environment variables naming the services.
const (
	PostgresVar = "DDD_TEST_POSTGRES" // postgres://postgres@127.0.0.1:5432/test?sslmode=disable
	MySQLVar    = "DDD_TEST_MYSQL"    // root@tcp(127.0.0.1:3306)/test
	NATSVar     = "DDD_TEST_NATS"     // nats://127.0.0.1:4222
	RequireVar  = "DDD_REQUIRE_SERVICES"
)

// Postgres returns the PostgreSQL DSN, or skips (fails, under DDD_REQUIRE_SERVICES=1) the test.
func Postgres(t testing.TB) string { return lookup(t, PostgresVar) }

// MySQL returns the MySQL/MariaDB DSN (go-sql-driver/mysql form), or skips or fails the test.
func MySQL(t testing.TB) string { return lookup(t, MySQLVar) }

// NATS returns the NATS URL, or skips or fails the test.
func NATS(t testing.TB) string { return lookup(t, NATSVar) }

func lookup(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv(RequireVar) == "1" {
		t.Fatalf("%s is not set and %s=1: this test needs the service", name, RequireVar)
	}
	t.Skipf("%s is not set: skipping the test that needs it (set %s=1 to make this a failure)", name, RequireVar)
	return ""
}

// Name returns a fresh lower-case name with the given prefix for a schema or database of one
// test, such as "t_3f9a0c1d2e4b5a69".
func Name(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

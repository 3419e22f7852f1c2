package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	in := `goos: linux
BenchmarkAdd/money-2     100   90 ns/op   80 B/op   2 allocs/op
BenchmarkAdd/decimal-2   100   80 ns/op   80 B/op   2 allocs/op
BenchmarkAdd/money-2     100  110 ns/op   80 B/op   2 allocs/op
BenchmarkAdd/decimal-2   100   40 ns/op   80 B/op   2 allocs/op
BenchmarkAdd/money-2     100  100 ns/op   80 B/op   2 allocs/op
BenchmarkAdd/decimal-2   100   50 ns/op   80 B/op   2 allocs/op
BenchmarkLone-2          100   10 ns/op
PASS
`
	var out, pass bytes.Buffer
	if err := run(strings.NewReader(in), &out, &pass, "decimal"); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	// medians: money 100, decimal 50 -> 2.00x
	for _, want := range []string{"Add", "money", "100.0", "50.0", "2.00x"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if !strings.Contains(pass.String(), "BenchmarkLone") || !strings.Contains(pass.String(), "PASS") {
		t.Errorf("lines without variants must pass through, got:\n%s", pass.String())
	}
}

func TestReportNeedsResults(t *testing.T) {
	var out, pass bytes.Buffer
	if err := run(strings.NewReader("FAIL\n"), &out, &pass, "decimal"); err == nil {
		t.Fatal("want an error for input without results")
	}
}

func TestMedianEvenCount(t *testing.T) {
	tb := newTable()
	tb.add("BenchmarkX/a-2 1 10 ns/op")
	tb.add("BenchmarkX/a-2 1 20 ns/op")
	m, ok := tb.median("BenchmarkX", "a")
	if !ok || m.ns != 15 {
		t.Fatalf("median = %v, %v; want 15", m.ns, ok)
	}
	if _, ok := tb.median("BenchmarkX", "b"); ok {
		t.Fatal("a variant without samples has no median")
	}
}

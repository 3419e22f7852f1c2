// Command benchratio reads `go test -bench` output and prints, for every benchmark that has a
// yardstick variant, the median time and allocations of each variant and its ratio to the
// yardstick, measured in the same run:
//
//	go test ./money -run '^$' -bench . -benchmem -count 6 | go run ./internal/benchratio -base decimal
//
// A benchmark's variants are its last sub-benchmark names (BenchmarkAdd/money and
// BenchmarkAdd/decimal); -base names the yardstick variant. Lines that are not benchmark results
// are passed through to standard error, so a failing run stays visible.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	base := flag.String("base", "", "name of the yardstick variant (required)")
	flag.Parse()
	if *base == "" {
		fmt.Fprintln(os.Stderr, "benchratio: -base is required")
		os.Exit(2)
	}
	if err := run(os.Stdin, os.Stdout, os.Stderr, *base); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out, passthrough io.Writer, base string) error {
	t := newTable()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if !t.add(line) {
			fmt.Fprintln(passthrough, line)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return t.report(out, base)
}

package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// sample is one result line of a variant.
type sample struct{ ns, bytes, allocs float64 }

// table gathers samples per benchmark and variant, in the order they first appear.
type table struct {
	order    []string
	variants map[string][]string
	samples  map[string][]sample // key: benchmark + "\x00" + variant
}

func newTable() *table {
	return &table{variants: map[string][]string{}, samples: map[string][]sample{}}
}

// add parses a result line such as
// "BenchmarkAdd/money-2  13653746  92.56 ns/op  80 B/op  2 allocs/op" and reports whether it was one.
func (t *table) add(line string) bool {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
		return false
	}
	name := f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i] // the GOMAXPROCS suffix
		}
	}
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return false
	}
	bench, variant := name[:i], name[i+1:]
	var s sample
	var err error
	if s.ns, err = strconv.ParseFloat(f[2], 64); err != nil {
		return false
	}
	for k := 4; k+1 < len(f); k += 2 {
		v, err := strconv.ParseFloat(f[k], 64)
		if err != nil {
			continue
		}
		switch f[k+1] {
		case "B/op":
			s.bytes = v
		case "allocs/op":
			s.allocs = v
		}
	}
	if _, ok := t.variants[bench]; !ok {
		t.order = append(t.order, bench)
	}
	if !slices.Contains(t.variants[bench], variant) {
		t.variants[bench] = append(t.variants[bench], variant)
	}
	key := bench + "\x00" + variant
	t.samples[key] = append(t.samples[key], s)
	return true
}

func (t *table) report(w io.Writer, base string) error {
	if len(t.order) == 0 {
		return fmt.Errorf("no benchmark results with sub-benchmark variants in the input")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tvariant\truns\tns/op (median)\tB/op\tallocs/op\tratio to "+base+"\t")
	for _, bench := range t.order {
		ref, ok := t.median(bench, base)
		for _, v := range t.variants[bench] {
			m, _ := t.median(bench, v)
			ratio := "-"
			if ok && v != base && ref.ns > 0 {
				ratio = fmt.Sprintf("%.2fx", m.ns/ref.ns)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%.0f\t%.0f\t%s\t\n",
				strings.TrimPrefix(bench, "Benchmark"), v, len(t.samples[bench+"\x00"+v]), m.ns, m.bytes, m.allocs, ratio)
		}
	}
	return tw.Flush()
}

// median returns the per-field medians of a variant's samples, and false if it has none.
func (t *table) median(bench, variant string) (sample, bool) {
	ss := t.samples[bench+"\x00"+variant]
	if len(ss) == 0 {
		return sample{}, false
	}
	pick := func(get func(sample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		slices.Sort(v)
		n := len(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	return sample{
		ns:     pick(func(s sample) float64 { return s.ns }),
		bytes:  pick(func(s sample) float64 { return s.bytes }),
		allocs: pick(func(s sample) float64 { return s.allocs }),
	}, true
}

package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const (
	csvPath   = "../../iso4217.csv"
	tablePath = "../../currency_table.go"
)

// TestTableIsUpToDate fails when currency_table.go was not regenerated after iso4217.csv or the
// generator changed: run go generate in the money directory.
func TestTableIsUpToDate(t *testing.T) {
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := Generate(f)
	if err != nil {
		t.Fatalf("Generate(%s): %v", csvPath, err)
	}
	want, err := os.ReadFile(tablePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run `go generate` in the money directory", tablePath)
	}
}

const validHeader = "code,numeric,minor_units,name\n"

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		line  int    // line the error must name
		msg   string // further text the error must contain
	}{
		{
			name:  "bad header",
			input: "# comment\ncode,numeric,minor,name\nAED,784,2,UAE Dirham\n",
			line:  2,
			msg:   "header",
		},
		{
			name:  "short header",
			input: "code,numeric,minor_units\nAED,784,2,UAE Dirham\n",
			line:  1,
			msg:   "header",
		},
		{
			name:  "lowercase code",
			input: validHeader + "AED,784,2,UAE Dirham\nafn,971,2,Afghani\n",
			line:  3,
			msg:   `"afn"`,
		},
		{
			name:  "code of 4 letters",
			input: validHeader + "AEDX,784,2,UAE Dirham\n",
			line:  2,
			msg:   `"AEDX"`,
		},
		{
			name:  "duplicate code",
			input: validHeader + "AED,784,2,UAE Dirham\nAFN,971,2,Afghani\nAFN,971,2,Afghani\n",
			line:  4,
			msg:   "duplicate code AFN",
		},
		{
			name:  "unsorted",
			input: validHeader + "AFN,971,2,Afghani\nAED,784,2,UAE Dirham\n",
			line:  3,
			msg:   "not sorted",
		},
		{
			name:  "bad minor units",
			input: validHeader + "AED,784,2,UAE Dirham\nAFN,971,5,Afghani\n",
			line:  3,
			msg:   "minor_units",
		},
		{
			name:  "minor units not a number",
			input: validHeader + "AED,784,NA,UAE Dirham\n",
			line:  2,
			msg:   "minor_units",
		},
		{
			name:  "bad numeric",
			input: validHeader + "AED,784,2,UAE Dirham\nAFN,97,2,Afghani\n",
			line:  3,
			msg:   "numeric",
		},
		{
			name:  "numeric zero",
			input: validHeader + "AED,000,2,UAE Dirham\n",
			line:  2,
			msg:   "numeric",
		},
		{
			name:  "duplicate numeric",
			input: validHeader + "# a comment line still counts\nAED,784,2,UAE Dirham\nAFN,784,2,Afghani\n",
			line:  4,
			msg:   "784",
		},
		{
			name:  "empty name",
			input: validHeader + "AED,784,2,\n",
			line:  2,
			msg:   "name",
		},
		{
			name:  "wrong number of fields",
			input: validHeader + "AED,784,2,UAE Dirham\nAFN,971,2\n",
			line:  3,
		},
		{
			name:  "unterminated quote",
			input: validHeader + "AED,784,2,UAE Dirham\nAFN,971,2,\"Afghani\n",
			line:  3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := Generate(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("Generate succeeded, want an error; output:\n%s", src)
			}
			if want := "line " + strconv.Itoa(tt.line); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestGenerateEmpty(t *testing.T) {
	for _, input := range []string{"", "# only a comment\n", validHeader, validHeader + "XAU,959,N.A.,Gold\n"} {
		if _, err := Generate(strings.NewReader(input)); err == nil {
			t.Errorf("Generate(%q) succeeded, want an error", input)
		}
	}
}

// entryRE matches one generated element of isoCurrencies.
var entryRE = regexp.MustCompile(`(?m)^\t\{code: "([A-Z]{3})", name: ("(?:[^"\\]|\\.)*"), numeric: ([0-9]+), minor: ([0-9])\},$`)

type entry struct {
	name    string
	numeric int
	minor   int
}

// entries parses the generated source back into its elements, in order.
func entries(t *testing.T, src []byte) ([]string, map[string]entry) {
	t.Helper()
	var codes []string
	m := make(map[string]entry)
	for _, s := range entryRE.FindAllSubmatch(src, -1) {
		name, err := strconv.Unquote(string(s[2]))
		if err != nil {
			t.Fatalf("name %s: %v", s[2], err)
		}
		num, _ := strconv.Atoi(string(s[3]))
		minor, _ := strconv.Atoi(string(s[4]))
		code := string(s[1])
		codes = append(codes, code)
		m[code] = entry{name: name, numeric: num, minor: minor}
	}
	if n := bytes.Count(src, []byte("{code:")); n != len(codes) {
		t.Fatalf("parsed %d entries out of %d", len(codes), n)
	}
	return codes, m
}

func TestGenerateSkipsNA(t *testing.T) {
	input := "# test data\n" + validHeader +
		"BHD,048,3,Bahraini Dinar\n" +
		"FOO,999,2,\"Foo, \"\"quoted\"\" Dollar\"\n" +
		"XAU,959,N.A.,Gold\n" +
		"XTS,963,N.A.,Codes specifically reserved for testing purposes\n" +
		"XXX,048,N.A.,No currency\n" // N.A. rows do not take part in the numeric check
	src, err := Generate(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "// Code generated by gencurrency from iso4217.csv; DO NOT EDIT.\n\npackage money\n"
	if !bytes.HasPrefix(src, []byte(prefix)) {
		t.Errorf("output does not start with %q:\n%s", prefix, src)
	}
	codes, m := entries(t, src)
	if got := strings.Join(codes, " "); got != "BHD FOO" {
		t.Errorf("generated codes %q, want %q", got, "BHD FOO")
	}
	if want := (entry{name: `Foo, "quoted" Dollar`, numeric: 999, minor: 2}); m["FOO"] != want {
		t.Errorf("FOO = %+v, want %+v", m["FOO"], want)
	}
	if want := (entry{name: "Bahraini Dinar", numeric: 48, minor: 3}); m["BHD"] != want {
		t.Errorf("BHD = %+v, want %+v", m["BHD"], want)
	}
}

func TestKnownFacts(t *testing.T) {
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	src, err := Generate(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	codes, m := entries(t, src)
	for i := 1; i < len(codes); i++ {
		if codes[i-1] >= codes[i] {
			t.Errorf("codes not sorted: %s before %s", codes[i-1], codes[i])
		}
	}

	minors := map[string]int{
		"JPY": 0, "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2,
		"BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3, "LYD": 3, "IQD": 3,
		"CLF": 4, "UYW": 4,
		"ISK": 0, "KRW": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "UGX": 0, "PYG": 0,
		"XPF": 0, "KMF": 0, "GNF": 0, "DJF": 0, "RWF": 0, "VUV": 0, "BIF": 0, "UYI": 0,
		"ZWG": 2, "SLE": 2, "VED": 2, "XCG": 2, "XAD": 2,
	}
	for code, want := range minors {
		e, ok := m[code]
		if !ok {
			t.Errorf("%s is missing", code)
			continue
		}
		if e.minor != want {
			t.Errorf("%s has %d minor units, want %d", code, e.minor, want)
		}
	}

	numerics := map[string]int{
		"USD": 840, "EUR": 978, "JPY": 392, "BHD": 48, "AUD": 36, "ALL": 8,
		"ZWG": 924, "SLE": 925, "VED": 926, "XCG": 532, "XAD": 396,
	}
	for code, want := range numerics {
		if e := m[code]; e.numeric != want {
			t.Errorf("%s has numeric %d, want %d", code, e.numeric, want)
		}
	}
	if e := m["AED"]; e.name != "UAE Dirham" {
		t.Errorf("AED is named %q, want %q", e.name, "UAE Dirham")
	}

	// Withdrawn codes and codes without a minor unit must not be generated.
	for _, code := range []string{
		"HRK", "SLL", "ZWL", "CUC", "MRO", "STD", "VEF", "BYR", "LTL", "ANG", "BGN",
		"XAU", "XAG", "XPT", "XPD", "XDR", "XTS", "XXX", "XBA", "XSU", "XUA",
	} {
		if _, ok := m[code]; ok {
			t.Errorf("%s must not be generated", code)
		}
	}
	// ... but the N.A. rows are still in the data file.
	if !bytes.Contains(data, []byte("\nXAU,959,N.A.,Gold\n")) {
		t.Errorf("%s lacks the XAU row", csvPath)
	}
}

package main

import (
	"math"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// The tables are what Python 3.11's int() and float() (argparse's type=int
// and type=float) make of each argument, from testdata/flagvalues_table.py;
// an err means Python raises ValueError. The rows marked "refused here" are
// the deliberate differences: integers beyond int64, and NaN and
// infinities, which Python's float() reads.
var pythonInts = []struct {
	arg  string
	want int64
	err  string
}{
	{"10", 10, ""},
	{"010", 10, ""},
	{"0x10", 0, "invalid literal for int() with base 10: '0x10'"},
	{"0X10", 0, "invalid literal for int() with base 10: '0X10'"},
	{"0b11", 0, "invalid literal for int() with base 10: '0b11'"},
	{"0o7", 0, "invalid literal for int() with base 10: '0o7'"},
	{"+5", 5, ""},
	{" 5 ", 5, ""},
	{"-5", -5, ""},
	{"- 5", 0, "invalid literal for int() with base 10: '- 5'"},
	{"1_000", 1000, ""},
	{"1__0", 0, "invalid literal for int() with base 10: '1__0'"},
	{"_1", 0, "invalid literal for int() with base 10: '_1'"},
	{"1_", 0, "invalid literal for int() with base 10: '1_'"},
	{"-_1", 0, "invalid literal for int() with base 10: '-_1'"},
	{"", 0, "invalid literal for int() with base 10: ''"},
	{"  ", 0, "invalid literal for int() with base 10: '  '"},
	{"\xd9\xa3", 3, ""},
	{"5\x0a", 5, ""},
	{"\x095\x09", 5, ""},
	{"1e3", 0, "invalid literal for int() with base 10: '1e3'"},
	{"5.0", 0, "invalid literal for int() with base 10: '5.0'"},
	{"00", 0, ""},
	{"-0", 0, ""},
	{"+-5", 0, "invalid literal for int() with base 10: '+-5'"},
	{"--5", 0, "invalid literal for int() with base 10: '--5'"},
	{"9223372036854775807", 9223372036854775807, ""},
	{"-9223372036854775808", -9223372036854775808, ""},
	{"9223372036854775808", 0, "refused here: out of range (Python: 9223372036854775808)"},
	{"99999999999999999999", 0, "refused here: out of range (Python: 99999999999999999999)"},
	{"\xef\xbc\x91\xef\xbc\x92", 12, ""},
	{"0_0", 0, ""},
	{"5 5", 0, "invalid literal for int() with base 10: '5 5'"},
	{"\x0b5", 5, ""},
	{"\xe2\x80\x805", 5, ""},
	{"\xc2\xa05", 5, ""},
	{"\xe3\x80\x805", 5, ""},
	{"\x1c5", 0, "invalid literal for int() with base 10: '\\x1c5'"},
	{"5\x00", 0, "invalid literal for int() with base 10: '5\\x00'"},
	{"\xf0\x9d\x9f\x97", 9, ""},
	{"\xe0\xb9\x93\xe0\xb9\x92", 32, ""},
	{"\xc2\xb2", 0, "invalid literal for int() with base 10: '\xc2\xb2'"},
	{"\xe2\x85\xa8", 0, "invalid literal for int() with base 10: '\xe2\x85\xa8'"},
	{"five", 0, "invalid literal for int() with base 10: 'five'"},
	{"0777", 777, ""},
	{"1,000", 0, "invalid literal for int() with base 10: '1,000'"},
}

var pythonFloats = []struct {
	arg  string
	want float64
	err  string
}{
	{"1.5", 1.5, ""},
	{"0", 0.0, ""},
	{"-0", math.Copysign(0, -1), ""},
	{"010", 10.0, ""},
	{"1e3", 1000.0, ""},
	{"1E-3", 0.001, ""},
	{".5", 0.5, ""},
	{"5.", 5.0, ""},
	{"+.5", 0.5, ""},
	{"-.5e-2", -0.005, ""},
	{"1_000.5", 1000.5, ""},
	{"1__0", 0, "could not convert string to float: '1__0'"},
	{"0x10", 0, "could not convert string to float: '0x10'"},
	{"  2.5 ", 2.5, ""},
	{"", 0, "could not convert string to float: ''"},
	{"1e400", 0, "refused here: not finite (Python: inf)"},
	{"-1e400", 0, "refused here: not finite (Python: -inf)"},
	{"1e-400", 0.0, ""},
	{"\xd9\xa1.\xd9\xa5", 1.5, ""},
	{"5e", 0, "could not convert string to float: '5e'"},
	{"e5", 0, "could not convert string to float: 'e5'"},
	{".", 0, "could not convert string to float: '.'"},
	{"+", 0, "could not convert string to float: '+'"},
	{"0x1p3", 0, "could not convert string to float: '0x1p3'"},
	{"1_e3", 0, "could not convert string to float: '1_e3'"},
	{"1e_3", 0, "could not convert string to float: '1e_3'"},
	{"1e3_0", 1e+30, ""},
	{"1.5\x0a", 1.5, ""},
	{"\xef\xbc\x91.\xef\xbc\x95", 1.5, ""},
	{"_1.0", 0, "could not convert string to float: '_1.0'"},
	{"1.0_", 0, "could not convert string to float: '1.0_'"},
	{"1._5", 0, "could not convert string to float: '1._5'"},
	{"1_.5", 0, "could not convert string to float: '1_.5'"},
	{"3.4028235e38", 3.4028235e+38, ""},
	{"1.7976931348623157e308", 1.7976931348623157e+308, ""},
	{"4.9e-324", 5e-324, ""},
	{"1,5", 0, "could not convert string to float: '1,5'"},
	{"1.5.2", 0, "could not convert string to float: '1.5.2'"},
	{"+-1", 0, "could not convert string to float: '+-1'"},
	{"nan", 0, "refused here: not finite (Python: nan)"},
	{"NaN", 0, "refused here: not finite (Python: nan)"},
	{"-nan", 0, "refused here: not finite (Python: nan)"},
	{"+nan", 0, "refused here: not finite (Python: nan)"},
	{"inf", 0, "refused here: not finite (Python: inf)"},
	{"-inf", 0, "refused here: not finite (Python: -inf)"},
	{"+inf", 0, "refused here: not finite (Python: inf)"},
	{"Infinity", 0, "refused here: not finite (Python: inf)"},
	{"-INFINITY", 0, "refused here: not finite (Python: -inf)"},
	{"infinit", 0, "could not convert string to float: 'infinit'"},
	{"nan(1)", 0, "could not convert string to float: 'nan(1)'"},
	{"in f", 0, "could not convert string to float: 'in f'"},
	{"\xd9\xa1e\xd9\xa3", 1000.0, ""},
}

func TestDecimalIntAsPython(t *testing.T) {
	for _, tt := range pythonInts {
		var v int64
		err := newDecimalInt(&v, -1).Set(tt.arg)
		switch {
		case tt.err != "" && err == nil:
			t.Errorf("Set(%q) = %d, want an error (Python: %s)", tt.arg, v, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("Set(%q): %v, want %d", tt.arg, err, tt.want)
		case tt.err == "" && v != tt.want:
			t.Errorf("Set(%q) = %d, want %d", tt.arg, v, tt.want)
		}
	}
}

func TestFiniteFloatAsPython(t *testing.T) {
	for _, tt := range pythonFloats {
		var v float64
		err := newFiniteFloat(&v, -1).Set(tt.arg)
		switch {
		case tt.err != "" && err == nil:
			t.Errorf("Set(%q) = %g, want an error (Python: %s)", tt.arg, v, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("Set(%q): %v, want %g", tt.arg, err, tt.want)
		case tt.err == "" && math.Float64bits(v) != math.Float64bits(tt.want):
			t.Errorf("Set(%q) = %g, want %g", tt.arg, v, tt.want)
		}
	}
}

// TestFlagValuesInFlagSet parses command lines through pflag: the values
// land in their variables, the defaults show in the help, and a bad value
// is an error naming the flag.
func TestFlagValuesInFlagSet(t *testing.T) {
	newSet := func() (*pflag.FlagSet, *int, *int64, *float64, *[]float64) {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		fs.SetOutput(new(strings.Builder))
		var (
			iters  int
			seed   int64
			weight float64
			scales []float64
		)
		fs.Var(newDecimalInt(&iters, 1000), "iterations", "")
		fs.Var(newDecimalInt(&seed, 0), "seed", "")
		fs.Var(newFiniteFloat(&weight, 5), "content-weight", "")
		fs.Var(newFiniteFloatSlice(&scales, nil), "style-scales", "")
		return fs, &iters, &seed, &weight, &scales
	}
	fs, iters, seed, weight, scales := newSet()
	if *iters != 1000 || *weight != 5 || fs.Lookup("iterations").DefValue != "1000" || fs.Lookup("content-weight").DefValue != "5" {
		t.Errorf("defaults: iterations %d (%q), content-weight %g (%q)", *iters, fs.Lookup("iterations").DefValue,
			*weight, fs.Lookup("content-weight").DefValue)
	}
	err := fs.Parse([]string{"--iterations", "010", "--seed=-9223372036854775808", "--content-weight", "1_0.5e1",
		"--style-scales", "0.5", "--style-scales", "1,2"})
	if err != nil {
		t.Fatal(err)
	}
	if *iters != 10 || *seed != math.MinInt64 || *weight != 105 || len(*scales) != 3 || (*scales)[0] != 0.5 || (*scales)[2] != 2 {
		t.Errorf("parsed iterations %d, seed %d, content-weight %g, style-scales %v", *iters, *seed, *weight, *scales)
	}
	for _, args := range [][]string{
		{"--iterations", "0x10"}, {"--iterations", "0b11"}, {"--iterations", "1e3"},
		{"--content-weight", "nan"}, {"--content-weight", "-inf"}, {"--content-weight", "1e400"},
		{"--style-scales", "1,nan"}, {"--style-scales", "0x1p3"},
	} {
		fs, _, _, _, _ := newSet()
		err := fs.Parse(args)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: error %v, want one naming %s", args, err, args[0])
		}
	}
}

// TestDecimalIntRange checks the int flavour's range on every platform
// (int is 32 bits on 386): the limits read, one past them does not.
func TestDecimalIntRange(t *testing.T) {
	var v int32
	d := newDecimalInt(&v, 0)
	if err := d.Set("2147483647"); err != nil || v != math.MaxInt32 {
		t.Errorf("Set(MaxInt32) = %d, %v", v, err)
	}
	if err := d.Set("2147483648"); err == nil {
		t.Errorf("Set(MaxInt32+1) = %d, want an error", v)
	}
}

func TestSizeValue(t *testing.T) {
	var n int64
	v := newSizeValue(&n)
	if v.String() != "0" {
		t.Errorf("default shows %q", v.String())
	}
	if err := v.Set("1.5GiB"); err != nil || n != 1536<<20 || v.String() != "1.50 GiB" {
		t.Errorf("Set(1.5GiB) = %d (%q), %v", n, v.String(), err)
	}
	if err := v.Set("lots"); err == nil {
		t.Errorf("Set(lots) = %d, want an error", n)
	}
}

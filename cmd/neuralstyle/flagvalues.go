package main

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/neuralstyle/neuralstyle/internal/sysmem"
)

// Flag values that read numbers as the reference's argparse does with
// type=int and type=float (Python's int() and float()), not as Go's
// strconv: "--iterations 010" is 10, not 8, and 0x10 or 0b11 are usage
// errors. Floats must also be finite: Python reads "nan" and "inf", but no
// weight or rate may be either.

// decimalInt is a pflag.Value for an integer flag read as Python's int(s):
// decimal digits (any script's, as Python accepts them) with single
// underscores between them, an optional sign, surrounding white space.
type decimalInt[T int | int32 | int64] struct{ p *T }

// newDecimalInt sets *p to def and returns the flag value that sets it.
func newDecimalInt[T int | int32 | int64](p *T, def T) *decimalInt[T] {
	*p = def
	return &decimalInt[T]{p}
}

func (d *decimalInt[T]) Set(s string) error {
	v, err := parsePythonInt(s)
	if err != nil {
		return err
	}
	if int64(T(v)) != v { // an int of 32 bits
		return fmt.Errorf("%s is out of range", strings.TrimSpace(s))
	}
	*d.p = T(v)
	return nil
}

func (d *decimalInt[T]) String() string { return strconv.FormatInt(int64(*d.p), 10) }
func (d *decimalInt[T]) Type() string   { return "int" }

// finiteFloat is a pflag.Value for a float flag read as Python's float(s),
// refusing NaN and infinities (also those written as 1e400).
type finiteFloat struct{ p *float64 }

// newFiniteFloat sets *p to def and returns the flag value that sets it.
func newFiniteFloat(p *float64, def float64) *finiteFloat {
	*p = def
	return &finiteFloat{p}
}

func (f *finiteFloat) Set(s string) error {
	v, err := parseFiniteFloat(s)
	if err != nil {
		return err
	}
	*f.p = v
	return nil
}

func (f *finiteFloat) String() string { return strconv.FormatFloat(*f.p, 'g', -1, 64) }
func (f *finiteFloat) Type() string   { return "float" }

// finiteFloatSlice is a pflag.Value for a list of floats, each read as
// finiteFloat reads one. As pflag's float64Slice, a value may hold several
// separated by commas, the first Set replaces the default and later ones
// append (the list flags take "--styles-scales 1 0.5", which normalizeArgs
// turns into one Set per value).
type finiteFloatSlice struct {
	p       *[]float64
	changed bool
}

// newFiniteFloatSlice sets *p to def and returns the flag value that sets it.
func newFiniteFloatSlice(p *[]float64, def []float64) *finiteFloatSlice {
	*p = def
	return &finiteFloatSlice{p: p}
}

func (f *finiteFloatSlice) Set(s string) error {
	var vals []float64
	for _, part := range strings.Split(s, ",") {
		v, err := parseFiniteFloat(part)
		if err != nil {
			return err
		}
		vals = append(vals, v)
	}
	if !f.changed {
		*f.p = vals
		f.changed = true
	} else {
		*f.p = append(*f.p, vals...)
	}
	return nil
}

func (f *finiteFloatSlice) String() string {
	parts := make([]string, len(*f.p))
	for i, v := range *f.p {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (f *finiteFloatSlice) Type() string { return "floatSlice" }

var (
	pyIntRE   = regexp.MustCompile(`^[+-]?[0-9](?:_?[0-9])*$`)
	pyFloatRE = regexp.MustCompile(`^[+-]?(?:(?:[0-9](?:_?[0-9])*)(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$`)
	pyInfNaN  = regexp.MustCompile(`(?i)^[+-]?(?:inf|infinity|nan)$`)
)

// parsePythonInt reads s as Python's int(s) does, within int64.
func parsePythonInt(s string) (int64, error) {
	t := pythonNumberText(s)
	if !pyIntRE.MatchString(t) {
		return 0, fmt.Errorf("%q is not a decimal integer", s)
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is out of range", t)
	}
	return v, nil
}

// parseFiniteFloat reads s as Python's float(s) does, refusing NaN and
// infinities.
func parseFiniteFloat(s string) (float64, error) {
	t := pythonNumberText(s)
	if pyInfNaN.MatchString(t) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	if !pyFloatRE.MatchString(t) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	if math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a finite number (too large)", s)
	}
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return v, nil // an underflow reads as 0, as in Python
}

// pythonNumberText does what Python does to a number's text before parsing
// it: any script's decimal digits become ASCII ones, other white space
// becomes a space, and ASCII white space is trimmed from both ends.
func pythonNumberText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r > unicode.MaxASCII && unicode.Is(unicode.Nd, r):
			b.WriteByte(byte('0' + digitValue(r)))
		case r > unicode.MaxASCII && unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.Trim(b.String(), " \t\n\r\v\f")
}

// digitValue is the value of a decimal digit (Unicode category Nd): the
// category's ranges are runs of whole sets of ten starting at a zero.
func digitValue(r rune) int {
	for _, rg := range unicode.Nd.R16 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); r >= lo && r <= hi {
			return int(r-lo) / int(rg.Stride) % 10
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if lo, hi := rune(rg.Lo), rune(rg.Hi); r >= lo && r <= hi {
			return int(r-lo) / int(rg.Stride) % 10
		}
	}
	return 0
}

// sizeValue is a pflag.Value for a memory size ("300MB", "4GB", "1.5GiB",
// "512k"; see sysmem.ParseSize). 0, the default, means what this process
// may use.
type sizeValue struct{ p *int64 }

func newSizeValue(p *int64) *sizeValue { return &sizeValue{p} }

func (v *sizeValue) Set(s string) error {
	n, err := sysmem.ParseSize(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

func (v *sizeValue) String() string {
	if *v.p == 0 {
		return "0"
	}
	return sysmem.FormatSize(*v.p)
}

func (v *sizeValue) Type() string { return "size" }

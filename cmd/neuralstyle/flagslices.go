package main

import (
	"strconv"
	"strings"
)

// decimalIntSlice is a pflag.Value for a list of integers, each read as
// decimalInt reads one (Python's int(): "010" is 10, "0x10" an error), for
// list flags such as --scales 128,256. As pflag's intSlice, a value may
// hold several separated by commas; the first Set replaces the default and
// later ones append.
type decimalIntSlice struct {
	p       *[]int
	changed bool
}

// newDecimalIntSlice sets *p to def and returns the flag value that sets it.
func newDecimalIntSlice(p *[]int, def []int) *decimalIntSlice {
	*p = def
	return &decimalIntSlice{p: p}
}

func (d *decimalIntSlice) Set(s string) error {
	var vals []int
	for _, part := range strings.Split(s, ",") {
		var v int
		if err := newDecimalInt(&v, 0).Set(part); err != nil {
			return err
		}
		vals = append(vals, v)
	}
	if !d.changed {
		*d.p = vals
		d.changed = true
	} else {
		*d.p = append(*d.p, vals...)
	}
	return nil
}

func (d *decimalIntSlice) String() string {
	parts := make([]string, len(*d.p))
	for i, v := range *d.p {
		parts[i] = strconv.Itoa(v)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (d *decimalIntSlice) Type() string { return "intSlice" }

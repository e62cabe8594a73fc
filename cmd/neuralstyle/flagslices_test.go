package main

import (
	"slices"
	"testing"
)

func TestDecimalIntSlice(t *testing.T) {
	for _, tt := range []struct {
		sets []string
		want []int
		ok   bool
	}{
		{[]string{"010,256"}, []int{10, 256}, true},
		{[]string{"128", "256"}, []int{128, 256}, true},
		{[]string{" 1_000 "}, []int{1000}, true},
		{[]string{"0x10"}, nil, false},
		{[]string{"64,0b11"}, nil, false},
		{[]string{"1.5"}, nil, false},
		{[]string{""}, nil, false},
	} {
		got := []int{7}
		v := newDecimalIntSlice(&got, got)
		var err error
		for _, s := range tt.sets {
			if err = v.Set(s); err != nil {
				break
			}
		}
		if (err == nil) != tt.ok || (tt.ok && !slices.Equal(got, tt.want)) {
			t.Errorf("Set(%q): %v, %v; want %v (ok %v)", tt.sets, got, err, tt.want, tt.ok)
		}
	}
}

package main

import (
	"io"
	"reflect"
	"testing"

	"github.com/spf13/cobra"
)

func TestNormalizeArgs(t *testing.T) {
	cmd, _ := newCommand(io.Discard, io.Discard, func(*cobra.Command, *cli) error { return nil })
	tests := []struct{ in, want []string }{
		{[]string{"--styles", "a.jpg", "b.jpg", "--output", "o.jpg"},
			[]string{"--styles", "a.jpg", "--styles", "b.jpg", "--output", "o.jpg"}},
		{[]string{"--style-blend-weights", "0.8", "0.2"},
			[]string{"--style-blend-weights", "0.8", "--style-blend-weights", "0.2"}},
		{[]string{"--style-scales=1", "-0.5", "2"},
			[]string{"--style-scales=1", "--style-scales", "-0.5", "--style-scales", "2"}},
		{[]string{"--styles", "a.jpg", "-q"}, []string{"--styles", "a.jpg", "-q"}},
		{[]string{"--iter", "10", "--print-iter=2"}, []string{"--iterations", "10", "--print-iterations=2"}},
		// ambiguous prefixes are left for the parser to report
		{[]string{"--style", "x"}, []string{"--style", "x"}},
		{[]string{"--content-weight", "5"}, []string{"--content-weight", "5"}},
	}
	for _, tt := range tests {
		if got := normalizeArgs(cmd.Flags(), tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

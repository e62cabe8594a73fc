package main

import (
	"io"
	"os"
	"path/filepath"
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
		{[]string{"--content-weight", "5"}, []string{"--content-weight", "5"}},
		{[]string{"--seed", "-5", "--content", "-"}, []string{"--seed", "-5", "--content", "-"}},
		{[]string{"--progress-write", "--overwrite"}, []string{"--progress-write", "--overwrite"}},
		{[]string{"--frob", "x"}, []string{"--frob", "x"}}, // unknown: the parser reports it
		{[]string{"--he"}, []string{"--help"}},
	}
	for _, tt := range tests {
		got, err := normalizeArgs(cmd.Flags(), tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("normalizeArgs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestNormalizeArgsRefuses: argparse's errors for an ambiguous prefix and
// for a flag whose value is missing (pflag would take the next flag as it).
func TestNormalizeArgsRefuses(t *testing.T) {
	cmd, _ := newCommand(io.Discard, io.Discard, func(*cobra.Command, *cli) error { return nil })
	for _, tt := range []struct {
		in   []string
		want string
	}{
		{[]string{"--cont", "x"}, "ambiguous option: --cont could match --content, --content-weight-blend, --content-weight, --content-layers"},
		{[]string{"--style", "x"}, "ambiguous option: --style could match --styles, --style-scales, --style-weight, --style-layer-weight-exp, --style-blend-weights, --style-layers"},
		{[]string{"--styles", "--output", "o.png"}, "--styles needs a value"},
		{[]string{"--content", "--output", "o.png"}, "--content needs a value"},
		{[]string{"--output"}, "--output needs a value"},
		{[]string{"--iter"}, "--iterations needs a value"},
	} {
		_, err := normalizeArgs(cmd.Flags(), tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("normalizeArgs(%q): error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestSplitFileList(t *testing.T) {
	dir := t.TempDir()
	comma := filepath.Join(dir, "sty,le.png")
	if err := os.WriteFile(comma, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := splitFileList([]string{"a.jpg,b.jpg", comma, `q"x.png`, "c.jpg"})
	want := []string{"a.jpg", "b.jpg", comma, `q"x.png`, "c.jpg"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("splitFileList = %q, want %q", got, want)
	}
}

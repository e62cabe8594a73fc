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
		// ambiguous prefixes are left for the parser to report
		{[]string{"--style", "x"}, []string{"--style", "x"}},
		{[]string{"--content-weight", "5"}, []string{"--content-weight", "5"}},
		// a flag right after a list flag is not one of its values
		{[]string{"--styles", "--output", "x"}, []string{"--styles", "--output", "x"}},
	}
	for _, tt := range tests {
		if got := normalizeArgs(cmd.Flags(), tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("normalizeArgs(%q) = %q, want %q", tt.in, got, tt.want)
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

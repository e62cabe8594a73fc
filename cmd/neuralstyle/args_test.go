package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// FuzzNormalizeArgs: any arguments are rewritten without a panic, and
// what is not a flag comes out unchanged and in order, each value once.
func FuzzNormalizeArgs(f *testing.F) {
	for _, seed := range []string{
		"--styles\x00a.jpg\x00b.jpg\x00--output\x00o.png",
		"--cont\x00x", "--styles\x00--output\x00o.png", "--iter=3\x00--seed\x00-5",
		"--\x00--styles", "-q\x00--style-scales\x001\x00-0.5", "--=x\x00---\x00--",
	} {
		f.Add(seed)
	}
	cmd, _ := newCommand(io.Discard, io.Discard, func(*cobra.Command, *cli) error { return nil })
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		out, err := normalizeArgs(cmd.Flags(), args)
		if err != nil {
			return
		}
		var in, got []string
		for _, a := range args {
			if a == "--" {
				break
			}
			if !strings.HasPrefix(a, "--") {
				in = append(in, a)
			}
		}
		for _, a := range out {
			if a == "--" {
				break
			}
			if !strings.HasPrefix(a, "--") {
				got = append(got, a)
			}
		}
		if !reflect.DeepEqual(in, got) {
			t.Errorf("normalizeArgs(%q) = %q: values %q, want %q", args, out, got, in)
		}
	})
}

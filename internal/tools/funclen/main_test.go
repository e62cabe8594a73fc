package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFunc writes a Go file at root/rel holding one function (or method,
// when recv is set) of exactly lines lines.
func writeFunc(t *testing.T, root, rel, recv, name string, lines int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("package p\n\n")
	if recv != "" {
		b.WriteString("type " + recv + " struct{}\n\nfunc (*" + recv + ") " + name + "() {\n")
	} else {
		b.WriteString("func " + name + "() {\n")
	}
	for range lines - 2 {
		b.WriteString("\t_ = 0\n")
	}
	b.WriteString("}\n")
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	root := t.TempDir()
	writeFunc(t, root, "internal/a/ok.go", "", "atLimit", 100)
	writeFunc(t, root, "internal/a/long.go", "", "overLimit", 101)
	writeFunc(t, root, "internal/stylize/ok.go", "", "atStrict", 80)
	writeFunc(t, root, "internal/stylize/long.go", "T", "overStrict", 81)
	writeFunc(t, root, "cmd/x/long.go", "", "overStrictCmd", 81)
	writeFunc(t, root, "cmdx/ok.go", "", "notStrict", 81) // "cmdx" is not "cmd"
	writeFunc(t, root, "internal/a/long_test.go", "", "testsSkipped", 500)
	writeFunc(t, root, "internal/a/testdata/long.go", "", "testdataSkipped", 500)
	writeFunc(t, root, "internal/nn/fast/gen.go", "", "exemptFile", 500)
	writeFunc(t, root, "internal/nn/conv_kernel.go", "convCore", "block", 500)
	writeFunc(t, root, "internal/nn/other.go", "convCore", "block", 101) // the exemption is per file

	found, err := check(root, 100, 80)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		got = append(got, f.path+" "+f.name)
	}
	want := []string{
		"cmd/x/long.go overStrictCmd",
		"internal/a/long.go overLimit",
		"internal/nn/other.go convCore.block",
		"internal/stylize/long.go T.overStrict",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range found {
		if f.name == "overLimit" && (f.lines != 101 || f.limit != 100) {
			t.Errorf("overLimit: %d lines limit %d, want 101 limit 100", f.lines, f.limit)
		}
		if f.name == "T.overStrict" && (f.lines != 81 || f.limit != 80) {
			t.Errorf("T.overStrict: %d lines limit %d, want 81 limit 80", f.lines, f.limit)
		}
	}
}

func TestCheckFlagLimits(t *testing.T) {
	root := t.TempDir()
	writeFunc(t, root, "internal/a/f.go", "", "f", 50)
	found, err := check(root, 49, 80)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].lines != 50 || found[0].limit != 49 {
		t.Errorf("found %+v, want f at 50 lines over 49", found)
	}
}

func TestCheckParseError(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "bad.go"), []byte("package p\nfunc {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := check(root, 100, 80); err == nil || !strings.Contains(err.Error(), "bad.go") {
		t.Errorf("err = %v, want a parse error naming bad.go", err)
	}
}

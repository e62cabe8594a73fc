package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/stylize"
)

// TestDecimalIterations: integer flags are decimal as argparse's int():
// "010" is ten iterations, not Go's octal eight.
func TestDecimalIterations(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, baseArgs(dir, "--iterations", "010")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "Iteration   10/  10") {
		t.Errorf("--iterations 010 did not run 10 iterations:\n%s", stdout)
	}
}

// TestCheckpointIterationsZero: argparse accepts --checkpoint-iterations 0
// with --checkpoint-output; only the final checkpoint is written.
func TestCheckpointIterationsZero(t *testing.T) {
	dir := t.TempDir()
	args := baseArgs(dir, "--checkpoint-output", filepath.Join(dir, "c{}.png"), "--checkpoint-iterations", "0", "-q")
	if code, _, stderr := runCLI(t, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"c3.png", "out.png"}) {
		t.Errorf("files %v, want [c3.png out.png]", names)
	}
}

// TestCheckpointKeepsContent: a checkpoint name that is the content's is
// refused before the run without --overwrite (it used to replace it).
func TestCheckpointKeepsContent(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(tiny, "content.png"))
	if err != nil {
		t.Fatal(err)
	}
	content := filepath.Join(dir, "c0.png")
	if err := os.WriteFile(content, data, 0o644); err != nil {
		t.Fatal(err)
	}
	args := baseArgs(dir, "--content", content, "--checkpoint-output", filepath.Join(dir, "c{}.png"), "--checkpoint-iterations", "1", "-q")
	code, _, stderr := runCLI(t, args...)
	if code != exitRuntime || !strings.Contains(stderr, "c0.png already exists") {
		t.Errorf("exit %d, stderr %q; want 1 and c0.png already exists", code, stderr)
	}
	if got, _ := os.ReadFile(content); string(got) != string(data) {
		t.Error("the content image was replaced")
	}
	if _, err := os.Stat(filepath.Join(dir, "out.png")); err == nil {
		t.Error("the run went on")
	}
}

// TestOverwriteSymlink: an --output that is a symbolic link, with
// --overwrite, is written at the link's target as the reference does; the
// link stays.
func TestOverwriteSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.png")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "out.png")
	if err := os.Symlink("target.png", link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if code, _, stderr := runCLI(t, baseArgs(dir, "--overwrite", "-q")...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
	decode(t, target)
}

// TestInterruptDuringSave: a Ctrl-C after the last iteration, while the
// image is written, lets the save finish and exits 130.
func TestInterruptDuringSave(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testHookEvent = func(ev stylize.Event) {
		if ev.Kind == stylize.EventLosses && ev.Iteration == ev.Iterations {
			cancel() // the loop is done: what follows is the save
		}
	}
	defer func() { testHookEvent = nil }()
	var stdout, stderr bytes.Buffer
	code := run(ctx, baseArgs(dir, "--progress-write"), &stdout, &stderr)
	if code != exitInterrupt {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupt, stderr.String())
	}
	if !strings.Contains(stderr.String(), "out.png was written in full") {
		t.Errorf("stderr does not say the image was written: %q", stderr.String())
	}
	decode(t, filepath.Join(dir, "out.png"))
	if rows := readProgress(t, filepath.Join(dir, "progress.txt")); len(rows) != 1 {
		t.Errorf("progress.txt has %d rows, want 1", len(rows))
	}
}

// failingWriter fails every write, as a full disk or a closed pipe does.
type failingWriter struct{ writes int }

func (f *failingWriter) Write([]byte) (int, error) {
	f.writes++
	return 0, errors.New("no space left on device")
}

// TestProgressWriter: the first failed write is said once on stderr, the
// later ones are neither tried nor said, and none fails the caller.
func TestProgressWriter(t *testing.T) {
	var fw failingWriter
	var stderr bytes.Buffer
	p := &progressWriter{w: &fw, errw: &stderr}
	for range 3 {
		if n, err := fmt.Fprintln(p, "Iteration    1/   3"); err != nil || n != 20 {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	if fw.writes != 1 || stderr.String() != "neuralstyle: cannot write the progress to stdout (no space left on device); going on without it\n" {
		t.Errorf("%d writes tried, stderr %q", fw.writes, stderr.String())
	}
}

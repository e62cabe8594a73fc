package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
)

// fixedArgs is a deterministic run on the tiny network from its initial
// image (no noise), recording every iteration.
func fixedArgs(dir string, extra ...string) []string {
	return append([]string{"--network", filepath.Join(tiny, "vgg19-tiny-new.mat"),
		"--content", filepath.Join(tiny, "content.png"), "--styles", filepath.Join(tiny, "style1.png"),
		"--initial", filepath.Join(tiny, "initial.png"), "--initial-noiseblend", "0",
		"--output", filepath.Join(dir, "out.png"), "--print-iterations", "1", "--progress-write"}, extra...)
}

// lastTotal is the total loss of progress.txt's last row.
func lastTotal(t *testing.T, dir string) float64 {
	t.Helper()
	rows := readProgress(t, filepath.Join(dir, "progress.txt"))
	return rows[len(rows)-1][4]
}

// TestLBFGSBeatsAdam: on the tiny fixture L-BFGS's loss after 10
// iterations is well below the reference Adam's (measured 0.22-0.29 of
// it), with one row per iteration as Adam's.
func TestLBFGSBeatsAdam(t *testing.T) {
	totals := map[string]float64{}
	for _, opt := range []string{"adam", "lbfgs"} {
		dir := t.TempDir()
		if code, _, stderr := runCLI(t, fixedArgs(dir, "--iterations", "10", "--optimizer", opt, "--quiet")...); code != 0 {
			t.Fatalf("%s: exit %d: %s", opt, code, stderr)
		}
		if rows := readProgress(t, filepath.Join(dir, "progress.txt")); len(rows) != 10 {
			t.Errorf("%s: %d progress rows, want 10", opt, len(rows))
		}
		totals[opt] = lastTotal(t, dir)
	}
	ratio := totals["lbfgs"] / totals["adam"]
	t.Logf("loss after 10 iterations: adam %g, lbfgs %g (ratio %.3f)", totals["adam"], totals["lbfgs"], ratio)
	if !(ratio < 0.4) {
		t.Errorf("L-BFGS's loss is %.3f of Adam's after 10 iterations, want below 0.4", ratio)
	}
}

// runUntil runs the command, cancelling it when stop says so.
func runUntil(t *testing.T, stop func(stylize.Event) bool, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testHookEvent = func(ev stylize.Event) {
		if stop != nil && stop(ev) {
			cancel()
		}
	}
	defer func() { testHookEvent = nil }()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stderr.String()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.WriteFile(to, readFile(t, from), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestResumeBitForBit: a run interrupted (Ctrl-C) after a checkpoint, or
// killed after one (its state file is the checkpoint's), and resumed ends
// with the output and progress.txt of a run never interrupted, byte for
// byte, with each optimiser, with and without scales; the state file is
// gone at the end.
func TestResumeBitForBit(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra []string
		scale int    // the scale (1-based, 0 without scales) and
		stop  int    // the step in it (1-based) whose start cancels
		last  string // the last checkpoint
	}{
		{"adam", []string{"--optimizer", "adam"}, 0, 6, "ck_8.png"},
		{"lbfgs", []string{"--optimizer", "lbfgs", "--lbfgs-history", "3"}, 0, 6, "ck_8.png"},
		{"lbfgs scales", []string{"--optimizer", "lbfgs", "--scales", "16,37", "--scale-iterations", "5,7"}, 2, 6, "ck_12.png"},
		{"adam scales", []string{"--scales", "16,30", "--scale-iterations", "5,7"}, 2, 3, "ck_12.png"},
		{"adam first scale", []string{"--scales", "16,30", "--scale-iterations", "5,7"}, 1, 3, "ck_12.png"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := func(dir string, more ...string) []string {
				a := fixedArgs(dir, append([]string{"--iterations", "8", "--checkpoint-iterations", "3",
					"--checkpoint-output", filepath.Join(dir, "ck_{}.png"), "--progress-plot"}, tt.extra...)...)
				return append(a, more...)
			}
			whole := t.TempDir()
			if code, stderr := runUntil(t, nil, args(whole)...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, how := range []string{"interrupted", "killed"} {
				dir := t.TempDir()
				state := filepath.Join(dir, "out.png.state")
				backup := filepath.Join(dir, "backup")
				stop := func(ev stylize.Event) bool {
					if ev.Kind != stylize.EventIteration || ev.Scale != tt.scale {
						return false
					}
					if ev.Iteration == tt.stop-1 {
						copyFile(t, state, backup) // the last checkpoint's state
					}
					return ev.Iteration == tt.stop
				}
				code, stderr := runUntil(t, stop, args(dir)...)
				if code != exitInterrupt {
					t.Fatalf("%s: exit %d, want %d: %s", how, code, exitInterrupt, stderr)
				}
				if how == "killed" {
					copyFile(t, backup, state)
				}
				if code, stderr := runUntil(t, nil, args(dir, "--resume")...); code != 0 {
					t.Fatalf("%s: resume: exit %d: %s", how, code, stderr)
				}
				for _, name := range []string{"out.png", "progress.txt", tt.last} {
					if !bytes.Equal(readFile(t, filepath.Join(whole, name)), readFile(t, filepath.Join(dir, name))) {
						t.Errorf("%s and resumed: %s differs from the uninterrupted run's", how, name)
					}
				}
				if _, err := os.Stat(state); err == nil {
					t.Errorf("%s: the state file is left after the run completed", how)
				}
			}
		})
	}
}

// TestResumeRefuses: --resume refuses, naming it, a state saved with other
// settings or inputs, a corrupt or truncated one, and a missing one, each
// in one line.
func TestResumeRefuses(t *testing.T) {
	dir := t.TempDir()
	args := fixedArgs(dir, "--iterations", "20")
	code, stderr := runUntil(t, func(ev stylize.Event) bool { return ev.Kind == stylize.EventIteration && ev.Iteration == 3 }, args...)
	if code != exitInterrupt {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	state := filepath.Join(dir, "out.png.state")
	good := readFile(t, state)
	otherContent := filepath.Join(dir, "content.png")
	img, err := imageio.Read(filepath.Join(tiny, "content.png"), imageio.ReadOptions{MaxPixels: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	img.Pix[0] = 255 - img.Pix[0]
	if err := imageio.Save(otherContent, img); err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)/2] ^= 1
	for _, tt := range []struct {
		name  string
		state []byte // nil: no state file
		extra []string
		want  string
	}{
		{"other option", good, []string{"--tv-weight", "50"}, "--tv-weight 100, this run has 50"},
		{"other optimiser", good, []string{"--optimizer", "lbfgs"}, "--optimizer adam, this run has lbfgs"},
		{"other seed", good, []string{"--seed", "5"}, "--seed"},
		{"other content", good, []string{"--content", otherContent}, "--content SHA-256"},
		{"corrupt", corrupt, nil, "checksum"},
		{"truncated", good[:len(good)-10], nil, "truncated"},
		{"not a state", []byte("hello, world, this is not it"), nil, "not a neuralstyle state file"},
		{"missing", nil, nil, "found no state file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(state)
			if tt.state != nil {
				if err := os.WriteFile(state, tt.state, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			a := append(append([]string{}, args...), tt.extra...)
			code, _, stderr := runCLI(t, append(a, "--resume", "--quiet")...)
			if code == 0 || code == exitInterrupt {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") > 2 || strings.Contains(stderr, "goroutine") {
				t.Errorf("stderr %q does not say %q in one line", stderr, tt.want)
			}
		})
	}
}

// TestScales: a coarse-to-fine run gives an output of the last scale's
// width, progress.txt in blocks under "# scale W x H" lines, checkpoints
// numbered by the steps of the whole run, and the scale in the progress
// lines.
func TestScales(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, fixedArgs(dir, "--scales", "12,24", "--scale-iterations", "3,2",
		"--checkpoint-iterations", "2", "--checkpoint-output", filepath.Join(dir, "ck_{}.png"))...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b := decode(t, filepath.Join(dir, "out.png")).Bounds(); b.Dx() != 24 || b.Dy() != 18 {
		t.Errorf("output %v, want 24x18", b)
	}
	text := string(readFile(t, filepath.Join(dir, "progress.txt")))
	var comments, rows []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n")[1:] {
		if strings.HasPrefix(line, "#") {
			comments = append(comments, line)
		} else {
			rows = append(rows, strings.Fields(line)[0])
		}
	}
	itr := func(s string) string { v, _ := strconv.ParseFloat(s, 64); return strconv.Itoa(int(v)) }
	var labels []string
	for _, r := range rows {
		labels = append(labels, itr(r))
	}
	if strings.Join(comments, "|") != "# scale 12 x 9|# scale 24 x 18" || strings.Join(labels, " ") != "0 1 3 0 2" {
		t.Errorf("progress.txt comments %q, rows at %v; want the two scales, rows 0 1 3 and 0 2", comments, labels)
	}
	// scale 1: steps 1..3, checkpoints after steps 1, 3 (the last); scale 2:
	// steps 4, 5, checkpoints after steps 4 and 5.
	for _, name := range []string{"ck_1.png", "ck_3.png", "ck_4.png", "ck_5.png"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("checkpoint %s: %v", name, err)
		}
	}
	for _, want := range []string{"scale 1/2 (12x9): 3 iterations", "scale 2/2 (24x18) Iteration    2/   2"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("progress lines do not show %q:\n%s", want, stdout)
		}
	}
	if strings.Count(stdout, "Optimization started...") != 1 {
		t.Errorf("want one start line:\n%s", stdout)
	}
}

// TestTimeFlags: the new flags' usage errors name the flag in one line,
// and --help shows them with the L-BFGS memory note.
func TestTimeFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--optimizer", "sgd"}, `--optimizer must be adam or lbfgs, got "sgd"`},
		{[]string{"--optimizer", "lbfgs", "--lbfgs-history", "0"}, "--lbfgs-history must be at least 1, got 0"},
		{[]string{"--scales", "64,128", "--width", "128"}, "--width and --scales: the last scale is the output's width"},
		{[]string{"--scales", "64,0"}, "--scales must be positive widths, got 0"},
		{[]string{"--scales", "64,128", "--scale-iterations", "5"}, "--scale-iterations has 1 counts for 2 scales"},
		{[]string{"--scale-iterations", "5"}, "--scale-iterations needs --scales"},
	} {
		code, _, stderr := runCLI(t, baseArgs(dir, tt.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") > 2 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, exitUsage, tt.want)
		}
	}
	_, stdout, _ := runCLI(t, "--help")
	for _, want := range []string{"--optimizer", "--lbfgs-history", "2.5 GB", "--scales", "--scale-iterations", "--resume", "OUTPUT.state"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--help does not show %s", want)
		}
	}
}

// TestOneScaleIsWidth: --scales with one width is --width: the same output
// byte for byte.
func TestOneScaleIsWidth(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if code, _, stderr := runCLI(t, fixedArgs(a, "--width", "20", "--iterations", "4", "--quiet")...); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := runCLI(t, fixedArgs(b, "--scales", "20", "--iterations", "4", "--quiet")...); code != 0 {
		t.Fatal(stderr)
	}
	if !bytes.Equal(readFile(t, filepath.Join(a, "out.png")), readFile(t, filepath.Join(b, "out.png"))) {
		t.Error("--scales 20 and --width 20 give different outputs")
	}
}

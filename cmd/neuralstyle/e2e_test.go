package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

const tiny = "../../testdata/vgg19-tiny"

func loadCases(t *testing.T) []vggtest.Case {
	t.Helper()
	v, err := vggtest.LoadVectors(tiny)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) != 3 {
		t.Fatalf("vectors.json has %d cases, want 3", len(v.Cases))
	}
	return v.Cases
}

func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// runCLI runs the command in-process and returns its status and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestReferenceCases reproduces the reference's 10-step runs in
// vectors.json: the losses in progress.txt within a relative 1e-3, the
// output's pixels within 1 level on 99.9% of them.
func TestReferenceCases(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.Network+"/"+c.Name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.png")
			args := []string{"--network", filepath.Join(tiny, c.Network),
				"--content", filepath.Join(tiny, "content.png"),
				"--initial", filepath.Join(tiny, "initial.png"), "--initial-noiseblend", "0",
				"--iterations", strconv.Itoa(c.Iterations), "--print-iterations", "1", "--progress-write",
				"--output", out, "--pooling", c.Pooling,
				"--content-weight", g(c.ContentWeight), "--content-weight-blend", g(c.ContentWeightBlend),
				"--style-weight", g(c.StyleWeight), "--style-layer-weight-exp", g(c.StyleLayerWeightExp),
				"--tv-weight", g(c.TVWeight), "--learning-rate", g(c.LearningRate),
				"--beta1", g(c.Beta1), "--beta2", g(c.Beta2), "--eps", g(c.Epsilon),
				"--styles"}
			for _, s := range c.Styles {
				args = append(args, filepath.Join(tiny, s))
			}
			if c.StyleBlendWeights != nil {
				args = append(args, "--style-blend-weights")
				for _, w := range c.StyleBlendWeights {
					args = append(args, g(w))
				}
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\nstderr: %s", code, stderr)
			}
			if !strings.Contains(stdout, "Optimization started...") || !strings.Contains(stdout, "Iteration   10/  10") {
				t.Errorf("plain progress lines missing:\n%s", stdout)
			}
			worstRel := checkLossHistory(t, readProgress(t, filepath.Join(dir, "progress.txt")), c)
			img := decode(t, out)
			b := img.Bounds()
			h, w := c.FinalImage.Shape[0], c.FinalImage.Shape[1]
			if b.Dx() != w || b.Dy() != h {
				t.Fatalf("output is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
			}
			off, worst := 0, 0
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					r, gg, bb, _ := img.At(x, y).RGBA()
					got := [3]int{int(r >> 8), int(gg >> 8), int(bb >> 8)}
					for ch := 0; ch < 3; ch++ {
						want := int(math.Max(0, math.Min(255, c.FinalImage.Data[(y*w+x)*3+ch])))
						d := got[ch] - want
						if d < 0 {
							d = -d
						}
						if d > 1 {
							off++
						}
						worst = max(worst, d)
					}
				}
			}
			t.Logf("worst relative loss error %.2g; %d pixel values more than 1 level off, worst %d", worstRel, off, worst)
			if frac := float64(off) / float64(h*w*3); frac > 0.001 {
				t.Errorf("%.3f%% of pixel values more than 1 level off (worst %d)", 100*frac, worst)
			}
		})
	}
}

// checkLossHistory compares progress.txt's rows with the reference's
// recorded losses, within a relative 1e-3, and returns the worst relative
// error.
func checkLossHistory(t *testing.T, rows [][]float64, c vggtest.Case) (worstRel float64) {
	t.Helper()
	wantItr := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 10}
	if len(rows) != len(c.LossHistory) {
		t.Fatalf("progress.txt has %d rows, want %d", len(rows), len(c.LossHistory))
	}
	for i, row := range rows {
		if row[0] != wantItr[i] {
			t.Errorf("row %d: itr %v, want %v", i, row[0], wantItr[i])
		}
		for j, key := range []string{"content", "style", "tv", "total"} {
			want := c.LossHistory[i][key]
			rel := math.Abs(row[j+1]-want) / math.Max(math.Abs(want), 1e-30)
			worstRel = math.Max(worstRel, rel)
			if rel > 1e-3 {
				t.Errorf("row %d %s = %v, want %v (relative error %.2g)", i, key, row[j+1], want, rel)
			}
		}
	}
	return worstRel
}

func readProgress(t *testing.T, path string) [][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() || sc.Text() != "# itr content style tv total" {
		t.Fatalf("progress.txt header %q", sc.Text())
	}
	var rows [][]float64
	for sc.Scan() {
		fields := strings.Split(sc.Text(), " ")
		if len(fields) != 5 {
			t.Fatalf("progress.txt row %q", sc.Text())
		}
		var row []float64
		for _, f := range fields {
			if len(f) != len("0.000000000000000000e+00") && !strings.Contains(f, "e+1") && !strings.Contains(f, "e-1") {
				t.Errorf("value %q is not in %%.18e", f)
			}
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return rows
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// baseArgs is a quick run on the tiny network.
func baseArgs(dir string, extra ...string) []string {
	return append([]string{"--network", filepath.Join(tiny, "vgg19-tiny-new.mat"),
		"--content", filepath.Join(tiny, "content.png"), "--styles", filepath.Join(tiny, "style1.png"),
		"--output", filepath.Join(dir, "out.png"), "--iterations", "3", "--seed", "1"}, extra...)
}

func TestCheckpointFiles(t *testing.T) {
	for _, tt := range []struct {
		format string
		want   []string
	}{
		// steps i = 0..4: checkpoints at i = 0, 2 and the last, numbered i+1
		{"ck_{:05}.png", []string{"ck_00000.png", "ck_00002.png", "ck_00005.png"}},
		{"ck_%d.jpg", []string{"ck_0.jpg", "ck_2.jpg", "ck_5.jpg"}},
		{"ck_{}.png", []string{"ck_0.png", "ck_2.png", "ck_5.png"}},
	} {
		dir := t.TempDir()
		args := baseArgs(dir, "--iterations", "5", "--checkpoint-iterations", "2",
			"--checkpoint-output", filepath.Join(dir, tt.format), "--quiet")
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", tt.format, code, stderr)
		}
		entries, _ := os.ReadDir(dir)
		var got []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "ck_") {
				got = append(got, e.Name())
				decode(t, filepath.Join(dir, e.Name()))
			} else if e.Name() != "out.png" {
				t.Errorf("stray file %s", e.Name())
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: checkpoints %v, want %v", tt.format, got, tt.want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	net := filepath.Join(tiny, "vgg19-tiny-new.mat")
	content := filepath.Join(tiny, "content.png")
	style := filepath.Join(tiny, "style1.png")
	out := filepath.Join(dir, "out.png")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no content", []string{"--styles", style, "--output", out, "--network", net}, "--content is required"},
		{"no styles", []string{"--content", content, "--output", out, "--network", net}, "--styles is required"},
		{"no output", []string{"--content", content, "--styles", style, "--network", net}, "--output is required"},
		{"checkpoint output alone", append(baseArgs(dir), "--checkpoint-output", "x_{}.png"), "--checkpoint-output and --checkpoint-iterations: use either both or neither"},
		{"checkpoint iterations alone", append(baseArgs(dir), "--checkpoint-iterations", "5"), "--checkpoint-output and --checkpoint-iterations: use either both or neither"},
		{"no placeholder", append(baseArgs(dir), "--checkpoint-output", "x.png", "--checkpoint-iterations", "5"), "placeholder"},
		{"scales count", append(baseArgs(dir), "--style-scales", "1", "2"), "2 style scales for 1 style images"},
		{"blend count", append(baseArgs(dir), "--style-blend-weights", "1", "2"), "2 style blend weights for 1 style images"},
		{"zero print iterations", append(baseArgs(dir), "--print-iterations", "-1"), "print-iterations must be positive"},
		{"zero iterations", append(baseArgs(dir), "--iterations", "0"), "iterations must be positive"},
		{"negative iterations", append(baseArgs(dir), "--iterations", "-4"), "iterations must be positive"},
		{"pooling", append(baseArgs(dir), "--pooling", "min"), `--pooling must be max or avg, got "min"`},
		{"unknown content layer", append(baseArgs(dir), "--content-layers", "relu4_2,pool4"), `--content-layers has unknown layer "pool4": valid layers are relu1_1 .. relu5_4`},
		{"unknown style layer", append(baseArgs(dir), "--style-layers", "relu6_1"), `--style-layers has unknown layer "relu6_1"`},
		{"repeated style layer", append(baseArgs(dir), "--style-layers", "relu1_1,relu1_1"), `--style-layers lists layer "relu1_1" twice`},
		{"blend with other content layers", append(baseArgs(dir), "--content-layers", "relu3_1", "--content-weight-blend", "0.5"),
			"--content-weight-blend weighs only the default --content-layers [relu4_2 relu5_2]"},
		{"unknown backend", append(baseArgs(dir), "--backend", "opencl"), `--backend "opencl" is not a backend of this build`},
		{"negative seed", append(baseArgs(dir), "--seed", "-5"), "--seed must be 0 or more, got -5"},
		{"noise blend", append(baseArgs(dir), "--initial-noiseblend", "1.5"), "--initial-noiseblend must be in [0, 1], got 1.5"},
		{"unknown flag", append(baseArgs(dir), "--frobnicate"), "unknown flag"},
		{"bad number", append(baseArgs(dir), "--tv-weight", "lots"), "invalid argument"},
		{"stray argument", append(baseArgs(dir), "--content-weight", "5", "extra"), "unknown command"},
		// Numbers as argparse's int() and float() read them; non-finite
		// floats would run to the end and write a black image.
		{"hex iterations", append(baseArgs(dir), "--iterations", "0x10"), `"0x10" is not a decimal integer`},
		{"binary width", append(baseArgs(dir), "--width", "0b11"), `"0b11" is not a decimal integer`},
		{"nan tv weight", append(baseArgs(dir), "--tv-weight", "nan"), `"nan" is not a finite number`},
		{"inf learning rate", append(baseArgs(dir), "--learning-rate=-inf"), `"-inf" is not a finite number`},
		{"inf beta1", append(baseArgs(dir), "--beta1", "Infinity"), `"Infinity" is not a finite number`},
		{"huge eps", append(baseArgs(dir), "--eps", "1e400"), `"1e400" is not a finite number`},
		{"nan content weight", append(baseArgs(dir), "--content-weight", "NaN"), `"NaN" is not a finite number`},
		{"nan blend weight", append(baseArgs(dir), "--style-blend-weights", "nan"), `"nan" is not a finite number`},
		{"inf style scale", append(baseArgs(dir), "--style-scales", "inf"), `"inf" is not a finite number`},
		{"width 0", append(baseArgs(dir), "--width", "0"), "--width must be positive, got 0"},
		// argparse's messages
		{"ambiguous prefix", append(baseArgs(dir), "--cont", "x.png"), "ambiguous option: --cont could match --content, --content-weight-blend, --content-weight"},
		{"styles without a value", append(baseArgs(dir), "--styles", "--output", out), "--styles needs a value"},
		{"missing network", []string{"--content", content, "--styles", style, "--output", out, "--network", filepath.Join(dir, "nope.mat")},
			"does not exist. (Did you forget to download it?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", stderr, tt.want)
			}
			if strings.Contains(stderr, "goroutine") || strings.Count(stderr, "\n") > 2 {
				t.Errorf("stderr is not a one-line message plus hint: %q", stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a usage error left %s behind", out)
			}
		})
	}
}

func TestRuntimeErrors(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notimage.png")
	existing := filepath.Join(dir, "exists.png")
	badNet := filepath.Join(dir, "bad.mat")
	folder := filepath.Join(dir, "folder.png")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.png") // over JPEG's 65535 pixels a side
	if err := imageio.Save(wide, imageio.New(70000, 2)); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{notImage: "hello", existing: "keep me", badNet: "MATLAB 5.0 MAT-file, not really"} {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing content", append(baseArgs(dir), "--content", filepath.Join(dir, "none.jpg")), "none.jpg"},
		{"content not an image", append(baseArgs(dir), "--content", notImage), "notimage.png"},
		{"existing output", append(baseArgs(dir), "--output", existing), "already exists"},
		{"unknown extension", append(baseArgs(dir), "--output", filepath.Join(dir, "out.xyz")), "out.xyz"},
		{"missing folder", append(baseArgs(dir), "--output", filepath.Join(dir, "no", "such", "out.png")), "out.png"},
		{"bad network", append(baseArgs(dir), "--network", badNet), "bad.mat"},
		{"width over the pixel limit", append(baseArgs(dir), "--width", "5000", "--max-pixels", "1000000"), "exceeds the limit of 1000000"},
		{"empty style scale", append(baseArgs(dir), "--style-scales", "0.001"), "--style-scales gives an empty 0x0 image"},
		{"output is a folder", append(baseArgs(dir), "--output", folder), "is a folder"},
		{"output is a folder, --overwrite", append(baseArgs(dir), "--output", folder, "--overwrite"), "is a folder"},
		{"output is a folder without extension", append(baseArgs(dir), "--output", dir), "is a folder"},
		{"too wide for JPEG", append(baseArgs(dir), "--content", wide, "--output", filepath.Join(dir, "out.jpg")), "a 70000x2 image is too large for .jpg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append(tt.args, "--quiet")...)
			if code != exitRuntime {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitRuntime, stderr)
			}
			if !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q: want one line naming %q", stderr, tt.want)
			}
		})
	}
	if data, err := os.ReadFile(existing); err != nil || string(data) != "keep me" {
		t.Errorf("an existing output was replaced without --overwrite: %q (%v)", data, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("files left behind: %v", names)
	}
}

func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testHookEvent = func(ev stylize.Event) {
		if ev.Kind == stylize.EventIteration && ev.Iteration == 3 {
			cancel()
		}
	}
	defer func() { testHookEvent = nil }()
	var stdout, stderr bytes.Buffer
	args := baseArgs(dir, "--iterations", "1000", "--progress-write")
	code := run(ctx, args, &stdout, &stderr)
	if code != exitInterrupt {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitInterrupt, stderr.String())
	}
	if !strings.Contains(stderr.String(), "wrote the best image so far") {
		t.Errorf("stderr does not say the image was written: %q", stderr.String())
	}
	decode(t, filepath.Join(dir, "out.png"))
	if strings.Contains(stdout.String(), "Iteration    4/1000") {
		t.Errorf("the run went on after the interrupt:\n%s", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "progress.txt")); err != nil {
		t.Errorf("progress.txt not written on interrupt: %v", err)
	}
}

func TestOptionsPaths(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra []string
		w, h  int
	}{
		{"width", []string{"--width", "20"}, 20, 15}, // floor(29/37*20) = 15
		{"preserve colors", []string{"--preserve-colors"}, 37, 29},
		{"several styles", []string{"--styles", filepath.Join(tiny, "style2.png"),
			"--style-scales", "1", "0.5", "--style-blend-weights", "3", "1"}, 37, 29},
		{"avg pooling, jpeg", []string{"--pooling", "avg", "--output", "OUT.jpg"}, 37, 29},
		{"abbreviated flags", []string{"--iter", "2", "--content-weight-b", "0.5"}, 37, 29},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := baseArgs(dir, tt.extra...)
			out := filepath.Join(dir, "out.png")
			for i, a := range args {
				if a == "OUT.jpg" {
					out = filepath.Join(dir, "out.jpg")
					args[i] = out
				}
			}
			code, _, stderr := runCLI(t, append(args, "--quiet")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			b := decode(t, out).Bounds()
			if b.Dx() != tt.w || b.Dy() != tt.h {
				t.Errorf("output %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.w, tt.h)
			}
		})
	}
}

// TestSeedReproducible: the same --seed gives the same image, another seed
// another one (the seed reaches the noise).
func TestSeedReproducible(t *testing.T) {
	outs := map[string][]byte{}
	for _, run := range []struct{ name, seed string }{{"first", "42"}, {"again", "42"}, {"other", "43"}} {
		dir := t.TempDir()
		if code, _, stderr := runCLI(t, baseArgs(dir, "--quiet", "--seed", run.seed)...); code != 0 {
			t.Fatal(stderr)
		}
		data, err := os.ReadFile(filepath.Join(dir, "out.png"))
		if err != nil {
			t.Fatal(err)
		}
		outs[run.name] = data
	}
	if !bytes.Equal(outs["first"], outs["again"]) {
		t.Error("two runs with --seed 42 differ")
	}
	if bytes.Equal(outs["first"], outs["other"]) {
		t.Error("runs with --seed 42 and --seed 43 are equal: the seed is ignored")
	}
}

func TestPlainProgressFormat(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, baseArgs(dir, "--print-iterations", "2", "--progress-plot")...)
	if code != 0 {
		t.Fatal(stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	// '{:>13s} {:g}'.format(key + ' loss:', val)
	if lines[0] != "Optimization started..." || !strings.HasPrefix(lines[1], "content loss: ") ||
		!strings.HasPrefix(lines[2], "  style loss: ") || !strings.HasPrefix(lines[3], "     tv loss: ") ||
		!strings.HasPrefix(lines[4], "   total loss: "[1:]) || lines[5] != "Iteration    1/   3" {
		t.Errorf("unexpected progress output:\n%s", stdout)
	}
	if !strings.Contains(stdout, "Iteration    2/   3 (0 sec elapsed, 0 sec remaining)") {
		t.Errorf("no timed iteration line:\n%s", stdout)
	}
	if img := decode(t, filepath.Join(dir, "progress.png")); img.Bounds().Dx() < 100 {
		t.Errorf("progress.png is %v", img.Bounds())
	}
}

func TestHelp(t *testing.T) {
	code, stdout, _ := runCLI(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--content", "--styles", "--output", "--iterations", "--print-iterations",
		"--checkpoint-output", "--checkpoint-iterations", "--progress-write", "--progress-plot", "--width",
		"--style-scales", "--network", "--content-weight-blend", "--content-weight", "--style-weight",
		"--style-layer-weight-exp", "--style-blend-weights", "--tv-weight", "--learning-rate", "--beta1",
		"--beta2", "--eps", "--initial", "--initial-noiseblend", "--preserve-colors", "--pooling",
		"--overwrite", "--seed", "--content-layers", "--style-layers", "[relu4_2,relu5_2]",
		"[relu1_1,relu2_1,relu3_1,relu4_1,relu5_1]", "(default 1000)", "(default 500)", "imagenet-vgg-verydeep-19.mat", "Examples:"} {
		if !strings.Contains(stdout, flag) {
			t.Errorf("--help does not show %s", flag)
		}
	}
}

func TestPyG(t *testing.T) {
	for v, want := range map[float64]string{126.32324981689453: "126.323", 512648.6875: "512649",
		2671011.75: "2.67101e+06", 0.5: "0.5", 100: "100", 1e-5: "1e-05", 0: "0"} {
		if got := pyG(v); got != want {
			t.Errorf("pyG(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestPreserveColorsKeepsChroma: with --preserve-colors the output carries
// the content's Cb and Cr, up to the conversions' rounding, wherever the
// recombined colour is in gamut (elsewhere the RGB clip shifts it).
func TestPreserveColorsKeepsChroma(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.png")
	if code, _, stderr := runCLI(t, baseArgs(dir, "--preserve-colors", "--quiet", "--iterations", "5")...); code != 0 {
		t.Fatal(stderr)
	}
	got, err := imageio.Read(out, imageio.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	content, err := imageio.Read(filepath.Join(tiny, "content.png"), imageio.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gy, cy := toYCbCr(got), toYCbCr(content)
	worst, checked := 0.0, 0
	for i := 0; i < len(gy.Pix); i += 3 {
		if clipped := func() bool {
			for c := 0; c < 3; c++ {
				if v := got.Pix[i+c]; v == 0 || v == 255 {
					return true
				}
			}
			return false
		}(); clipped {
			continue
		}
		checked++
		for c := 1; c <= 2; c++ {
			worst = math.Max(worst, math.Abs(float64(gy.Pix[i+c]-cy.Pix[i+c])))
		}
	}
	if worst > 2 || checked < len(gy.Pix)/3/2 {
		t.Errorf("output chroma differs from the content's by up to %v levels (%d in-gamut pixels of %d)", worst, checked, len(gy.Pix)/3)
	}
	// and the luma is the stylised image's, not the content's
	same := 0
	for i := 0; i < len(gy.Pix); i += 3 {
		if gy.Pix[i] == cy.Pix[i] {
			same++
		}
	}
	if same == len(gy.Pix)/3 {
		t.Error("output luma equals the content's: nothing was stylised")
	}
}

// toYCbCr converts an image to JFIF's full-range Y, Cb, Cr, as Pillow's
// "YCbCr" mode has them (rounding aside: within a level).
func toYCbCr(img *imageio.Image) *imageio.Image {
	out := imageio.New(img.W, img.H)
	clip := func(v float32) uint8 { return uint8(min(max(v, 0), 255)) }
	for i := 0; i+2 < len(img.Pix); i += 3 {
		y, cb, cr := color.RGBToYCbCr(clip(img.Pix[i]), clip(img.Pix[i+1]), clip(img.Pix[i+2]))
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = float32(y), float32(cb), float32(cr)
	}
	return out
}

// TestInterruptBeforeStart: a Ctrl-C before the optimisation starts writes
// nothing, not even with --overwrite over an existing output.
func TestInterruptBeforeStart(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.png")
	if err := os.WriteFile(out, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, baseArgs(dir, "--overwrite", "--quiet"), &stdout, &stderr); code != exitInterrupt {
		t.Fatalf("exit %d, want %d: %s", code, exitInterrupt, stderr.String())
	}
	if data, _ := os.ReadFile(out); string(data) != "keep me" {
		t.Error("an interrupt before the optimisation replaced the output")
	}
}

// Command nsbench measures one neural-style iteration (VGG-19 forward to
// relu5_2, content, style and tv losses, backward to the image, an Adam
// step) on the native engine with random full-size weights, and runs the
// PyTorch anchor (scripts/torch/bench_torch.py --channels-last) beside it
// when /usr/bin/python3 has torch. Each measurement runs in a child process
// so that its peak resident memory is its own. With -load it times loading
// a VGG-19 .mat file instead; with -quality it compares the loss reached
// against wall time by the reference Adam, L-BFGS and coarse-to-fine runs
// (make bench-quality).
//
//	go run ./internal/tools/nsbench -sizes 256,512 -iters 3
//	go run ./internal/tools/nsbench -load imagenet-vgg-verydeep-19.mat
//	go run ./internal/tools/nsbench -quality -sizes 256 -adam-iters 1000 -out bench
//	go run ./internal/tools/nsbench -quality -sizes 256 -adam-iters 1000 -out bench
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

type result struct {
	Size    int     `json:"size"`
	Kernels string  `json:"kernels"`
	SecIter float64 `json:"sec_iter"`
	GFLOPs  float64 `json:"gflops"`
	PeakMB  float64 `json:"peak_mb"`
}

func main() {
	sizes := flag.String("sizes", "256,512", "image sizes (square), comma-separated")
	iters := flag.Int("iters", 3, "timed iterations per size (after one warm-up)")
	kernels := flag.String("kernels", "default", "kernels: default or portable")
	torch := flag.String("torch", "auto", "run the PyTorch anchor: auto, yes or no")
	threads := flag.Int("threads", runtime.GOMAXPROCS(0), "threads for PyTorch")
	child := flag.Int("child", 0, "internal: measure this size in this process")
	load := flag.String("load", "", "instead: time vgg.Load of this .mat file and report its peak memory")
	quality := flag.Bool("quality", false, "instead: loss reached against wall time for reference Adam, L-BFGS and coarse-to-fine runs at each of -sizes")
	adamIters := flag.Int("adam-iters", 1000, "with -quality: the reference Adam run's steps; its final loss is the target")
	scales := flag.String("scales", "", "with -quality: the recipe's widths (default SIZE/4,SIZE/2,SIZE)")
	scaleIters := flag.String("scale-iterations", "400,200,150", "with -quality: the recipe's steps at each width")
	history := flag.Int("lbfgs-history", 100, "with -quality: L-BFGS history")
	methods := flag.String("methods", "adam,c2f-adam,c2f-lbfgs,lbfgs", "with -quality: the runs, adam first (it sets the target)")
	outDir := flag.String("out", "", "with -quality: write quality-SIZE.txt and quality-SIZE.png into this folder")
	stopEarly := flag.Bool("stop-early", true, "with -quality: stop a run once it reaches the target")
	target := flag.Float64("target", 0, "with -quality: the reference run's final loss from an earlier run (leave adam out of -methods)")
	adamWall := flag.Duration("adam-wall", 0, "with -quality and -target: the reference run's wall time")
	maxShare := flag.Float64("max-share", 0.6, "with -quality: stop a run after this share of the reference run's time (0: never)")
	flag.Parse()
	if *quality {
		for _, s := range strings.Split(*sizes, ",") {
			size, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || size < 16 {
				fmt.Fprintf(os.Stderr, "nsbench: bad size %q\n", s)
				os.Exit(2)
			}
			cfg := qualityConfig{size: size, adamIters: *adamIters, history: *history, methods: *methods, out: *outDir, stopEarly: *stopEarly, maxShare: *maxShare, target: *target, adamWall: *adamWall}
			sc := *scales
			if sc == "" {
				sc = fmt.Sprintf("%d,%d,%d", size/4, size/2, size)
			}
			if cfg.scales, err = parseInts(sc); err == nil {
				cfg.scaleIter, err = parseInts(*scaleIters)
			}
			if err == nil {
				err = runQuality(cfg, os.Stdout)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "nsbench:", err)
				os.Exit(1)
			}
		}
		return
	}
	if *load != "" {
		t0 := time.Now()
		if _, err := vgg.Load(*load); err != nil {
			fmt.Fprintln(os.Stderr, "nsbench:", err)
			os.Exit(1)
		}
		peak, cpu := usage()
		fmt.Printf("load %s: %.3f s, peak RSS %.0f MB, CPU %.3f s\n", *load, time.Since(t0).Seconds(), peak, cpu)
		return
	}
	if *child > 0 {
		r, err := measure(*child, *iters, *kernels)
		if err != nil {
			fmt.Fprintln(os.Stderr, "nsbench:", err)
			os.Exit(1)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nsbench:", err)
		os.Exit(1)
	}
	py := torchAvailable(*torch)
	fmt.Printf("%-6s %-10s %10s %9s %9s | %10s %9s | %8s\n", "size", "kernels", "s/iter", "GFLOP/s", "peak MB", "torch s/it", "torch MB", "go/torch")
	for _, s := range strings.Split(*sizes, ",") {
		size, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || size < 8 {
			fmt.Fprintf(os.Stderr, "nsbench: bad size %q\n", s)
			os.Exit(2)
		}
		out, err := exec.Command(self, "-child", strconv.Itoa(size), "-iters", strconv.Itoa(*iters), "-kernels", *kernels).Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "nsbench: size %d: %v\n", size, err)
			os.Exit(1)
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			fmt.Fprintf(os.Stderr, "nsbench: size %d: %v\n", size, err)
			os.Exit(1)
		}
		line := fmt.Sprintf("%-6d %-10s %10.3f %9.1f %9.0f |", r.Size, r.Kernels, r.SecIter, r.GFLOPs, r.PeakMB)
		if py != "" {
			ts, tm, err := runTorch(py, size, *iters, *threads)
			if err != nil {
				line += fmt.Sprintf(" torch failed: %v", err)
			} else {
				line += fmt.Sprintf(" %10.3f %9.0f | %8.2f", ts, tm, r.SecIter/ts)
			}
		} else {
			line += fmt.Sprintf(" %10s %9s | %8s", "-", "-", "-")
		}
		fmt.Println(line)
	}
}

// measure times iters iterations at size x size after a warm-up one.
func measure(size, iters int, which string) (*result, error) {
	k := native.DefaultKernels()
	if which == "portable" {
		k = nn.Portable()
	}
	// Random weights and images: the time of an iteration does not depend
	// on the values (nor do they differ in kind from the PyTorch anchor's).
	rng := rand.New(rand.NewPCG(1, 2))
	wt := vggtest.RandomWeights(rng, vggtest.FullWidths)
	spec := vggtest.BenchSpec(rng, size)
	// BenchSpec weighs relu5_2, so the network runs through conv5_2 as the
	// PyTorch anchor's always does and as the FLOP count assumes.
	prob, err := native.New(wt, k).NewProblem(spec)
	if err != nil {
		return nil, err
	}
	defer prob.Close()
	x := vggtest.RandomImage(rng, size, size)
	for i := range x.Pix {
		x.Pix[i] *= 0.256 / 40 // normal(0, 0.256), as the anchor's initial image
	}
	grad := make([]float32, len(x.Pix))
	d := stylize.DefaultOptions()
	opt := stylize.NewAdam(len(x.Pix), engine.AdamSettings{LearningRate: d.LearningRate,
		Beta1: d.Beta1, Beta2: d.Beta2, Epsilon: d.Epsilon})
	var times []float64
	for i := 0; i <= iters; i++ {
		t0 := time.Now()
		if _, err := prob.Eval(&x, grad); err != nil {
			return nil, err
		}
		opt.Step(x.Pix, grad)
		if i > 0 {
			times = append(times, time.Since(t0).Seconds())
		}
	}
	sort.Float64s(times)
	sec := times[len(times)/2]
	peak, _ := usage()
	return &result{Size: size, Kernels: k.Name(), SecIter: sec, GFLOPs: vggtest.IterationFLOPs(wt, size, size) / sec / 1e9,
		PeakMB: peak}, nil
}

const runtimeGOOS = runtime.GOOS

func torchAvailable(mode string) string {
	if mode == "no" {
		return ""
	}
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		if mode == "yes" {
			fmt.Fprintln(os.Stderr, "nsbench: /usr/bin/python3 has no torch (apt-get install python3-torch)")
			os.Exit(1)
		}
		return ""
	}
	return py
}

var torchRE = regexp.MustCompile(`s/iter ([0-9.]+) peak_rss_MB ([0-9.]+)`)

func runTorch(py string, size, iters, threads int) (float64, float64, error) {
	script := filepath.Join(repoRoot(), "scripts", "torch", "bench_torch.py")
	cmd := exec.Command(py, script, strconv.Itoa(size), strconv.Itoa(iters), strconv.Itoa(threads), "--channels-last")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	m := torchRE.FindStringSubmatch(string(out))
	if m == nil {
		return 0, 0, fmt.Errorf("unexpected output %q", out)
	}
	s, _ := strconv.ParseFloat(m[1], 64)
	mb, _ := strconv.ParseFloat(m[2], 64)
	return s, mb, nil
}

// repoRoot finds the module root from the working directory.
func repoRoot() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

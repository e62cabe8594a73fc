// Command nsbench measures one neural-style iteration (VGG-19 forward to
// relu5_2, content, style and tv losses, backward to the image, an Adam
// step) on the native engine with random full-size weights, and runs the
// PyTorch anchor (scripts/torch/bench_torch.py --channels-last) beside it
// when /usr/bin/python3 has torch. Each measurement runs in a child process
// so that its peak resident memory is its own. With -load it times loading
// a VGG-19 .mat file instead. With -max-memory (or -depth and -tile) the
// native network is tiled as the native engine's Options say, and the plan
// is reported; -cpuprofile writes a CPU profile of each native
// measurement's timed iterations; with -quality it compares the loss reached against wall time
// by the reference Adam, L-BFGS and coarse-to-fine runs (make bench-quality).
//
//	go run ./internal/tools/nsbench -sizes 256,512 -iters 3
//	go run ./internal/tools/nsbench -sizes 1024 -max-memory 600 -torch no -kernels default
//	go run ./internal/tools/nsbench -sizes 1024 -iters 2 -kernels default -torch no -tf no -cpuprofile /tmp/ns.pprof
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
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/fast"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

type result struct {
	Size    int     `json:"size"`
	Kernels string  `json:"kernels"`
	SecIter float64 `json:"sec_iter"`
	// CPUIter is the process CPU time per iteration: on a machine shared
	// with other jobs it compares builds where the wall time cannot.
	CPUIter float64 `json:"cpu_iter"`
	GFLOPs  float64 `json:"gflops"`
	PeakMB  float64 `json:"peak_mb"`
	Plan    string  `json:"plan"`
}

func main() {
	sizes := flag.String("sizes", "256,512", "image sizes (square), comma-separated")
	iters := flag.Int("iters", 3, "timed iterations per size (after one warm-up)")
	kernels := flag.String("kernels", "default,avx2", "kernel sets, comma-separated: default (the fastest), avx512, avx2 or portable; avx2 runs TensorFlow and PyTorch with ONEDNN_MAX_CPU_ISA=AVX2 too")
	tfMode := flag.String("tf", "auto", "run the TensorFlow backend beside (needs a build with -tags tensorflow, make bench-tf): auto, yes or no")
	through52 := flag.Bool("relu5_2", true, "compute through relu5_2 as the reference always does (content weight on relu5_2); false: the default run's work, which the native engine stops at relu5_1")
	engineName := flag.String("engine", "native", "internal: the engine a child measures, native or tensorflow")
	torch := flag.String("torch", "auto", "run the PyTorch anchor: auto, yes or no")
	threads := flag.Int("threads", runtime.GOMAXPROCS(0), "threads for PyTorch")
	child := flag.Int("child", 0, "internal: measure this size in this process")
	maxMemory := flag.Int64("max-memory", 0, "tile the native network so that its buffers take at most this many MB (0: untiled)")
	depth := flag.Int("depth", 0, "force tiling through the pool before this conv (2, 4, 8 or 12) ...")
	tile := flag.Int("tile", 0, "... in tiles of this many cells of that pool's output")
	styleSize := flag.Int("style-size", 0, "the style image's size (square; 0: the content's)")
	load := flag.String("load", "", "instead: time vgg.Load of this .mat file and report its peak memory")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of each native measurement's timed iterations to this file, its size and kernels added before the extension (FILE-512-avx512.pprof)")
	quality := bindQualityFlags()
	flag.Parse()
	if quality.on {
		qualityMain(*sizes, quality)
		return
	}
	tiling := tilingArgs{opt: native.Options{MaxBytes: *maxMemory * 1e6, Depth: *depth, Tile: *tile}, styleSize: *styleSize}
	if *load != "" {
		timeLoad(*load)
		return
	}
	if *child > 0 {
		r, err := measure(*child, *iters, *kernels, *engineName, *through52, tiling, *cpuProfile)
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
	tf := tfEngine != nil && *tfMode != "no"
	if *tfMode == "yes" && tfEngine == nil {
		fmt.Fprintln(os.Stderr, "nsbench: built without the TensorFlow backend (make bench-tf builds it with -tags tensorflow)")
		os.Exit(1)
	}
	fmt.Printf("%-5s %-9s %8s %9s %7s %6s | %8s %6s %6s | %8s %6s %6s\n", "size", "kernels", "s/iter", "cpu s/it", "GFLOP/s", "MB",
		"tf s/it", "MB", "go/tf", "torch", "MB", "go/pt")
	for _, s := range strings.Split(*sizes, ",") {
		size, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || size < 8 {
			fmt.Fprintf(os.Stderr, "nsbench: bad size %q\n", s)
			os.Exit(2)
		}
		for _, kname := range strings.Split(*kernels, ",") {
			kname = strings.TrimSpace(kname)
			env := kernelEnv(kname)
			args := []string{"-child", strconv.Itoa(size), "-iters", strconv.Itoa(*iters), "-kernels", kname,
				"-relu5_2=" + strconv.FormatBool(*through52),
				"-max-memory", strconv.FormatInt(*maxMemory, 10), "-depth", strconv.Itoa(*depth), "-tile", strconv.Itoa(*tile),
				"-style-size", strconv.Itoa(*styleSize)}
			r, err := runChild(self, append(args, "-engine", "native", "-cpuprofile", profileName(*cpuProfile, size, kname)), env)
			if err != nil {
				fmt.Fprintf(os.Stderr, "nsbench: size %d, %s: %v\n", size, kname, err)
				os.Exit(1)
			}
			line := fmt.Sprintf("%-5d %-9s %8.3f %9.3f %7.1f %6.0f |", r.Size, r.Kernels, r.SecIter, r.CPUIter, r.GFLOPs, r.PeakMB)
			if tf {
				t, err := runChild(self, append(args, "-engine", "tensorflow"), env)
				if err != nil {
					line += fmt.Sprintf(" %22s |", "failed")
					fmt.Fprintf(os.Stderr, "nsbench: tensorflow, size %d, %s: %v\n", size, kname, err)
				} else {
					line += fmt.Sprintf(" %8.3f %6.0f %6.2f |", t.SecIter, t.PeakMB, r.SecIter/t.SecIter)
				}
			} else {
				line += fmt.Sprintf(" %8s %6s %6s |", "-", "-", "-")
			}
			if py != "" {
				ts, tm, err := runTorch(py, size, *iters, *threads, env)
				if err != nil {
					line += " failed"
					fmt.Fprintf(os.Stderr, "nsbench: torch, size %d: %v\n", size, err)
				} else {
					line += fmt.Sprintf(" %8.3f %6.0f %6.2f", ts, tm, r.SecIter/ts)
				}
			} else {
				line += fmt.Sprintf(" %8s %6s %6s", "-", "-", "-")
			}
			fmt.Println(line)
			if r.Plan != "untiled" {
				fmt.Printf("      plan: %s\n", r.Plan)
			}
		}
	}
}

// kernelEnv is the environment of a child measuring kernel set kname.
// The AVX2 rows limit oneDNN (TensorFlow's and PyTorch's convolutions) and
// PyTorch's own kernels to AVX2 as well. NEURALSTYLE_KERNELS goes in the
// child's environment: nn reads it at start-up (its pooling and gates
// follow it too).
func kernelEnv(kname string) []string {
	env := []string{"NEURALSTYLE_KERNELS="}
	if kname != "default" {
		env[0] += kname
	}
	if kname == "avx2" {
		env = append(env, "ONEDNN_MAX_CPU_ISA=AVX2", "ATEN_CPU_CAPABILITY=avx2")
	}
	return env
}

// profileName is the CPU profile file of the measurement of size with kernel
// set kname: base with "-SIZE-KERNELS" before its extension, or "" for none.
func profileName(base string, size int, kname string) string {
	if base == "" {
		return ""
	}
	ext := filepath.Ext(base)
	return fmt.Sprintf("%s-%d-%s%s", strings.TrimSuffix(base, ext), size, kname, ext)
}

// runChild measures in a child process (its peak memory its own), with env
// added to its environment.
func runChild(self string, args, env []string) (*result, error) {
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// tilingArgs are the native engine's tiling options and the style image's
// size for a measurement.
type tilingArgs struct {
	opt       native.Options
	styleSize int
}

// measure times iters iterations at size x size after a warm-up one, with a
// CPU profile of the timed ones written to profile unless it is "".
func measure(size, iters int, which, engineName string, through52 bool, tiling tilingArgs, profile string) (*result, error) {
	var k nn.Kernels
	switch which {
	case "portable":
		k = nn.Portable()
	case "default":
		os.Unsetenv(fast.EnvKernels)
		k = native.DefaultKernels()
	default:
		os.Setenv(fast.EnvKernels, which)
		fk, ok, err := fast.Choose()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("no %s kernels", which)
		}
		k = fk
	}
	// Random weights and images: the time of an iteration does not depend
	// on the values (nor do they differ in kind from the PyTorch anchor's).
	rng := rand.New(rand.NewPCG(1, 2))
	wt := vggtest.RandomWeights(rng, vggtest.FullWidths)
	spec := vggtest.BenchSpec(rng, size)
	// BenchSpec weighs relu5_2, so the network runs through conv5_2 as the
	// reference and the PyTorch anchor always do and as the FLOP count
	// assumes.
	if !through52 {
		spec.ContentLayers = vggtest.Weighted(vgg.ReferenceContentLayers, 1, 0)
	}
	if tiling.styleSize > 0 {
		spec.Styles[0] = vggtest.RandomImage(rng, tiling.styleSize, tiling.styleSize)
	}
	var eng engine.Engine = native.NewWithOptions(wt, k, tiling.opt)
	name := k.Name()
	if engineName == "tensorflow" {
		if tfEngine == nil {
			return nil, fmt.Errorf("built without the TensorFlow backend")
		}
		e, err := tfEngine(wt)
		if err != nil {
			return nil, err
		}
		eng, name = e, "tensorflow"
	}
	prob, err := eng.NewProblem(spec)
	if err != nil {
		return nil, err
	}
	defer prob.Close()
	plan := "untiled"
	if p, ok := prob.(interface{ Plan() vgg.Plan }); ok {
		plan = p.Plan().String()
	}
	x := vggtest.RandomImage(rng, size, size)
	for i := range x.Pix {
		x.Pix[i] *= 0.256 / 40 // normal(0, 0.256), as the anchor's initial image
	}
	grad := make([]float32, len(x.Pix))
	d := stylize.DefaultOptions()
	opt := stylize.NewAdam(len(x.Pix), engine.AdamSettings{LearningRate: d.LearningRate,
		Beta1: d.Beta1, Beta2: d.Beta2, Epsilon: d.Epsilon})
	var times, cpus []float64
	for i := 0; i <= iters; i++ {
		if i == 1 && profile != "" {
			f, err := os.Create(profile)
			if err != nil {
				return nil, err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", profile, err)
			}
			defer func() {
				pprof.StopCPUProfile()
				f.Close()
			}()
		}
		_, c0 := usage()
		t0 := time.Now()
		if _, err := prob.Eval(&x, grad); err != nil {
			return nil, err
		}
		opt.Step(x.Pix, grad)
		if i > 0 {
			times = append(times, time.Since(t0).Seconds())
			_, c1 := usage()
			cpus = append(cpus, c1-c0)
		}
	}
	sort.Float64s(times)
	sort.Float64s(cpus)
	sec := times[len(times)/2]
	peak, _ := usage()
	return &result{Size: size, Kernels: name, SecIter: sec, CPUIter: cpus[len(cpus)/2], GFLOPs: vggtest.IterationFLOPs(wt, size, size) / sec / 1e9,
		PeakMB: peak, Plan: plan}, nil
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

func runTorch(py string, size, iters, threads int, env []string) (float64, float64, error) {
	script := filepath.Join(repoRoot(), "scripts", "torch", "bench_torch.py")
	cmd := exec.Command(py, script, strconv.Itoa(size), strconv.Itoa(iters), strconv.Itoa(threads), "--channels-last")
	cmd.Env = append(os.Environ(), env...)
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

// qualityFlags are the -quality mode's flags.
type qualityFlags struct {
	on                bool
	base              qualityConfig
	scales, scaleIter string
}

// bindQualityFlags binds the -quality mode's flags (read after flag.Parse).
func bindQualityFlags() *qualityFlags {
	q := &qualityFlags{}
	b := &q.base
	flag.BoolVar(&q.on, "quality", false, "instead: loss reached against wall time for reference Adam, L-BFGS and coarse-to-fine runs at each of -sizes")
	flag.IntVar(&b.adamIters, "adam-iters", 1000, "with -quality: the reference Adam run's steps; its final loss is the target")
	flag.StringVar(&q.scales, "scales", "", "with -quality: the recipe's widths (default SIZE/4,SIZE/2,SIZE)")
	flag.StringVar(&q.scaleIter, "scale-iterations", "400,200,150", "with -quality: the recipe's steps at each width")
	flag.IntVar(&b.history, "lbfgs-history", 100, "with -quality: L-BFGS history")
	flag.StringVar(&b.methods, "methods", "adam,c2f-adam,c2f-lbfgs,lbfgs", "with -quality: the runs, adam first (it sets the target)")
	flag.StringVar(&b.out, "out", "", "with -quality: write quality-SIZE.txt and quality-SIZE.png into this folder")
	flag.BoolVar(&b.stopEarly, "stop-early", true, "with -quality: stop a run once it reaches the target")
	flag.Float64Var(&b.target, "target", 0, "with -quality: the reference run's final loss from an earlier run (leave adam out of -methods)")
	flag.DurationVar(&b.adamWall, "adam-wall", 0, "with -quality and -target: the reference run's wall time")
	flag.StringVar(&b.curves, "curves", "", "with -quality: include the runs of this quality-SIZE-curves.tsv from an earlier -out (an adam run there sets the target; give -methods without adam)")
	flag.Float64Var(&b.maxShare, "max-share", 0.6, "with -quality: stop a run after this share of the reference run's time (0: never)")
	return q
}

// qualityMain runs -quality at each of sizes (comma-separated), with the
// coarse-to-fine widths q.scales (default: a quarter, a half and the size).
func qualityMain(sizes string, q *qualityFlags) {
	for _, s := range strings.Split(sizes, ",") {
		size, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || size < 16 {
			fmt.Fprintf(os.Stderr, "nsbench: bad size %q\n", s)
			os.Exit(2)
		}
		cfg := q.base
		cfg.size = size
		sc := q.scales
		if sc == "" {
			sc = fmt.Sprintf("%d,%d,%d", size/4, size/2, size)
		}
		if cfg.scales, err = parseInts(sc); err == nil {
			cfg.scaleIter, err = parseInts(q.scaleIter)
		}
		if err == nil {
			err = runQuality(cfg, os.Stdout)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "nsbench:", err)
			os.Exit(1)
		}
	}
}

// timeLoad times vgg.Load of a .mat file and reports its peak memory.
func timeLoad(path string) {
	t0 := time.Now()
	if _, err := vgg.Load(path); err != nil {
		fmt.Fprintln(os.Stderr, "nsbench:", err)
		os.Exit(1)
	}
	peak, cpu := usage()
	fmt.Printf("load %s: %.3f s, peak RSS %.0f MB, CPU %.3f s\n", path, time.Since(t0).Seconds(), peak, cpu)
}

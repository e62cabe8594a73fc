package stylize

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// EngineFactory makes an engine for the loaded weights.
type EngineFactory func(w *vgg.Weights) (engine.Engine, error)

var (
	backendsMu sync.Mutex
	backends   = map[string]EngineFactory{
		"native": func(w *vgg.Weights) (engine.Engine, error) {
			return native.New(w, native.DefaultKernels()), nil
		},
	}
)

// RegisterBackend makes a compute backend selectable by name (the
// TensorFlow backend registers itself when compiled in).
func RegisterBackend(name string, f EngineFactory) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	backends[name] = f
}

// Backends lists the registered backends' names.
func Backends() []string {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func backend(name string) (EngineFactory, bool) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	f, ok := backends[name]
	return f, ok
}

// Record is one row of progress.txt.
type Record struct {
	Itr    int
	Losses engine.Losses
}

// Result is what a finished (or interrupted) run leaves.
type Result struct {
	Output      string         // the image written
	Image       *imageio.Image // the image written, as saved (before uint8 truncation)
	Records     []Record       // the recorded losses
	Seed        int64          // the noise seed used
	Steps       int            // optimisation steps taken
	Iterations  int            // optimisation steps asked for
	Interrupted bool           // cancelled before the last step
	Files       []string       // every file written, checkpoints and progress included
	BestLoss    float64        // the total loss of the image written
}

// Run performs the whole job: it checks the options and the output, reads
// the images and the network, optimises and writes the images and progress
// files. Cancelling ctx during the optimisation stops it after the current
// step; the best image so far is then written and the error wraps
// ErrInterrupted.
func Run(ctx context.Context, opts Options) (*Result, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	factory, ok := backend(r.backend)
	if !ok {
		return nil, usagef(fmt.Sprintf("available backends: %v", Backends()), "unknown backend %q", r.backend)
	}
	emit := func(Event) {}
	if opts.Progress != nil {
		emit = opts.Progress
	}
	if _, err := os.Stat(r.network); errors.Is(err, fs.ErrNotExist) {
		return nil, usagef("download imagenet-vgg-verydeep-19.mat (see README) or give --network FILE",
			"Network %s does not exist. (Did you forget to download it?)", r.network)
	}
	if err := checkOutputs(r); err != nil {
		return nil, err
	}

	// Images, with the reference's sizes.
	ropts := imageio.ReadOptions{MaxPixels: r.MaxPixels}
	content, err := imageio.Read(r.Content, ropts)
	if err != nil {
		return nil, err
	}
	if r.Width > 0 {
		w, h := imageio.WidthSize(content.W, content.H, r.Width)
		if content, err = resized(r.Content, "--width", content, w, h, ropts); err != nil {
			return nil, err
		}
	}
	styles := make([]*imageio.Image, len(r.Styles))
	for i, path := range r.Styles {
		s, err := imageio.Read(path, ropts)
		if err != nil {
			return nil, err
		}
		f := imageio.StyleScaleFactor(r.styleScales[i], content.W, s.W)
		w, h := imageio.ScaledSize(s.W, s.H, f)
		if styles[i], err = resized(path, "--style-scales", s, w, h, ropts); err != nil {
			return nil, err
		}
	}
	var initial *imageio.Image
	blend := 1.0
	if r.Initial != "" {
		im, err := imageio.Read(r.Initial, ropts)
		if err != nil {
			return nil, err
		}
		initial = imageio.Resize(im, content.W, content.H)
		blend = 0
	}
	if r.InitialNoiseBlend != nil {
		blend = *r.InitialNoiseBlend
	}
	if initial == nil && blend < 1 {
		initial = content
	}

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("before the optimisation started, nothing written: %w", ErrInterrupted)
	}
	weights, err := vgg.Load(r.network)
	if err != nil {
		return nil, err
	}
	eng, err := factory(weights)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", r.backend, err)
	}
	mean := weights.MeanPixel
	spec := &engine.Spec{
		Content:             preprocess(content, mean),
		Pooling:             r.pool,
		ContentWeight:       r.contentWeight,
		ContentLayerWeights: [2]float64{r.contentWeightBlend, 1 - r.contentWeightBlend},
		StyleWeight:         r.styleWeight,
		StyleBlendWeights:   r.blend,
		StyleLayerWeights:   styleLayerWeights(r.layerExp),
		TVWeight:            r.tv,
	}
	for _, s := range styles {
		spec.Styles = append(spec.Styles, preprocess(s, mean))
	}
	problem, err := eng.NewProblem(spec)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", r.backend, err)
	}
	defer problem.Close()

	res := &Result{Output: r.Output, Iterations: r.iterations}
	var seed int64
	seedDrawn := r.Seed == nil
	if seedDrawn {
		seed = rand.Int64N(1 << 53)
	} else {
		seed = *r.Seed
	}
	res.Seed = seed
	x := initialImage(initial, mean, content.W, content.H, blend, seed)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("before the optimisation started, nothing written: %w", ErrInterrupted)
	}

	// postprocess turns the best image into what is written, in one buffer
	// for the whole run.
	out := imageio.New(content.W, content.H)
	postprocess := func(best *engine.Image) *imageio.Image {
		img := unprocess(out, best, mean)
		if r.PreserveColors {
			img = imageio.PreserveColors(content, img)
		}
		return img
	}
	var last *imageio.Image
	l := &loop{
		problem:         problem,
		iterations:      r.iterations,
		printEvery:      r.PrintIterations,
		checkpointEvery: r.CheckpointIterations,
		adam:            r.adam,
		emit: func(ev Event) {
			if ev.Kind == EventStart {
				ev.Seed, ev.SeedDrawn, ev.UsesNoise = seed, seedDrawn, blend > 0
			}
			emit(ev)
		},
		record: func(itr int, ls engine.Losses) {
			res.Records = append(res.Records, Record{Itr: itr, Losses: ls})
		},
		checkpoint: func(itr int, best *engine.Image) error {
			last = postprocess(best)
			if r.CheckpointOutput == "" {
				return nil
			}
			name, err := CheckpointName(r.CheckpointOutput, itr)
			if err != nil {
				return err
			}
			if err := imageio.Save(name, last); err != nil {
				return err
			}
			res.Files = append(res.Files, name)
			emit(Event{Kind: EventCheckpoint, Itr: itr, Path: name, Iterations: r.iterations})
			return nil
		},
	}
	lr, err := l.run(ctx, x)
	if err != nil {
		return nil, err
	}
	res.Steps, res.Interrupted, res.BestLoss = lr.steps, lr.interrupted, lr.bestLoss
	if lr.interrupted || last == nil {
		last = postprocess(lr.best)
	}
	res.Image = last
	if err := imageio.Save(r.Output, last); err != nil {
		return nil, err
	}
	res.Files = append(res.Files, r.Output)
	if r.ProgressWrite {
		path := progressPath(r.Output, "progress.txt")
		if err := writeProgressText(path, res.Records); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, path)
	}
	if r.ProgressPlot {
		path := progressPath(r.Output, "progress.png")
		if err := writeProgressPlot(path, res.Records); err != nil {
			return nil, err
		}
		res.Files = append(res.Files, path)
	}
	if lr.interrupted {
		return res, fmt.Errorf("stopped after %d of %d iterations: %w", lr.steps, r.iterations, ErrInterrupted)
	}
	return res, nil
}

// checkOutputs refuses, before any work, an output that exists (without
// Overwrite) or that could not be written, and checkpoint and progress
// files that could not be written.
func checkOutputs(r *resolved) error {
	if _, err := os.Stat(r.Output); err == nil && !r.Overwrite {
		return fmt.Errorf("%s already exists, will not replace it without the '--overwrite' flag", r.Output)
	}
	if err := imageio.CheckWritable(r.Output); err != nil {
		return err
	}
	if r.CheckpointOutput != "" {
		name, err := CheckpointName(r.CheckpointOutput, 0)
		if err != nil {
			return usagef("e.g. `foo_{}.jpg` or `foo_%d.jpg`", "%v", err)
		}
		if err := imageio.CheckWritable(name); err != nil {
			return fmt.Errorf("checkpoint output: %w", err)
		}
	}
	return nil
}

// resized resizes img, read from path, to w x h as the flag named by why
// asks, refusing an empty size and one over the pixel limit: a big --width
// or --style-scales must not exhaust memory any more than a big file may.
func resized(path, why string, img *imageio.Image, w, h int, ropts imageio.ReadOptions) (*imageio.Image, error) {
	if w < 1 || h < 1 {
		return nil, fmt.Errorf("%s: %s gives an empty %dx%d image", path, why, w, h)
	}
	if err := ropts.CheckSize(w, h); err != nil {
		return nil, fmt.Errorf("%s: %s: %w (see --max-pixels)", path, why, err)
	}
	return imageio.Resize(img, w, h), nil
}

// progressPath puts a progress file in the output's folder (the current
// folder when the output has none; the reference would write to /).
func progressPath(output, name string) string {
	return filepath.Join(filepath.Dir(output), name)
}

// preprocess subtracts the mean pixel, in float32 as the reference does.
func preprocess(img *imageio.Image, mean [3]float32) engine.Image {
	out := engine.Image{H: img.H, W: img.W, Pix: make([]float32, len(img.Pix))}
	for i, v := range img.Pix {
		out.Pix[i] = v - mean[i%3]
	}
	return out
}

// unprocess sets out to img with the mean pixel added back.
func unprocess(out *imageio.Image, img *engine.Image, mean [3]float32) *imageio.Image {
	for i, v := range img.Pix {
		out.Pix[i] = v + mean[i%3]
	}
	return out
}

// initialImage blends the preprocessed initial image with normal noise
// scaled by 0.256: x = pre(initial)*(1-blend) + noise*0.256*blend, in
// float32. A nil initial means pure noise.
func initialImage(initial *imageio.Image, mean [3]float32, w, h int, blend float64, seed int64) *engine.Image {
	x := &engine.Image{H: h, W: w, Pix: make([]float32, w*h*3)}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6e657572616c7374))
	keep, share := float32(1-blend), float32(blend)
	for i := range x.Pix {
		noise := float32(rng.NormFloat64()) * 0.256
		if initial == nil {
			x.Pix[i] = noise
			continue
		}
		// Explicit conversions keep each product rounded to float32, as
		// TensorFlow computes it, where Go could fuse a multiply-add.
		x.Pix[i] = float32((initial.Pix[i]-mean[i%3])*keep) + float32(noise*share)
	}
	return x
}

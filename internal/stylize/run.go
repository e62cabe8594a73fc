package stylize

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/weights"
)

// Record is one row of progress.txt.
type Record struct {
	Label  int // the reference's iteration number (see Event.Label)
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
	if err := findNetwork(r); err != nil {
		return nil, err
	}
	if err := checkOutputs(r); err != nil {
		return nil, err
	}
	job, err := prepare(ctx, r)
	if err != nil {
		return nil, err
	}
	defer job.problem.Close()
	res, err := job.optimise(ctx)
	if err != nil {
		return nil, err
	}
	if err := job.write(res); err != nil {
		return nil, err
	}
	if res.Interrupted {
		return res, fmt.Errorf("stopped after %d of %d iterations: %w", res.Steps, r.Iterations, ErrInterrupted)
	}
	return res, nil
}

// findNetwork sets r.Network to the weights file the run loads, searched
// for as weights.Find does; a missing file is a usage error, as in the
// reference (argparse's parser.error).
func findNetwork(r *resolved) error {
	path, _, err := weights.Find(r.Network, !r.SearchNetwork)
	var nf *weights.NotFoundError
	switch {
	case errors.As(err, &nf):
		return &OptionError{Option: "Network", Usage: true, Msg: strings.TrimPrefix(nf.Error(), "Network ")}
	case err != nil:
		return fmt.Errorf("network: %w", err)
	}
	r.Network = path
	return nil
}

// job is a prepared run: the problem on its engine, with its targets, and
// the initial image.
type job struct {
	r         *resolved
	problem   engine.Problem
	initial   *engine.Image  // the image the optimisation starts from, preprocessed
	content   *imageio.Image // the content image at the output's size
	mean      [3]float32     // the network's mean pixel
	seed      int64          // the noise seed
	seedDrawn bool           // the seed was drawn at random, not given
	plan      string         // the network's tiling (vgg.Plan.String), "" when untiled
}

// images are a job's input images at the sizes the reference gives them.
type images struct {
	content *imageio.Image
	styles  []*imageio.Image
	initial *imageio.Image // nil without Options.Initial
}

// prepare turns the options' files into a problem on the engine: it reads
// and resizes the images, loads the network and computes the targets.
func prepare(ctx context.Context, r *resolved) (*job, error) {
	im, err := readImages(ctx, r)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w before the optimisation started, nothing written: %w", ErrInterrupted, err)
		}
		return nil, err
	}
	tileLimit, err := r.checkMemory(im)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("before the optimisation started, nothing written: %w", ErrInterrupted)
	}
	checked := weights.StartCheck(r.Network)
	wt, err := weights.Load(r.Network)
	if err != nil {
		return nil, err
	}
	eng, err := r.Engine(wt)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	mean := wt.MeanPixel
	spec := r.spec(im, mean)
	if tileLimit > 0 {
		spec.MaxBytes = r.tileBudget(spec, wt, tileLimit)
	}
	problem, err := eng.NewProblem(spec)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", eng.Name(), err)
	}
	if warning := checked(); warning != "" && r.Progress != nil {
		r.Progress(Event{Kind: EventWarning, Message: warning})
	}
	job := &job{r: r, problem: problem, content: im.content, mean: mean, seed: r.Seed}
	if tp, ok := problem.(interface{ Plan() vgg.Plan }); ok {
		if plan := tp.Plan(); plan.Tiled() {
			job.plan = plan.String()
		}
	}
	if job.seedDrawn = r.Seed == RandomSeed; job.seedDrawn {
		job.seed = rand.Int64N(1 << 53)
	}
	initial := im.initial
	if initial == nil && r.noiseBlend < 1 {
		initial = im.content
	}
	job.initial = initialImage(initial, mean, im.content.W, im.content.H, r.noiseBlend, job.seed)
	if err := ctx.Err(); err != nil {
		problem.Close()
		return nil, fmt.Errorf("before the optimisation started, nothing written: %w", ErrInterrupted)
	}
	return job, nil
}

// readImages reads the images and gives them the reference's sizes: the
// content --width wide, each style scaled to the content's width times its
// scale, the initial image at the content's size.
func readImages(ctx context.Context, r *resolved) (*images, error) {
	im, err := readImagesSized(ctx, r)
	if errors.Is(err, imageio.ErrOverMemory) {
		return nil, &OptionError{Option: "MaxMemory", Usage: true,
			Msg: "is exceeded: " + err.Error()}
	}
	return im, err
}

// readImagesSized is readImages without the mapping of memory refusals.
func readImagesSized(ctx context.Context, r *resolved) (*images, error) {
	ropts := imageio.ReadOptions{MaxPixels: r.MaxPixels, MaxMemory: MemoryLimit(r.MaxMemory)}
	content, err := imageio.ReadContext(ctx, r.Content, ropts)
	if err != nil {
		return nil, err
	}
	if r.Width > 0 {
		w, h := imageio.WidthSize(content.W, content.H, r.Width)
		if content, err = resized(r.Content, "Width", content, w, h, ropts); err != nil {
			return nil, err
		}
	}
	// The output has the content's size: refuse one its format cannot
	// hold before any more work.
	if err := checkEncodable(r, content.W, content.H); err != nil {
		return nil, err
	}
	im := &images{content: content, styles: make([]*imageio.Image, len(r.Styles))}
	for i, path := range r.Styles {
		s, err := imageio.ReadContext(ctx, path, ropts)
		if err != nil {
			return nil, err
		}
		f := imageio.StyleScaleFactor(r.styleScales[i], content.W, s.W)
		w, h := imageio.ScaledSize(s.W, s.H, f)
		if im.styles[i], err = resized(path, "StyleScales", s, w, h, ropts); err != nil {
			return nil, err
		}
	}
	if r.Initial != "" {
		initial, err := imageio.ReadContext(ctx, r.Initial, ropts)
		if err != nil {
			return nil, err
		}
		im.initial = imageio.Resize(initial, content.W, content.H)
	}
	return im, nil
}

// checkMemory refuses, before the network is loaded, a run whose
// estimated peak exceeds MaxMemory (or what the process may use) and that
// tiling on the native engine cannot bring under it. It returns the limit
// the run's networks are to be tiled under, 0 when they need not be.
func (r *resolved) checkMemory(im *images) (int64, error) {
	content := Size{im.content.W, im.content.H}
	styles := make([]Size, len(im.styles))
	for i, s := range im.styles {
		styles[i] = Size{s.W, s.H}
	}
	est := EstimatePeakMemory(r.EngineName, content, styles, r.deepest(), 0)
	return r.tilingLimit(content, styles, est, MemoryLimit(r.MaxMemory))
}

// deepest is the deepest layer a loss reads with a weight, where the
// engines stop (relu1_1 when no loss reads any).
func (r *resolved) deepest() vgg.Layer {
	deepest := vgg.Layer(0)
	for _, terms := range [2]struct {
		weight float64
		layers []engine.LayerWeight
	}{{r.ContentWeight, r.content}, {r.StyleWeight, r.style}} {
		for _, l := range terms.layers {
			if i, err := vgg.ReLUIndex(l.Layer); err == nil && terms.weight*l.Weight != 0 {
				deepest = max(deepest, i)
			}
		}
	}
	return deepest
}

// spec is the engine's problem for the images.
func (r *resolved) spec(im *images, mean [3]float32) *engine.Spec {
	spec := &engine.Spec{
		Content:           preprocess(im.content, mean),
		Pooling:           r.pool,
		ContentWeight:     r.ContentWeight,
		ContentLayers:     r.content,
		StyleWeight:       r.StyleWeight,
		StyleBlendWeights: r.blend,
		StyleLayers:       r.style,
		TVWeight:          r.TVWeight,
	}
	for _, s := range im.styles {
		spec.Styles = append(spec.Styles, preprocess(s, mean))
	}
	return spec
}

// optimise runs the optimisation loop from the job's initial image,
// writing the checkpoints. The result holds the image to write; write
// writes it.
func (j *job) optimise(ctx context.Context) (*Result, error) {
	r := j.r
	res := &Result{Output: r.Output, Iterations: r.Iterations, Seed: j.seed}
	// postprocess turns the best image into what is written, in one buffer
	// for the whole run.
	out := imageio.New(j.content.W, j.content.H)
	postprocess := func(best *engine.Image) *imageio.Image {
		img := unprocess(out, best, j.mean)
		if r.PreserveColors {
			img = imageio.PreserveColors(j.content, img)
		}
		return img
	}
	emit := func(Event) {}
	if r.Progress != nil {
		emit = r.Progress
	}
	l := &loop{
		problem:         j.problem,
		optimizer:       NewAdam(len(j.initial.Pix), r.adam),
		iterations:      r.Iterations,
		printEvery:      r.PrintIterations,
		checkpointEvery: r.CheckpointIterations,
		emit: func(ev Event) {
			if ev.Kind == EventStart {
				ev.Seed, ev.SeedDrawn, ev.UsesNoise = j.seed, j.seedDrawn, r.noiseBlend > 0
				ev.Plan = j.plan
			}
			emit(ev)
		},
		record: func(label int, ls engine.Losses) {
			res.Records = append(res.Records, Record{Label: label, Losses: ls})
		},
		checkpoint: func(label int, best *engine.Image) error {
			res.Image = postprocess(best)
			return j.writeCheckpoint(res, label, emit)
		},
	}
	lr, err := l.run(ctx, j.initial)
	if err != nil {
		return nil, err
	}
	res.Steps, res.Interrupted, res.BestLoss = lr.steps, lr.interrupted, lr.bestLoss
	if lr.interrupted || res.Image == nil {
		res.Image = postprocess(lr.best)
	}
	return res, nil
}

// writeCheckpoint writes res.Image as the checkpoint numbered label, if the
// options ask for checkpoints.
func (j *job) writeCheckpoint(res *Result, label int, emit func(Event)) error {
	if j.r.CheckpointOutput == "" {
		return nil
	}
	name, err := CheckpointName(j.r.CheckpointOutput, label)
	if err != nil {
		return err
	}
	// A format may give two numbers one name: the run replaces its own
	// checkpoint, as the reference does, but no one else's file.
	if slices.Contains(res.Files, name) {
		err = imageio.Save(name, res.Image)
	} else {
		err = j.save(name, res.Image)
	}
	if err != nil {
		return err
	}
	if !slices.Contains(res.Files, name) {
		res.Files = append(res.Files, name)
	}
	emit(Event{Kind: EventCheckpoint, Label: label, Path: name, Iterations: j.r.Iterations})
	return nil
}

// save writes an image the run makes. Without Overwrite it replaces no
// file, not even one that appeared during the run (checkOutputs found none
// there before it).
func (j *job) save(path string, img *imageio.Image) error {
	if j.r.Overwrite {
		return imageio.Save(path, img)
	}
	return imageio.SaveNew(path, img)
}

// write writes the result's image to the output and the progress files
// the options ask for beside it.
func (j *job) write(res *Result) error {
	if err := j.save(res.Output, res.Image); err != nil {
		return err
	}
	res.Files = append(res.Files, res.Output)
	for _, p := range []struct {
		want  bool
		name  string
		write func(string, []Record) error
	}{
		{j.r.ProgressWrite, "progress.txt", writeProgressText},
		{j.r.ProgressPlot, "progress.png", writeProgressPlot},
	} {
		if !p.want {
			continue
		}
		path := progressPath(res.Output, p.name)
		if err := p.write(path, res.Records); err != nil {
			return err
		}
		res.Files = append(res.Files, path)
	}
	return nil
}

// checkOutputs refuses, before any work, every file the run would write
// that could not be written: the output, progress.txt and progress.png
// when asked, and the checkpoints (a folder where the file goes, a
// missing or unwritable folder, an unknown extension); and, without
// Overwrite, an output or checkpoint that exists (a checkpoint name may be
// the content's) or a checkpoint named as the output.
func checkOutputs(r *resolved) error {
	if err := imageio.CheckWritable(r.Output); err != nil {
		return err
	}
	if exists(r.Output) && !r.Overwrite {
		return fmt.Errorf("%s already exists, will not replace it without the '--overwrite' flag", r.Output)
	}
	for _, p := range []struct {
		want bool
		name string
	}{{r.ProgressWrite, "progress.txt"}, {r.ProgressPlot, "progress.png"}} {
		if p.want {
			if err := imageio.CheckWritableFile(progressPath(r.Output, p.name)); err != nil {
				return err
			}
		}
	}
	if r.CheckpointOutput == "" {
		return nil
	}
	names, err := checkpointNames(r)
	if err != nil {
		return invalid("CheckpointOutput", "%v", err)
	}
	checked := map[string]bool{} // folders found writable
	for i, name := range names {
		if exists(name) && !r.Overwrite {
			return fmt.Errorf("checkpoint %s already exists, will not replace it without the '--overwrite' flag", name)
		}
		if name == r.Output && !r.Overwrite {
			return fmt.Errorf("checkpoint %s is the output, will not replace it without the '--overwrite' flag", name)
		}
		// The first and the last name are checked in full; the others
		// where their folder or extension differs from those checked.
		if dir := filepath.Dir(name) + "\x00" + filepath.Ext(name); !checked[dir] || i == len(names)-1 {
			if err := imageio.CheckWritable(name); err != nil {
				return fmt.Errorf("checkpoint output: %w", err)
			}
			checked[dir] = true
		}
	}
	return nil
}

// maxNamesChecked bounds the checkpoint names checkOutputs looks at one by
// one: beyond it (a checkpoint every step of a very long run) only the
// first and the last are checked.
const maxNamesChecked = 100_000

// checkpointNames are the names of the checkpoints the run will write, in
// order: those of the steps i with i % CheckpointIterations == 0, and the
// last, numbered Iterations (only that one with CheckpointIterations 0).
func checkpointNames(r *resolved) ([]string, error) {
	var labels []int
	if k := r.CheckpointIterations; k > 0 {
		count := (r.Iterations-2)/k + 1 // steps 0, k, 2k, ... below the last
		if count > maxNamesChecked {
			labels = append(labels, 0)
		} else {
			for i := 0; i < r.Iterations-1; i += k {
				labels = append(labels, i)
			}
		}
	}
	labels = append(labels, r.Iterations)
	names := make([]string, len(labels))
	for i, label := range labels {
		name, err := CheckpointName(r.CheckpointOutput, label)
		if err != nil {
			return nil, err
		}
		names[i] = name
	}
	return names, nil
}

// checkEncodable refuses, once the output's size is known and before the
// network is loaded, an output or checkpoint format that cannot hold it.
func checkEncodable(r *resolved, w, h int) error {
	paths := []string{r.Output}
	if r.CheckpointOutput != "" {
		names, err := checkpointNames(r)
		if err != nil {
			return invalid("CheckpointOutput", "%v", err)
		}
		paths = append(paths, names[0], names[len(names)-1])
	}
	for _, p := range paths {
		if err := imageio.CheckEncodable(p, w, h); err != nil {
			return err
		}
	}
	return nil
}

// exists tells whether a file is at path (through links: a dangling link
// is written through, to its target, as the reference's Pillow does).
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// resized resizes img, read from path, to w x h as the option named by why
// asks, refusing an empty size and one over the pixel limit: a big Width
// or StyleScales must not exhaust memory any more than a big file may.
func resized(path, why string, img *imageio.Image, w, h int, ropts imageio.ReadOptions) (*imageio.Image, error) {
	if w < 1 || h < 1 {
		return nil, &OptionError{Option: why, Msg: fmt.Sprintf("gives an empty %dx%d image from %s", w, h, path)}
	}
	if err := ropts.CheckSize(w, h); err != nil {
		return nil, &OptionError{Option: why, Msg: fmt.Sprintf("gives %s from %s (see MaxPixels)", err, path)}
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

package stylize

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/optim"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/weights"
)

// Record is one row of progress.txt.
type Record struct {
	Scale  int // 0-based index of the scale in a coarse-to-fine run
	Label  int // the reference's iteration number in its scale (see Event.Label)
	Losses engine.Losses
}

// Result is what a finished (or interrupted) run leaves.
type Result struct {
	Output      string         // the image written
	Image       *imageio.Image // the image written, as saved (before uint8 truncation)
	Records     []Record       // the recorded losses
	Seed        int64          // the noise seed used
	Steps       int            // optimisation steps taken, at all scales
	Iterations  int            // optimisation steps asked for, at all scales
	Interrupted bool           // cancelled before the last step
	Files       []string       // every file written, checkpoints and progress included
	BestLoss    float64        // the total loss of the image written
}

// Run performs the whole job: it checks the options and the output, reads
// the images and the network, optimises and writes the images and progress
// files. Cancelling ctx during the optimisation stops it after the current
// step; the best image so far is then written, with the state to resume
// from (StatePath), and the error wraps ErrInterrupted.
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
	settings, err := runSettings(r)
	if err != nil {
		return nil, err
	}
	var saved *stateFile
	if r.Resume {
		if saved, err = openState(r, settings); err != nil {
			return nil, err
		}
		defer saved.Close()
	}
	job, err := prepare(ctx, r)
	if err != nil {
		return nil, err
	}
	defer func() { job.problem.Close() }()
	job.settings = settings
	res, err := job.optimise(ctx, saved)
	if err != nil {
		return nil, err
	}
	// The network's buffers and the optimiser's state are not needed to
	// write the result: collected now, the encoder's buffers reuse their
	// memory instead of adding to the peak (a 4096x4096 run's came last).
	job.problem.Close()
	job.problem = closedProblem{}
	runtime.GC()
	if err := job.write(res); err != nil {
		if state := StatePath(r.Output); errors.Is(err, imageio.ErrAppeared) && exists(state) {
			// The work is not lost: the last checkpoint's state holds it.
			return nil, fmt.Errorf("%w; the run's state is kept in %s (see --resume)", err, state)
		}
		return nil, err
	}
	if res.Interrupted {
		return res, fmt.Errorf("stopped after %d of %d iterations: %w", res.Steps, res.Iterations, ErrInterrupted)
	}
	if err := os.Remove(StatePath(r.Output)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("removing the finished run's state: %w", err)
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

// job is a prepared run: the problem of the current scale on its engine,
// with its targets, and the initial image.
type job struct {
	r         *resolved
	eng       engine.Engine
	problem   engine.Problem // the problem of scale
	scale     int
	inputs    []*images      // the images at each scale
	initial   *engine.Image  // the image the optimisation starts from, preprocessed
	content   *imageio.Image // the content image at the output's size
	mean      [3]float32     // the network's mean pixel
	seed      int64          // the noise seed
	seedDrawn bool           // the seed was drawn at random, not given
	plan      string         // the network's tiling (vgg.Plan.String), "" when untiled
	settings  []setting      // what a saved state must match
	wt        *vgg.Weights   // the network, for the tiling budget of later scales
	tileLimit int64          // the limit the networks are tiled under, 0: untiled
}

// images are a job's input images at the sizes the reference gives them.
type images struct {
	content *imageio.Image
	styles  []*imageio.Image
	initial *imageio.Image // nil without Options.Initial
}

// prepare turns the options' files into a problem on the engine: it reads
// and resizes the images, loads the network and computes the targets of
// the first scale.
func prepare(ctx context.Context, r *resolved) (*job, error) {
	inputs, tileLimit, err := readImages(ctx, r)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w before the optimisation started, nothing written: %w", ErrInterrupted, err)
		}
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
	im := inputs[0]
	job := &job{r: r, eng: eng, inputs: inputs, content: inputs[len(inputs)-1].content, mean: mean, seed: r.Seed,
		wt: wt, tileLimit: tileLimit}
	problem, err := job.newProblem(0)
	if err != nil {
		return nil, err
	}
	job.problem = problem
	if warning := checked(); warning != "" && r.Progress != nil {
		r.Progress(Event{Kind: EventWarning, Message: warning})
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

// useScale makes the job's problem the one of scale s.
func (j *job) useScale(s int) error {
	if s == j.scale {
		return nil
	}
	j.problem.Close()
	j.problem = closedProblem{}
	// Collect the closed problem's buffers (and the last scale's
	// optimiser) before the next problem allocates its own: the garbage
	// collector would otherwise wait for the heap to double, and the two
	// would be resident together.
	runtime.GC()
	p, err := j.newProblem(s)
	if err != nil {
		return fmt.Errorf("scale %d: %w", s+1, err)
	}
	j.problem, j.scale = p, s
	return nil
}

// newProblem makes the problem of scale s, tiled under the job's limit
// when it has one; the plan of a tiled one is kept for EventStart and
// EventScale.
func (j *job) newProblem(s int) (engine.Problem, error) {
	spec := j.r.spec(j.inputs[s], j.mean)
	var outside int64 // beside the networks, when tiled
	if j.tileLimit > 0 {
		spec.MaxBytes, outside = j.r.tileBudget(spec, j.wt, j.tileLimit)
	}
	p, err := j.eng.NewProblem(spec)
	if err != nil {
		return nil, fmt.Errorf("engine %s: %w", j.eng.Name(), err)
	}
	j.plan = ""
	if tp, ok := p.(interface{ Plan() vgg.Plan }); ok {
		if plan := tp.Plan(); plan.Tiled() {
			j.plan = fmt.Sprintf("%v; estimated peak %.0f MB", plan, float64(outside+plan.Bytes)/1e6)
		}
	}
	return p, nil
}

// closedProblem stands in for a problem closed before the next was made.
type closedProblem struct{}

func (closedProblem) Eval(*engine.Image, []float32) (engine.Losses, error) {
	return engine.Losses{}, engine.ErrClosed
}
func (closedProblem) Close() error { return nil }

// checkMemory refuses, before the network is loaded (and before the
// images' pixels are decoded), a run of the given content and style sizes
// whose estimated peak exceeds MaxMemory (or what the process may use) and
// that tiling on the native engine cannot bring under it. It returns the
// limit the run's networks are to be tiled under, 0 when they need not be.
func (r *resolved) checkMemory(content Size, styles []Size) (int64, error) {
	var state int64 // the optimiser's state beyond Adam's, which the estimate counts
	if r.Optimizer == "lbfgs" {
		state = optim.LBFGSBytes(3*content.W*content.H, r.LBFGSHistory)
	}
	est := EstimatePeakMemory(r.EngineName, content, styles, r.deepest(), state)
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

// newOptimizer returns the optimiser the options choose for n values.
func (r *resolved) newOptimizer(n int) (Optimizer, error) {
	if r.Optimizer == "lbfgs" {
		o := optim.DefaultLBFGS()
		o.History = r.LBFGSHistory
		lb, err := optim.NewLBFGS(n, o)
		if err != nil {
			return nil, &OptionError{Option: "LBFGSHistory", Msg: err.Error()}
		}
		return lb, nil
	}
	return NewAdam(n, r.adam), nil
}

// optimise runs the optimisation loop at each scale, from the job's
// initial image or the saved state, writing the checkpoints and states.
// The result holds the image to write; write writes it.
func (j *job) optimise(ctx context.Context, saved *stateFile) (*Result, error) {
	r := j.r
	res := &Result{Output: r.Output, Seed: j.seed}
	for _, sc := range r.scales {
		res.Iterations += sc.iterations
	}
	emit := func(Event) {}
	if r.Progress != nil {
		emit = r.Progress
	}
	first, x := 0, j.initial
	if saved != nil {
		first = saved.header.scale
		res.Seed, j.seed, j.seedDrawn = saved.header.seed, saved.header.seed, false
	}
	stepsBefore := 0 // steps at the scales before this one
	for _, sc := range r.scales[:first] {
		stepsBefore += sc.iterations
	}
	var prevOpt Optimizer
	var prevW, prevH int
	for s := first; s < len(r.scales); s++ {
		content := j.inputs[s].content
		restoring := saved != nil && s == first
		if !restoring && (x.W != content.W || x.H != content.H) {
			// The previous scale's result, resized as the reference resizes
			// its images, starts this one (before useScale, whose
			// collection then takes the resizing's temporaries too).
			x = preprocessPtr(imageio.Resize(j.postprocess(x, nil), content.W, content.H), j.mean)
		}
		if err := j.useScale(s); err != nil {
			return nil, err
		}
		opt, err := r.newOptimizer(content.W * content.H * 3)
		if err != nil {
			return nil, err
		}
		if prev, ok := prevOpt.(*Adam); ok && !restoring {
			opt = prev.resampled(prevW, prevH, content.W, content.H)
		}
		l := j.newLoop(s, opt, res, emit, s == first, stepsBefore)
		if restoring {
			if x, l.resume, res.Records, err = saved.restore(content.W, content.H, opt); err != nil {
				return nil, err
			}
			res.Steps = stepsBefore + l.resume.steps
		}
		lr, err := l.run(ctx, x)
		if err != nil {
			return nil, err
		}
		res.Steps = stepsBefore + lr.steps
		res.BestLoss = lr.bestLoss
		if lr.interrupted || res.Image == nil || s < len(r.scales)-1 {
			res.Image = j.postprocess(lr.best, content)
		}
		if lr.interrupted {
			res.Interrupted = true
			break
		}
		x = lr.best
		if carryAdamMoments { // else the last optimiser is garbage at once
			prevOpt, prevW, prevH = opt, content.W, content.H
		}
		stepsBefore += r.scales[s].iterations
	}
	return res, nil
}

// newLoop is the loop of scale s, reporting, recording, checkpointing and
// saving into res.
func (j *job) newLoop(s int, opt Optimizer, res *Result, emit func(Event), first bool, stepsBefore int) *loop {
	r := j.r
	content := j.inputs[s].content
	multi := r.Scales != nil
	l := &loop{
		problem:         j.problem,
		optimizer:       opt,
		iterations:      r.scales[s].iterations,
		printEvery:      r.PrintIterations,
		checkpointEvery: r.CheckpointIterations,
		emit: func(ev Event) {
			if multi {
				ev.Scale, ev.Scales, ev.ScaleW, ev.ScaleH = s+1, len(r.scales), content.W, content.H
			}
			if ev.Kind == EventStart {
				if first {
					ev.Seed, ev.SeedDrawn, ev.UsesNoise = j.seed, j.seedDrawn, r.noiseBlend > 0
					ev.Plan = j.plan
					emit(ev)
				}
				if !multi {
					return
				}
				ev.Kind, ev.Plan = EventScale, j.plan
			}
			emit(ev)
		},
		record: func(label int, ls engine.Losses) {
			res.Records = append(res.Records, Record{Scale: s, Label: label, Losses: ls})
		},
		checkpoint: func(label int, best *engine.Image) error {
			res.Image = j.postprocess(best, content)
			if multi {
				// Numbered by the steps of the whole run so far, so that
				// the scales' checkpoints do not share names.
				label = stepsBefore + stepsOf(label, r.scales[s].iterations)
			}
			return j.writeCheckpoint(res, label, emit)
		},
	}
	if _, onBackend := j.problem.(engine.AdamStepper); !onBackend || r.Optimizer != "adam" {
		// The state can be saved when the optimiser's state is ours.
		l.save = func(steps int, x *engine.Image, lr *loopResult) error {
			return j.writeState(s, x, lr, opt, res.Records)
		}
	}
	return l
}

// stepsOf is the number of steps taken when the loop gives a record or a
// checkpoint the reference's number label: the 0-based step, or all of
// them at the last.
func stepsOf(label, iterations int) int {
	if label == iterations {
		return label
	}
	return label + 1
}

// postprocess turns an optimised image into what is written; content,
// when not nil, is the content image of its size, for PreserveColors.
func (j *job) postprocess(x *engine.Image, content *imageio.Image) *imageio.Image {
	img := unprocess(imageio.New(x.W, x.H), x, j.mean)
	if j.r.PreserveColors && content != nil {
		img = imageio.PreserveColors(content, img)
	}
	return img
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
// there before it); a resumed run replaces the interrupted run's output
// and checkpoints.
func (j *job) save(path string, img *imageio.Image) error {
	if j.r.Overwrite || j.r.Resume {
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
	var sizes [][2]int // the scales' sizes, for progress.txt's comments
	if j.r.Scales != nil {
		for _, im := range j.inputs {
			sizes = append(sizes, [2]int{im.content.W, im.content.H})
		}
	}
	for _, p := range []struct {
		want  bool
		name  string
		write func(string, []Record) error
	}{
		{j.r.ProgressWrite, "progress.txt", func(path string, recs []Record) error { return writeProgressText(path, recs, sizes) }},
		{j.r.ProgressPlot, "progress.png", func(path string, recs []Record) error { return writeProgressPlot(path, recs, j.r.scales) }},
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
	if exists(r.Output) && !r.Overwrite && !r.Resume {
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
		if exists(name) && !r.Overwrite && !r.Resume {
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

func preprocessPtr(img *imageio.Image, mean [3]float32) *engine.Image {
	x := preprocess(img, mean)
	return &x
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

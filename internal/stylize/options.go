package stylize

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/optim"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/weights"
)

// EngineFactory makes a compute engine for the loaded weights.
type EngineFactory func(w *vgg.Weights) (engine.Engine, error)

// Special values of Options fields whose default is derived or drawn.
const (
	// AutoNoiseBlend as InitialNoiseBlend means the reference's default:
	// 1 (pure noise) without an initial image, 0 with one.
	AutoNoiseBlend = -1.0
	// RandomSeed as Seed draws the seed at random (it is reported in the
	// EventStart event).
	RandomSeed int64 = -1
)

// Options describe one stylisation job. Every field holds its value as
// used: start from DefaultOptions, which has the reference program's
// defaults, and change what differs.
type Options struct {
	Content string   // content image (required)
	Styles  []string // style images (at least one)
	Output  string   // output image; the format follows the extension

	Iterations      int // optimisation steps
	PrintIterations int // record and report losses every N steps; 0 only at the last

	// CheckpointOutput is a file name with a placeholder ("out_{:05}.jpg",
	// "out_%d.jpg"); CheckpointIterations its frequency, 0 for only the
	// last step's checkpoint. CheckpointIterations needs CheckpointOutput.
	CheckpointOutput     string
	CheckpointIterations int

	ProgressWrite bool // write progress.txt beside the output
	ProgressPlot  bool // write progress.png beside the output

	Width       int       // resize the content to this width; 0 keeps it
	StyleScales []float64 // one per style; nil means 1.0 each
	Network     string    // VGG-19 weights (.mat, .caffemodel, .pth, .safetensors)
	// SearchNetwork looks for Network, when it is not there, where
	// weights.SearchPath says ($NEURALSTYLE_NETWORK, the data folder of
	// `neuralstyle weights download`); without it Network alone is tried.
	SearchNetwork     bool
	StyleBlendWeights []float64 // one per style, normalised to sum 1; nil means equal

	ContentWeight float64
	// ContentWeightBlend weighs the reference's two content layers,
	// relu4_2 by B and relu5_2 by 1-B; other content layer lists weigh
	// their layers equally.
	ContentWeightBlend  float64
	StyleWeight         float64
	StyleLayerWeightExp float64 // style layer weights 1, E, E^2, ... over StyleLayers
	TVWeight            float64
	// ContentLayers and StyleLayers are the ReLU layers the losses read
	// (vgg.ReLUNames), in order.
	ContentLayers, StyleLayers []string

	// Optimizer is "adam" (the reference's) or "lbfgs" (torch.optim.LBFGS
	// without line search, as jcjohnson/neural-style uses it).
	Optimizer string
	// Adam's hyperparameters (TensorFlow 1's AdamOptimizer).
	LearningRate, Beta1, Beta2, Epsilon float64
	// LBFGSHistory is the number of curvature pairs L-BFGS keeps: two
	// float32 images each (optim.LBFGSBytes).
	LBFGSHistory int

	// Scales, when set, are the content widths of a coarse-to-fine run,
	// coarse to fine; the last is the output's width and takes the place
	// of Width. ScaleIterations are the steps at each (nil: Iterations at
	// each).
	Scales, ScaleIterations []int
	// Resume continues the run saved in StatePath(Output).
	Resume bool

	Initial           string  // initial image; resized to the content's size
	InitialNoiseBlend float64 // share of noise in the initial image, or AutoNoiseBlend

	PreserveColors bool
	Pooling        string // "max" or "avg"
	Overwrite      bool   // replace an existing output

	Seed      int64 // seed of the initial noise (>= 0), or RandomSeed
	MaxPixels int   // bound on every input image's and resized image's pixels
	// MaxMemory bounds the run's estimated peak memory in bytes; 0 means
	// what this process may use (available RAM, a cgroup limit, RLIMIT_AS).
	MaxMemory int64

	// EngineName names Engine's backend for the memory estimate:
	// "tensorflow" is estimated as TensorFlow's graph, anything else as the
	// native engine.
	EngineName string

	// Engine makes the compute engine (required: package native's is the
	// usual one).
	Engine EngineFactory
	// Progress, when set, receives the run's events in order, on the
	// goroutine that called Run.
	Progress func(Event)
}

// DefaultOptions returns the reference program's defaults (neural_style.py)
// with no files and no engine.
func DefaultOptions() Options {
	return Options{
		Iterations:          1000,
		Network:             weights.DefaultName,
		SearchNetwork:       true,
		ContentWeight:       5,
		ContentWeightBlend:  1,
		StyleWeight:         500,
		StyleLayerWeightExp: 1,
		TVWeight:            100,
		ContentLayers:       slices.Clone(vgg.ReferenceContentLayers),
		StyleLayers:         slices.Clone(vgg.ReferenceStyleLayers),
		Optimizer:           "adam",
		LearningRate:        10,
		Beta1:               0.9,
		Beta2:               0.999,
		Epsilon:             1e-08,
		LBFGSHistory:        optim.DefaultLBFGS().History,
		InitialNoiseBlend:   AutoNoiseBlend,
		Pooling:             "max",
		Seed:                RandomSeed,
		MaxPixels:           100_000_000,
	}
}

// OptionError reports an option whose value cannot work. Option is the
// Options field's name; Msg may name other fields too. Usage errors can be
// told from the options alone (Validate); the others were found on the
// files (an image that --width would make empty).
type OptionError struct {
	Option string
	Msg    string
	Usage  bool
}

func (e *OptionError) Error() string { return e.Option + " " + e.Msg }

func invalid(option, format string, args ...any) error {
	return &OptionError{Option: option, Msg: fmt.Sprintf(format, args...), Usage: true}
}

// ErrInterrupted is returned (wrapped) by Run when its context was cancelled
// during the optimisation; the best image so far has been written.
var ErrInterrupted = errors.New("interrupted")

// resolved are Options checked, with the values they imply.
type resolved struct {
	Options
	styleScales, blend []float64 // one per style
	noiseBlend         float64
	pool               engine.Pooling
	adam               engine.AdamSettings
	content, style     []engine.LayerWeight
	scales             []scale // one without Options.Scales
}

// scale is one stage of a coarse-to-fine run: the content's width (0
// keeps the content's own) and the steps taken at it.
type scale struct{ width, iterations int }

// Validate checks the options that need no file, returning an
// *OptionError (Usage set) for the first option that cannot work.
func (o *Options) Validate() error {
	_, err := o.resolve()
	return err
}

func (o *Options) resolve() (*resolved, error) {
	r := &resolved{Options: *o}
	for _, check := range []func(*resolved) error{checkFiles, checkFinite, checkCounts, checkScales, checkStyles, checkLayers, checkRest} {
		if err := check(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func checkFiles(r *resolved) error {
	switch {
	case r.Content == "":
		return invalid("Content", "is required: the content image")
	case len(r.Styles) == 0:
		return invalid("Styles", "is required: at least one style image")
	case r.Output == "":
		return invalid("Output", "is required: the output image")
	case r.Network == "":
		return invalid("Network", "is required: the VGG-19 weights")
	case r.Engine == nil:
		return invalid("Engine", "is required: the compute engine")
	}
	return nil
}

// checkFinite refuses NaN and infinite numbers, which would run to the
// end and write a black image: no weight, rate or scale means anything so.
func checkFinite(r *resolved) error {
	for _, v := range []struct {
		option string
		values []float64
	}{
		{"ContentWeight", []float64{r.ContentWeight}},
		{"ContentWeightBlend", []float64{r.ContentWeightBlend}},
		{"StyleWeight", []float64{r.StyleWeight}},
		{"StyleLayerWeightExp", []float64{r.StyleLayerWeightExp}},
		{"TVWeight", []float64{r.TVWeight}},
		{"LearningRate", []float64{r.LearningRate}},
		{"Beta1", []float64{r.Beta1}},
		{"Beta2", []float64{r.Beta2}},
		{"Epsilon", []float64{r.Epsilon}},
		{"InitialNoiseBlend", []float64{r.InitialNoiseBlend}},
		{"StyleScales", r.StyleScales},
		{"StyleBlendWeights", r.StyleBlendWeights},
	} {
		for _, x := range v.values {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return invalid(v.option, "must be a finite number, got %g", x)
			}
		}
	}
	return nil
}

func checkCounts(r *resolved) error {
	switch {
	case r.Iterations <= 0:
		return invalid("Iterations", "must be positive, got %d", r.Iterations)
	case r.PrintIterations < 0:
		return invalid("PrintIterations", "must be positive, got %d", r.PrintIterations)
	case r.CheckpointOutput == "" && r.CheckpointIterations != 0:
		return invalid("CheckpointOutput", "and CheckpointIterations: use either both or neither")
	case r.CheckpointIterations < 0:
		return invalid("CheckpointIterations", "must be positive, got %d", r.CheckpointIterations)
	case r.Width < 0:
		return invalid("Width", "must be positive, got %d", r.Width)
	case r.MaxPixels <= 0:
		return invalid("MaxPixels", "must be positive, got %d", r.MaxPixels)
	case r.MaxMemory < 0:
		return invalid("MaxMemory", "must be positive, got %d", r.MaxMemory)
	case r.Seed < 0 && r.Seed != RandomSeed:
		return invalid("Seed", "must be 0 or more, got %d", r.Seed)
	}
	if r.CheckpointOutput != "" {
		if !placeholderRE.MatchString(r.CheckpointOutput) {
			return invalid("CheckpointOutput", "must contain a placeholder to save intermediate images")
		}
		if _, err := CheckpointName(r.CheckpointOutput, 0); err != nil {
			return invalid("CheckpointOutput", "%v", err)
		}
	}
	return nil
}

// checkScales resolves the coarse-to-fine stages: one at Width without
// Scales.
func checkScales(r *resolved) error {
	if r.Scales == nil {
		if r.ScaleIterations != nil {
			return invalid("ScaleIterations", "needs Scales: the widths they are steps at")
		}
		r.scales = []scale{{r.Width, r.Iterations}}
		return nil
	}
	switch {
	case len(r.Scales) == 0:
		return invalid("Scales", "must list at least one width")
	case r.Width != 0:
		return invalid("Width", "and Scales: the last scale is the output's width; give one of them")
	case r.ScaleIterations != nil && len(r.ScaleIterations) != len(r.Scales):
		return invalid("ScaleIterations", "has %d counts for %d scales", len(r.ScaleIterations), len(r.Scales))
	}
	r.scales = make([]scale, len(r.Scales))
	for i, w := range r.Scales {
		if w <= 0 {
			return invalid("Scales", "must be positive widths, got %d", w)
		}
		r.scales[i] = scale{w, r.Iterations}
		if r.ScaleIterations != nil {
			if r.ScaleIterations[i] <= 0 {
				return invalid("ScaleIterations", "must be positive, got %d", r.ScaleIterations[i])
			}
			r.scales[i].iterations = r.ScaleIterations[i]
		}
	}
	return nil
}

// checkStyles resolves the per-style scales and the normalised blend
// weights.
func checkStyles(r *resolved) error {
	n := len(r.Styles)
	r.styleScales = r.StyleScales
	if r.styleScales == nil {
		r.styleScales = slices.Repeat([]float64{1}, n)
	}
	if len(r.styleScales) != n {
		return invalid("StyleScales", "has %d style scales for %d style images", len(r.styleScales), n)
	}
	for _, s := range r.styleScales {
		if !(s > 0) {
			return invalid("StyleScales", "must be positive, got %g", s)
		}
	}
	if r.StyleBlendWeights == nil {
		r.blend = slices.Repeat([]float64{1.0 / float64(n)}, n)
		return nil
	}
	if len(r.StyleBlendWeights) != n {
		return invalid("StyleBlendWeights", "has %d style blend weights for %d style images", len(r.StyleBlendWeights), n)
	}
	total := 0.0
	for _, w := range r.StyleBlendWeights {
		total += w
	}
	if total == 0 {
		return invalid("StyleBlendWeights", "sum to zero")
	}
	r.blend = make([]float64, n)
	for i, w := range r.StyleBlendWeights {
		r.blend[i] = w / total
	}
	return nil
}

// checkLayers resolves the loss layers and their weights: the reference's
// content blend B, 1-B over its two content layers, equal weights over any
// other list, and the style layers' powers of the exponent.
func checkLayers(r *resolved) error {
	for _, l := range []struct {
		option string
		names  []string
	}{{"ContentLayers", r.ContentLayers}, {"StyleLayers", r.StyleLayers}} {
		if len(l.names) == 0 {
			return invalid(l.option, "must name at least one layer")
		}
		for i, name := range l.names {
			if _, err := vgg.ReLUIndex(name); err != nil {
				return invalid(l.option, "has unknown layer %q: valid layers are %s", name, reluList())
			}
			if slices.Contains(l.names[:i], name) {
				return invalid(l.option, "lists layer %q twice", name)
			}
		}
	}
	if slices.Equal(r.ContentLayers, vgg.ReferenceContentLayers) {
		b := r.ContentWeightBlend
		r.content = layerWeights(r.ContentLayers, []float64{b, 1 - b})
	} else {
		if r.ContentWeightBlend != DefaultOptions().ContentWeightBlend {
			return invalid("ContentWeightBlend", "weighs only the default ContentLayers %v", vgg.ReferenceContentLayers)
		}
		r.content = layerWeights(r.ContentLayers, slices.Repeat([]float64{1 / float64(len(r.ContentLayers))}, len(r.ContentLayers)))
	}
	r.style = layerWeights(r.StyleLayers, styleLayerWeights(r.StyleLayerWeightExp, len(r.StyleLayers)))
	return nil
}

func reluList() string {
	names := vgg.ReLUNames
	return fmt.Sprintf("%s .. %s (%v)", names[0], names[len(names)-1], names[:])
}

func layerWeights(names []string, weights []float64) []engine.LayerWeight {
	out := make([]engine.LayerWeight, len(names))
	for i, n := range names {
		out[i] = engine.LayerWeight{Layer: n, Weight: weights[i]}
	}
	return out
}

func checkRest(r *resolved) error {
	switch r.Pooling {
	case "max":
		r.pool = engine.MaxPool
	case "avg":
		r.pool = engine.AvgPool
	default:
		return invalid("Pooling", "must be max or avg, got %q", r.Pooling)
	}
	r.noiseBlend = r.InitialNoiseBlend
	switch {
	case r.noiseBlend == AutoNoiseBlend && r.Initial == "":
		r.noiseBlend = 1
	case r.noiseBlend == AutoNoiseBlend:
		r.noiseBlend = 0
	case !(r.noiseBlend >= 0 && r.noiseBlend <= 1):
		return invalid("InitialNoiseBlend", "must be in [0, 1], got %g", r.InitialNoiseBlend)
	}
	switch r.Optimizer {
	case "adam", "lbfgs":
	default:
		return invalid("Optimizer", "must be adam or lbfgs, got %q", r.Optimizer)
	}
	if r.LBFGSHistory < 1 {
		return invalid("LBFGSHistory", "must be at least 1, got %d", r.LBFGSHistory)
	}
	r.adam = engine.AdamSettings{LearningRate: r.LearningRate, Beta1: r.Beta1, Beta2: r.Beta2, Epsilon: r.Epsilon}
	return nil
}

// styleLayerWeights are 1, E, E^2, ... for n style layers, normalised to
// sum 1, accumulated as the reference does.
func styleLayerWeights(exp float64, n int) []float64 {
	w := make([]float64, n)
	lw, sum := 1.0, 0.0
	for i := range w {
		w[i] = lw
		lw *= exp
	}
	for _, v := range w {
		sum += v
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// EventKind tells what an Event reports.
type EventKind int

const (
	// EventStart: the optimisation is about to start (Iterations, Seed,
	// SeedDrawn).
	EventStart EventKind = iota
	// EventInitialLosses: the losses of the initial image (printed by the
	// reference, never recorded).
	EventInitialLosses
	// EventIteration: step Iteration (1-based) of Iterations starts;
	// Elapsed and Remaining are set from the second step on.
	EventIteration
	// EventLosses: losses recorded under the number Label.
	EventLosses
	// EventCheckpoint: an image was written to Path under the number Label.
	EventCheckpoint
	// EventInterrupted: the run was cancelled after Iteration steps; the
	// best image so far goes to the output.
	EventInterrupted
	// EventWarning: something the user should know that does not stop the
	// run (Message, one line): a network file whose checksum is not the
	// official one's.
	EventWarning
	// EventScale: a coarse-to-fine run (Options.Scales) starts scale
	// Scale of Scales, ScaleW x ScaleH, of Iterations steps (after
	// EventStart at the first).
	EventScale
)

// Event is one report of progress.
type Event struct {
	Kind       EventKind
	Iteration  int // 1-based step number
	Iterations int
	// Label is the number the reference gives a record or a checkpoint:
	// the 0-based step, or Iterations at the last step.
	Label     int
	Elapsed   time.Duration
	Remaining time.Duration
	Losses    engine.Losses
	Path      string
	Seed      int64
	SeedDrawn bool   // the seed was drawn at random, not given
	UsesNoise bool   // the initial image has a noise share
	Message   string // EventWarning's text
	// Plan is the tiling of the network (vgg.Plan.String and the
	// estimated peak) when the memory limit made the native engine tile
	// it, "" when untiled: in EventStart that of the first scale, in
	// EventScale that of the scale starting.
	Plan string
	// Scale (1-based) of Scales, ScaleW x ScaleH pixels, is the stage of a
	// coarse-to-fine run the event belongs to; Scales is 0 without
	// Options.Scales. Iteration, Iterations and Label count the scale's
	// own steps.
	Scale, Scales, ScaleW, ScaleH int
}

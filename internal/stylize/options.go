package stylize

import (
	"errors"
	"fmt"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// Reference defaults (neural_style.py).
const (
	DefaultNetwork             = "imagenet-vgg-verydeep-19.mat"
	DefaultIterations          = 1000
	DefaultContentWeight       = 5.0
	DefaultContentWeightBlend  = 1.0
	DefaultStyleWeight         = 500.0
	DefaultStyleLayerWeightExp = 1.0
	DefaultTVWeight            = 100.0
	DefaultLearningRate        = 10.0
	DefaultBeta1               = 0.9
	DefaultBeta2               = 0.999
	DefaultEpsilon             = 1e-08
	DefaultStyleScale          = 1.0
	DefaultPooling             = "max"
	DefaultBackend             = "native"
)

// Options describe one stylisation job. The zero value of every field means
// the reference program's default; the numeric hyperparameters are pointers
// so that an explicit zero (say, no total-variation term) can be told from
// "not given". Use Float to set one.
type Options struct {
	Content string   // content image (required)
	Styles  []string // style images (at least one)
	Output  string   // output image; the format follows the extension

	Iterations      int // optimisation steps; 0 means 1000
	PrintIterations int // record and report losses every N steps; 0 only at the last

	// CheckpointOutput is a file name with a placeholder ("out_{:05}.jpg",
	// "out_%d.jpg"); CheckpointIterations its frequency. Both or neither.
	CheckpointOutput     string
	CheckpointIterations int

	ProgressWrite bool // write progress.txt beside the output
	ProgressPlot  bool // write progress.png beside the output

	Width             int       // resize the content to this width; 0 keeps it
	StyleScales       []float64 // one per style; nil means 1.0 each
	Network           string    // VGG-19 .mat; "" means imagenet-vgg-verydeep-19.mat
	StyleBlendWeights []float64 // one per style; nil means equal

	ContentWeightBlend  *float64
	ContentWeight       *float64
	StyleWeight         *float64
	StyleLayerWeightExp *float64
	TVWeight            *float64
	LearningRate        *float64
	Beta1, Beta2        *float64
	Epsilon             *float64

	Initial           string   // initial image; resized to the content's size
	InitialNoiseBlend *float64 // share of noise in the initial image (see SPEC 3)

	PreserveColors bool
	Pooling        string // "max" (default) or "avg"
	Overwrite      bool   // replace an existing output

	// Seed makes the initial noise reproducible; nil draws one (reported in
	// the EventStart event).
	Seed *int64
	// Backend names the compute engine; "" means "native".
	Backend string
	// MaxPixels bounds the size of every input image; 0 means 100 megapixels.
	MaxPixels int

	// Progress, when set, receives the run's events in order, on the
	// goroutine that called Run.
	Progress func(Event)
}

// Float returns a pointer to v, for the optional fields of Options.
func Float(v float64) *float64 { return &v }

func orDefault(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// UsageError reports options that can never work, as a command-line usage
// error would; Hint says how to mend them.
type UsageError struct {
	Msg  string
	Hint string
}

func (e *UsageError) Error() string { return e.Msg }

func usagef(hint, format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...), Hint: hint}
}

// ErrInterrupted is returned (wrapped) by Run when its context was cancelled
// during the optimisation; the best image so far has been written.
var ErrInterrupted = errors.New("interrupted")

// resolved are Options with every default applied and checked.
type resolved struct {
	Options
	iterations                                                   int
	network, backend                                             string
	contentWeight, contentWeightBlend, styleWeight, layerExp, tv float64
	adam                                                         engine.Adam
	styleScales, blend                                           []float64
	pool                                                         engine.Pooling
}

// Validate checks the options that need no file, returning a *UsageError
// for anything the command line should reject with status 2.
func (o *Options) Validate() error {
	_, err := o.resolve()
	return err
}

func (o *Options) resolve() (*resolved, error) {
	r := &resolved{Options: *o}
	if o.Content == "" {
		return nil, usagef("give the content image with --content FILE", "the content image is required")
	}
	if len(o.Styles) == 0 {
		return nil, usagef("give one or more style images with --styles FILE...", "at least one style image is required")
	}
	if o.Output == "" {
		return nil, usagef("give the output image with --output FILE", "the output image is required")
	}
	r.iterations = o.Iterations
	if r.iterations == 0 {
		r.iterations = DefaultIterations
	}
	if r.iterations < 0 {
		return nil, usagef("use a positive number of iterations", "iterations must be positive, got %d", o.Iterations)
	}
	if o.PrintIterations < 0 {
		return nil, usagef("use a positive number, or leave it out", "print-iterations must be positive, got %d", o.PrintIterations)
	}
	if (o.CheckpointOutput == "") != (o.CheckpointIterations == 0) {
		return nil, usagef("give --checkpoint-output FMT together with --checkpoint-iterations N",
			"use either both of checkpoint-output and checkpoint-iterations or neither")
	}
	if o.CheckpointIterations < 0 {
		return nil, usagef("use a positive number", "checkpoint-iterations must be positive, got %d", o.CheckpointIterations)
	}
	if o.CheckpointOutput != "" {
		if !placeholderRE.MatchString(o.CheckpointOutput) {
			return nil, usagef("e.g. `foo_{}.jpg`, `foo_{:05}.jpg` or `foo_%d.jpg`",
				"to save intermediate images, the checkpoint-output parameter must contain a placeholder")
		}
		if _, err := CheckpointName(o.CheckpointOutput, 0); err != nil {
			return nil, usagef("e.g. `foo_{}.jpg`, `foo_{:05}.jpg` or `foo_%d.jpg`", "%v", err)
		}
	}
	if o.Width < 0 {
		return nil, usagef("use a positive width", "width must be positive, got %d", o.Width)
	}
	r.styleScales = o.StyleScales
	if r.styleScales == nil {
		r.styleScales = make([]float64, len(o.Styles))
		for i := range r.styleScales {
			r.styleScales[i] = DefaultStyleScale
		}
	}
	if len(r.styleScales) != len(o.Styles) {
		return nil, usagef("give one --style-scales value per style image",
			"%d style scales for %d style images", len(r.styleScales), len(o.Styles))
	}
	for _, s := range r.styleScales {
		if !(s > 0) {
			return nil, usagef("style scales must be positive", "style scale %g is not positive", s)
		}
	}
	if o.StyleBlendWeights != nil {
		if len(o.StyleBlendWeights) != len(o.Styles) {
			return nil, usagef("give one --style-blend-weights value per style image",
				"%d style blend weights for %d style images", len(o.StyleBlendWeights), len(o.Styles))
		}
		total := 0.0
		for _, w := range o.StyleBlendWeights {
			total += w
		}
		if total == 0 {
			return nil, usagef("give blend weights with a non-zero sum", "style blend weights sum to zero")
		}
		r.blend = make([]float64, len(o.StyleBlendWeights))
		for i, w := range o.StyleBlendWeights {
			r.blend[i] = w / total
		}
	} else {
		r.blend = make([]float64, len(o.Styles))
		for i := range r.blend {
			r.blend[i] = 1.0 / float64(len(o.Styles))
		}
	}
	r.network = o.Network
	if r.network == "" {
		r.network = DefaultNetwork
	}
	switch o.Pooling {
	case "", "max":
		r.pool = engine.MaxPool
	case "avg":
		r.pool = engine.AvgPool
	default:
		return nil, usagef("use --pooling max or --pooling avg", "unknown pooling %q", o.Pooling)
	}
	r.backend = o.Backend
	if r.backend == "" {
		r.backend = DefaultBackend
	}
	r.contentWeight = orDefault(o.ContentWeight, DefaultContentWeight)
	r.contentWeightBlend = orDefault(o.ContentWeightBlend, DefaultContentWeightBlend)
	r.styleWeight = orDefault(o.StyleWeight, DefaultStyleWeight)
	r.layerExp = orDefault(o.StyleLayerWeightExp, DefaultStyleLayerWeightExp)
	r.tv = orDefault(o.TVWeight, DefaultTVWeight)
	r.adam = engine.Adam{
		LearningRate: orDefault(o.LearningRate, DefaultLearningRate),
		Beta1:        orDefault(o.Beta1, DefaultBeta1),
		Beta2:        orDefault(o.Beta2, DefaultBeta2),
		Epsilon:      orDefault(o.Epsilon, DefaultEpsilon),
	}
	if o.InitialNoiseBlend != nil && !(*o.InitialNoiseBlend >= 0 && *o.InitialNoiseBlend <= 1) {
		return nil, usagef("use a value between 0 and 1", "initial-noiseblend must be in [0, 1], got %g", *o.InitialNoiseBlend)
	}
	if o.MaxPixels < 0 {
		return nil, usagef("use a positive pixel limit", "max-pixels must be positive, got %d", o.MaxPixels)
	}
	return r, nil
}

// styleLayerWeights are 1, E, E^2, ... for relu1_1..relu5_1, normalised to
// sum 1, accumulated as the reference does.
func styleLayerWeights(exp float64) [5]float64 {
	var w [5]float64
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
	// EventLosses: losses recorded at iteration number Itr.
	EventLosses
	// EventCheckpoint: an image was written to Path for iteration Itr.
	EventCheckpoint
	// EventInterrupted: the run was cancelled after Iteration steps; the
	// best image so far goes to the output.
	EventInterrupted
)

// Event is one report of progress.
type Event struct {
	Kind       EventKind
	Iteration  int // 1-based step number
	Iterations int
	Itr        int // the reference's iteration number for records and checkpoints
	Elapsed    time.Duration
	Remaining  time.Duration
	Losses     engine.Losses
	Path       string
	Seed       int64
	SeedDrawn  bool // the seed was drawn at random, not given
	UsesNoise  bool // the initial image has a noise share
}

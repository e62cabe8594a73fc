package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// Exit statuses.
const (
	exitOK        = 0
	exitRuntime   = 1
	exitUsage     = 2
	exitInterrupt = 130
)

// usageError marks errors in the command line itself (bad flags, values).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// flagError is a usage error about one flag's value, with a hint.
type flagError struct{ flag, msg, hint string }

func (e *flagError) Error() string { return e.flag + " " + e.msg }

// cli holds the parsed command line: the options, bound to the flags, and
// the flags that are not options.
type cli struct {
	opts    stylize.Options
	backend string
	quiet   bool
}

const example = `  neuralstyle --content cat.jpg --styles style.jpg --output out.jpg
  neuralstyle --content cat.jpg --styles a.jpg b.jpg --style-blend-weights 0.8 0.2 \
      --output out.png --iterations 500 --checkpoint-output 'out_{:05}.png' --checkpoint-iterations 100
  # coarse to fine, a 512-wide picture (measured at 512 on random weights: the loss of the
  # default run in 0.12 of its time):
  neuralstyle --content cat.jpg --styles style.jpg --output out.jpg \
      --scales 128,256,512 --scale-iterations 400,200,150
  # after a Ctrl-C or a crash, continue from out.jpg.state with the same flags:
  neuralstyle ... --checkpoint-output 'out_{}.jpg' --checkpoint-iterations 50 --resume`

func newCommand(stdout, stderr io.Writer, run func(*cobra.Command, *cli) error) (*cobra.Command, *cli) {
	c := &cli{opts: stylize.DefaultOptions()}
	cmd := &cobra.Command{
		Use:   "neuralstyle --content FILE --styles FILE... --output FILE [flags]",
		Short: "Paint a photo in the style of other pictures (Gatys et al., neural_style.py port)",
		Long: `neuralstyle paints the content image in the style of the style images with the
optimisation method of Gatys et al. ("A Neural Algorithm of Artistic Style", 2015).
It is a port of the TensorFlow program neural_style.py: same flags, same defaults,
same numbers out. It needs the VGG-19 weights, imagenet-vgg-verydeep-19.mat.`,
		Example:       example,
		Args:          cobra.NoArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE:          func(cmd *cobra.Command, _ []string) error { return run(cmd, c) },
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd.AddCommand(newWeightsCommand(stdout, stderr))
	f := cmd.Flags()
	f.SortFlags = false
	bindReferenceFlags(f, &c.opts)
	bindExtraFlags(f, c)
	return cmd, c
}

// bindReferenceFlags binds the reference program's flags to o, whose
// values are their defaults.
func bindReferenceFlags(f *pflag.FlagSet, o *stylize.Options) {
	f.StringVar(&o.Content, "content", o.Content, "content image (required)")
	f.StringArrayVar(&o.Styles, "styles", o.Styles, "one or more style images (required): --styles a.jpg b.jpg")
	f.StringVar(&o.Output, "output", o.Output, "output image; the format follows the extension (required)")
	f.Var(newDecimalInt(&o.Iterations, o.Iterations), "iterations", "optimisation steps")
	f.Var(newDecimalInt(&o.PrintIterations, o.PrintIterations), "print-iterations", "print the losses every N iterations (and at the last)")
	f.StringVar(&o.CheckpointOutput, "checkpoint-output", o.CheckpointOutput, "checkpoint file name with a placeholder: out_{:05}.jpg or out_%d.jpg")
	f.Var(newDecimalInt(&o.CheckpointIterations, o.CheckpointIterations), "checkpoint-iterations", "checkpoint frequency (with --checkpoint-output)")
	f.BoolVar(&o.ProgressWrite, "progress-write", o.ProgressWrite, "write progress.txt (losses) in the output's folder")
	f.BoolVar(&o.ProgressPlot, "progress-plot", o.ProgressPlot, "write progress.png (loss curves) in the output's folder")
	f.Var(newDecimalInt(&o.Width, o.Width), "width", "resize the content to this width; height = floor(H/W*width)")
	f.Var(newFiniteFloatSlice(&o.StyleScales, o.StyleScales), "style-scales", "style scale per style image (default 1.0 each)")
	f.StringVar(&o.Network, "network", o.Network, "VGG-19 weights: MatConvNet .mat, Caffe .caffemodel, PyTorch .pth or .safetensors (default: here, then $NEURALSTYLE_NETWORK, then the data folder; see 'neuralstyle weights path')")
	f.Var(newFiniteFloat(&o.ContentWeightBlend, o.ContentWeightBlend), "content-weight-blend", "content layer blend: relu4_2 gets B, relu5_2 gets 1-B (default content layers only)")
	f.Var(newFiniteFloat(&o.ContentWeight, o.ContentWeight), "content-weight", "content weight")
	f.Var(newFiniteFloat(&o.StyleWeight, o.StyleWeight), "style-weight", "style weight")
	f.Var(newFiniteFloat(&o.StyleLayerWeightExp, o.StyleLayerWeightExp), "style-layer-weight-exp", "style layer weights 1, E, E^2, ... over the style layers in order")
	f.Var(newFiniteFloatSlice(&o.StyleBlendWeights, o.StyleBlendWeights), "style-blend-weights", "weight per style image, normalised to sum 1 (default equal)")
	f.Var(newFiniteFloat(&o.TVWeight, o.TVWeight), "tv-weight", "total variation weight")
	f.Var(newFiniteFloat(&o.LearningRate, o.LearningRate), "learning-rate", "Adam learning rate")
	f.Var(newFiniteFloat(&o.Beta1, o.Beta1), "beta1", "Adam beta1")
	f.Var(newFiniteFloat(&o.Beta2, o.Beta2), "beta2", "Adam beta2")
	f.Var(newFiniteFloat(&o.Epsilon, o.Epsilon), "eps", "Adam epsilon")
	f.StringVar(&o.Initial, "initial", o.Initial, "initial image (resized to the content's size)")
	f.Var(newFiniteFloat(&o.InitialNoiseBlend, o.InitialNoiseBlend), "initial-noiseblend", "share of noise in the initial image (default 1 without --initial, 0 with it)")
	f.BoolVar(&o.PreserveColors, "preserve-colors", o.PreserveColors, "keep the content's colours (luminance transfer)")
	f.StringVar(&o.Pooling, "pooling", o.Pooling, "pooling layers: max or avg")
	f.BoolVar(&o.Overwrite, "overwrite", o.Overwrite, "replace an existing output file")
}

// bindExtraFlags binds the flags the reference does not have.
func bindExtraFlags(f *pflag.FlagSet, c *cli) {
	o := &c.opts
	layers := fmt.Sprintf("(%s .. %s)", vgg.ReLUNames[0], vgg.ReLUNames[len(vgg.ReLUNames)-1])
	f.StringSliceVar(&o.ContentLayers, "content-layers", o.ContentLayers, "content loss layers, comma-separated "+layers)
	f.StringSliceVar(&o.StyleLayers, "style-layers", o.StyleLayers, "style loss layers, comma-separated "+layers)
	f.Var(newDecimalInt(&o.Seed, o.Seed), "seed", "seed of the initial noise, 0 or more (default: drawn at random and printed)")
	f.StringVar(&o.Optimizer, "optimizer", o.Optimizer, "adam (the reference's) or lbfgs (torch's L-BFGS without line search, lr 1; --learning-rate, --beta1, --beta2, --eps are Adam's)")
	f.Var(newDecimalInt(&o.LBFGSHistory, o.LBFGSHistory), "lbfgs-history", "L-BFGS curvature pairs kept, 2 float32 images each: 100 at 1024x1024 is 2.5 GB, use 10-20 for large images")
	f.Var(newDecimalIntSlice(&o.Scales, o.Scales), "scales", "coarse-to-fine content widths, e.g. 128,256,512; the last is the output width (instead of --width)")
	f.Var(newDecimalIntSlice(&o.ScaleIterations, o.ScaleIterations), "scale-iterations", "iterations at each of --scales (default --iterations at each), e.g. 400,200,150")
	f.BoolVar(&o.Resume, "resume", o.Resume, "continue the run saved in OUTPUT.state (written at checkpoints and on Ctrl-C, removed when a run completes)")
	f.StringVar(&c.backend, "backend", "native", "compute backend: "+backendNames())
	f.Var(newDecimalInt(&o.MaxPixels, o.MaxPixels), "max-pixels", "refuse input images with more pixels than this")
	f.Var(newSizeValue(&o.MaxMemory), "max-memory", "keep the run's estimated peak memory under SIZE (300MB, 4GB, 1.5GiB; default: what this process may use: available RAM, a cgroup limit, RLIMIT_AS): over it, the native backend evaluates the network in tiles (printed as Tiles: ...), and a run that does not fit even so is refused before loading anything")
	f.BoolVarP(&c.quiet, "quiet", "q", false, "print nothing but errors")
	// These defaults are markers (stylize.AutoNoiseBlend, RandomSeed) that
	// the usage text explains: --help shows no "(default -1)".
	for _, name := range []string{"initial-noiseblend", "seed"} {
		f.Lookup(name).DefValue = "0"
	}
}

// options returns the parsed flags as stylize.Options. It refuses what
// the flags' presence tells and the options cannot: an explicit --width 0
// (the reference fails on it; Width 0 means the content's own width), and
// --checkpoint-output without --checkpoint-iterations (an explicit
// --checkpoint-iterations 0 is the reference's "only the last one").
func (c *cli) options(f *pflag.FlagSet) (stylize.Options, error) {
	o := c.opts
	if f.Changed("width") && o.Width == 0 {
		return o, &stylize.OptionError{Option: "Width", Msg: "must be positive, got 0", Usage: true}
	}
	if f.Changed("checkpoint-output") != f.Changed("checkpoint-iterations") {
		return o, &stylize.OptionError{Option: "CheckpointOutput", Msg: "and CheckpointIterations: use either both or neither", Usage: true}
	}
	o.Styles = splitFileList(c.opts.Styles)
	var err error
	o.Engine, err = engineFactory(c.backend)
	o.EngineName = c.backend
	return o, err
}

// testHookEvent, when set by a test, sees every event of a run.
var testHookEvent func(stylize.Event)

// splitFileList splits comma lists of files ("a.jpg,b.jpg"), except a value
// that names an existing file, whose name may hold a comma.
func splitFileList(values []string) []string {
	var out []string
	for _, v := range values {
		if _, err := os.Stat(v); err == nil || !strings.Contains(v, ",") {
			out = append(out, v)
			continue
		}
		for _, part := range strings.Split(v, ",") {
			if part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// Main runs the command with args and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := watchSignals(cancel, stderr)
	defer sigs.stop()
	return runQuiet(ctx, args, stdout, stderr, &sigs.announce)
}

// run is Main without the signal handling, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runQuiet(ctx, args, stdout, stderr, new(atomic.Bool))
}

// runQuiet is run that sets announce when a run starts without -q.
func runQuiet(ctx context.Context, args []string, stdout, stderr io.Writer, announce *atomic.Bool) int {
	cmd, _ := newCommand(stdout, stderr, func(cmd *cobra.Command, c *cli) error {
		opts, err := c.options(cmd.Flags())
		if err != nil {
			return err
		}
		// A --network given is the one file tried; without it the
		// default name is searched for (weights.SearchPath).
		opts.SearchNetwork = !cmd.Flags().Changed("network")
		if err := opts.Validate(); err != nil {
			return err
		}
		// The run is planned to fit the limit; the garbage collector must
		// keep to it too, collecting before the heap grows past it rather
		// than when it has doubled (under RLIMIT_AS that growth failed).
		if l := stylize.MemoryLimit(opts.MaxMemory); l.Bytes > 0 {
			debug.SetMemoryLimit(l.Bytes)
		}
		announce.Store(!c.quiet)
		var report func(stylize.Event)
		var rep *reporter
		if !c.quiet {
			rep = newReporter(stdout, stderr)
			rep.out = &progressWriter{w: rep.out, errw: stderr}
			report = rep.report
		}
		opts.Progress = func(ev stylize.Event) {
			if report != nil {
				report(ev)
			}
			if testHookEvent != nil {
				testHookEvent(ev)
			}
		}
		res, err := stylize.Run(ctx, opts)
		if err == nil && ctx.Err() != nil {
			// Stopped after the last iteration, during the save: the save
			// went on to the end, and the exit status says interrupted.
			if !c.quiet {
				fmt.Fprintf(stderr, "neuralstyle: interrupted while writing; all %d iterations ran and %s was written in full\n", res.Steps, res.Output)
			}
			return fmt.Errorf("interrupted during the save: %w", stylize.ErrInterrupted)
		}
		switch {
		case errors.Is(err, stylize.ErrInterrupted) && res != nil && !c.quiet:
			fmt.Fprintf(stderr, "neuralstyle: interrupted after %d of %d iterations; wrote the best image so far to %s\n",
				res.Steps, res.Iterations, res.Output)
		case errors.Is(err, stylize.ErrInterrupted) && res == nil && !c.quiet:
			fmt.Fprintln(stderr, "neuralstyle: interrupted before the optimisation started; nothing was written")
		case err == nil && rep != nil && rep.live:
			// The reference's plain output ends with the losses; on a
			// terminal, say where the result went.
			fmt.Fprintf(stderr, "neuralstyle: wrote %s (%d iterations in %s)\n", res.Output, res.Steps, hms(time.Since(rep.started)))
		}
		return err
	})
	norm, err := normalizeArgs(cmd.Flags(), args)
	if err != nil {
		return exitStatus(err, stderr)
	}
	cmd.SetArgs(norm)
	// Help goes through cmd's writer: "--help >/dev/full" must fail as
	// "weights path" does, not exit 0 with nothing written.
	help := &resultWriter{w: stdout}
	cmd.SetOut(help)
	err = cmd.ExecuteContext(ctx)
	if err == nil {
		err = help.check()
	}
	return exitStatus(err, stderr)
}

// exitStatus reports err on stderr in one line (plus a hint for usage
// errors) and maps it to the exit status: 2 for usage, 130 for an
// interrupt, 1 for anything else.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var oe *stylize.OptionError
	var flagErr *flagError
	var fe usageError
	switch {
	case errors.As(err, &oe):
		f := optionFlags[oe.Option]
		msg := oneLine(flagNames(oe.Msg))
		fmt.Fprintf(stderr, "neuralstyle: %s %s\n", f.flag, msg)
		if !oe.Usage {
			return exitRuntime
		}
		if f.hint != "" && !strings.Contains(msg, f.hint) { // a message may end with its fix
			fmt.Fprintf(stderr, "hint: %s\n", f.hint)
		}
		return exitUsage
	case errors.As(err, &flagErr):
		fmt.Fprintf(stderr, "neuralstyle: %s\nhint: %s\n", oneLine(flagErr.Error()), flagErr.hint)
		return exitUsage
	case errors.As(err, &fe) || isCobraUsage(err):
		fmt.Fprintf(stderr, "neuralstyle: %s\nhint: run 'neuralstyle --help' for the flags\n", oneLine(err.Error()))
		return exitUsage
	case errors.Is(err, stylize.ErrInterrupted) || errors.Is(err, context.Canceled):
		return exitInterrupt
	default:
		fmt.Fprintf(stderr, "neuralstyle: %s\n", oneLine(err.Error()))
		return exitRuntime
	}
}

// optionFlags are the flags of stylize.Options' fields, with a hint for
// usage errors about them.
var optionFlags = map[string]struct{ flag, hint string }{
	"Content":              {"--content", "give the content image with --content FILE"},
	"Styles":               {"--styles", "give one or more style images with --styles FILE..."},
	"Output":               {"--output", "give the output image with --output FILE"},
	"Network":              {"--network", "run 'neuralstyle weights download', or give --network FILE"},
	"MaxMemory":            {"--max-memory", "give a smaller --width or --style-scales, or a larger --max-memory if the memory is there"},
	"Iterations":           {"--iterations", "use a positive number of iterations"},
	"PrintIterations":      {"--print-iterations", "use a positive number, or leave it out"},
	"CheckpointOutput":     {"--checkpoint-output", "give --checkpoint-output with a placeholder (`foo_{}.jpg`, `foo_{:05}.jpg`, `foo_%d.jpg`) together with --checkpoint-iterations N"},
	"CheckpointIterations": {"--checkpoint-iterations", "use a positive number, together with --checkpoint-output"},
	"Width":                {"--width", "use a positive width that leaves the image within --max-pixels"},
	"StyleScales":          {"--style-scales", "give one positive --style-scales value per style image"},
	"StyleBlendWeights":    {"--style-blend-weights", "give one --style-blend-weights value per style image, with a non-zero sum"},
	"ContentWeightBlend":   {"--content-weight-blend", "leave it out with --content-layers other than relu4_2,relu5_2"},
	"ContentLayers":        {"--content-layers", "list ReLU layers, e.g. --content-layers relu4_2,relu5_2"},
	"StyleLayers":          {"--style-layers", "list ReLU layers, e.g. --style-layers relu1_1,relu2_1,relu3_1"},
	"InitialNoiseBlend":    {"--initial-noiseblend", "use a value between 0 and 1"},
	"ContentWeight":        {"--content-weight", "use a finite number"},
	"StyleWeight":          {"--style-weight", "use a finite number"},
	"StyleLayerWeightExp":  {"--style-layer-weight-exp", "use a finite number"},
	"TVWeight":             {"--tv-weight", "use a finite number"},
	"LearningRate":         {"--learning-rate", "use a finite number"},
	"Beta1":                {"--beta1", "use a finite number"},
	"Beta2":                {"--beta2", "use a finite number"},
	"Epsilon":              {"--eps", "use a finite number"},
	"Pooling":              {"--pooling", "use --pooling max or --pooling avg"},
	"Seed":                 {"--seed", "use a seed of 0 or more, or leave it out for a random one"},
	"MaxPixels":            {"--max-pixels", "use a positive pixel limit"},
	"Initial":              {"--initial", ""},
	"PreserveColors":       {"--preserve-colors", ""},
	"Optimizer":            {"--optimizer", "use --optimizer adam or --optimizer lbfgs"},
	"LBFGSHistory":         {"--lbfgs-history", "use a history of 1 or more pairs; fewer need less memory"},
	"Scales":               {"--scales", "list positive widths, coarse to fine: --scales 128,256,512"},
	"ScaleIterations":      {"--scale-iterations", "give one positive count per --scales width: --scale-iterations 400,200,150"},
	"Resume":               {"--resume", "run without --resume to start afresh, or with the flags and files of the run that saved the state"},
	"Engine":               {"--backend", "available backends: " + backendNames()},
}

var optionNameRE = regexp.MustCompile(`\b[A-Z][A-Za-z0-9]+\b`)

// flagNames replaces the Options field names in msg by their flags.
func flagNames(msg string) string {
	return optionNameRE.ReplaceAllStringFunc(msg, func(name string) string {
		if f, ok := optionFlags[name]; ok {
			return f.flag
		}
		return name
	})
}

// isCobraUsage recognises the argument errors cobra returns itself.
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand") || strings.Contains(s, "accepts 0 arg")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

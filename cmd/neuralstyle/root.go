package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
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
  # coarse to fine, a quick 512-wide picture (measured at 256: a fifth of the default
  # run's time, 3% above its final loss):
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
	f.IntVar(&o.Iterations, "iterations", o.Iterations, "optimisation steps")
	f.IntVar(&o.PrintIterations, "print-iterations", o.PrintIterations, "print the losses every N iterations (and at the last)")
	f.StringVar(&o.CheckpointOutput, "checkpoint-output", o.CheckpointOutput, "checkpoint file name with a placeholder: out_{:05}.jpg or out_%d.jpg")
	f.IntVar(&o.CheckpointIterations, "checkpoint-iterations", o.CheckpointIterations, "checkpoint frequency (with --checkpoint-output)")
	f.BoolVar(&o.ProgressWrite, "progress-write", o.ProgressWrite, "write progress.txt (losses) in the output's folder")
	f.BoolVar(&o.ProgressPlot, "progress-plot", o.ProgressPlot, "write progress.png (loss curves) in the output's folder")
	f.IntVar(&o.Width, "width", o.Width, "resize the content to this width; height = floor(H/W*width)")
	f.Float64SliceVar(&o.StyleScales, "style-scales", o.StyleScales, "style scale per style image (default 1.0 each)")
	f.StringVar(&o.Network, "network", o.Network, "VGG-19 weights (MatConvNet .mat)")
	f.Float64Var(&o.ContentWeightBlend, "content-weight-blend", o.ContentWeightBlend, "content layer blend: relu4_2 gets B, relu5_2 gets 1-B (default content layers only)")
	f.Float64Var(&o.ContentWeight, "content-weight", o.ContentWeight, "content weight")
	f.Float64Var(&o.StyleWeight, "style-weight", o.StyleWeight, "style weight")
	f.Float64Var(&o.StyleLayerWeightExp, "style-layer-weight-exp", o.StyleLayerWeightExp, "style layer weights 1, E, E^2, ... over the style layers in order")
	f.Float64SliceVar(&o.StyleBlendWeights, "style-blend-weights", o.StyleBlendWeights, "weight per style image, normalised to sum 1 (default equal)")
	f.Float64Var(&o.TVWeight, "tv-weight", o.TVWeight, "total variation weight")
	f.Float64Var(&o.LearningRate, "learning-rate", o.LearningRate, "Adam learning rate")
	f.Float64Var(&o.Beta1, "beta1", o.Beta1, "Adam beta1")
	f.Float64Var(&o.Beta2, "beta2", o.Beta2, "Adam beta2")
	f.Float64Var(&o.Epsilon, "eps", o.Epsilon, "Adam epsilon")
	f.StringVar(&o.Initial, "initial", o.Initial, "initial image (resized to the content's size)")
	f.Float64Var(&o.InitialNoiseBlend, "initial-noiseblend", o.InitialNoiseBlend, "share of noise in the initial image (default 1 without --initial, 0 with it)")
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
	f.Int64Var(&o.Seed, "seed", o.Seed, "seed of the initial noise, 0 or more (default: drawn at random and printed)")
	f.StringVar(&o.Optimizer, "optimizer", o.Optimizer, "adam (the reference's) or lbfgs (torch's L-BFGS without line search, lr 1; --learning-rate, --beta1, --beta2, --eps are Adam's)")
	f.IntVar(&o.LBFGSHistory, "lbfgs-history", o.LBFGSHistory, "L-BFGS curvature pairs kept, 2 float32 images each: 100 at 1024x1024 is 2.5 GB, use 10-20 for large images")
	f.IntSliceVar(&o.Scales, "scales", o.Scales, "coarse-to-fine content widths, e.g. 128,256,512; the last is the output width (instead of --width)")
	f.IntSliceVar(&o.ScaleIterations, "scale-iterations", o.ScaleIterations, "iterations at each of --scales (default --iterations at each), e.g. 400,200,150")
	f.BoolVar(&o.Resume, "resume", o.Resume, "continue the run saved in OUTPUT.state (written at checkpoints and on Ctrl-C, removed when a run completes)")
	f.StringVar(&c.backend, "backend", "native", "compute backend: "+backendNames())
	f.IntVar(&o.MaxPixels, "max-pixels", o.MaxPixels, "refuse input images with more pixels than this")
	f.BoolVarP(&c.quiet, "quiet", "q", false, "print nothing but errors")
	// These defaults are markers (stylize.AutoNoiseBlend, RandomSeed) that
	// the usage text explains: --help shows no "(default -1)".
	for _, name := range []string{"initial-noiseblend", "seed"} {
		f.Lookup(name).DefValue = "0"
	}
}

// options returns the parsed flags as stylize.Options.
func (c *cli) options() (stylize.Options, error) {
	o := c.opts
	o.Styles = splitFileList(c.opts.Styles)
	var err error
	o.Engine, err = engineFactory(c.backend)
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
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for range sigs {
			n++
			if n > 1 {
				fmt.Fprintln(stderr, "neuralstyle: interrupted again; quitting without writing")
				imageio.RemovePartial()
				os.Exit(exitInterrupt)
			}
			fmt.Fprintln(stderr, "\nneuralstyle: stopping after this iteration to write the best image so far (Ctrl-C again to quit at once)")
			cancel()
		}
	}()
	return run(ctx, args, stdout, stderr)
}

// run is Main without the signal handling, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd, _ := newCommand(stdout, stderr, func(cmd *cobra.Command, c *cli) error {
		opts, err := c.options()
		if err != nil {
			return err
		}
		if err := opts.Validate(); err != nil {
			return err
		}
		var report func(stylize.Event)
		var rep *reporter
		if !c.quiet {
			rep = newReporter(stdout, stderr)
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
	cmd.SetArgs(normalizeArgs(cmd.Flags(), args))
	return exitStatus(cmd.ExecuteContext(ctx), stderr)
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
		fmt.Fprintf(stderr, "neuralstyle: %s %s\n", f.flag, oneLine(flagNames(oe.Msg)))
		if !oe.Usage {
			return exitRuntime
		}
		if f.hint != "" {
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
	"Network":              {"--network", "download imagenet-vgg-verydeep-19.mat (see README) or give --network FILE"},
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
	"Pooling":              {"--pooling", "use --pooling max or --pooling avg"},
	"Seed":                 {"--seed", "use a seed of 0 or more, or leave it out for a random one"},
	"MaxPixels":            {"--max-pixels", "use a positive pixel limit"},
	"ContentWeight":        {"--content-weight", ""},
	"StyleWeight":          {"--style-weight", ""},
	"StyleLayerWeightExp":  {"--style-layer-weight-exp", ""},
	"TVWeight":             {"--tv-weight", ""},
	"LearningRate":         {"--learning-rate", ""},
	"Beta1":                {"--beta1", ""},
	"Beta2":                {"--beta2", ""},
	"Epsilon":              {"--eps", ""},
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

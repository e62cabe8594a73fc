package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
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

// cli holds the flag values before they become stylize.Options.
type cli struct {
	opts                                                     stylize.Options
	contentWeightBlend, contentWeight, styleWeight, layerExp float64
	tvWeight, learningRate, beta1, beta2, eps, noiseBlend    float64
	seed                                                     int64
	quiet                                                    bool
}

const example = `  neuralstyle --content cat.jpg --styles style.jpg --output out.jpg
  neuralstyle --content cat.jpg --styles a.jpg b.jpg --style-blend-weights 0.8 0.2 \
      --output out.png --iterations 500 --checkpoint-output 'out_{:05}.png' --checkpoint-iterations 100`

func newCommand(stdout, stderr io.Writer, run func(*cobra.Command, *cli) error) (*cobra.Command, *cli) {
	c := &cli{}
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
	o := &c.opts
	f.StringVar(&o.Content, "content", "", "content image (required)")
	f.StringArrayVar(&o.Styles, "styles", nil, "one or more style images (required): --styles a.jpg b.jpg")
	f.StringVar(&o.Output, "output", "", "output image; the format follows the extension (required)")
	f.IntVar(&o.Iterations, "iterations", stylize.DefaultIterations, "optimisation steps")
	f.IntVar(&o.PrintIterations, "print-iterations", 0, "print the losses every N iterations (and at the last)")
	f.StringVar(&o.CheckpointOutput, "checkpoint-output", "", "checkpoint file name with a placeholder: out_{:05}.jpg or out_%d.jpg")
	f.IntVar(&o.CheckpointIterations, "checkpoint-iterations", 0, "checkpoint frequency (with --checkpoint-output)")
	f.BoolVar(&o.ProgressWrite, "progress-write", false, "write progress.txt (losses) in the output's folder")
	f.BoolVar(&o.ProgressPlot, "progress-plot", false, "write progress.png (loss curves) in the output's folder")
	f.IntVar(&o.Width, "width", 0, "resize the content to this width; height = floor(H/W*width)")
	f.Float64SliceVar(&o.StyleScales, "style-scales", nil, "style scale per style image (default 1.0 each)")
	f.StringVar(&o.Network, "network", stylize.DefaultNetwork, "VGG-19 weights (MatConvNet .mat)")
	f.Float64Var(&c.contentWeightBlend, "content-weight-blend", stylize.DefaultContentWeightBlend, "content layer blend: relu4_2 gets B, relu5_2 gets 1-B")
	f.Float64Var(&c.contentWeight, "content-weight", stylize.DefaultContentWeight, "content weight")
	f.Float64Var(&c.styleWeight, "style-weight", stylize.DefaultStyleWeight, "style weight")
	f.Float64Var(&c.layerExp, "style-layer-weight-exp", stylize.DefaultStyleLayerWeightExp, "style layer weights 1, E, E^2, ... for relu1_1..relu5_1")
	f.Float64SliceVar(&o.StyleBlendWeights, "style-blend-weights", nil, "weight per style image, normalised to sum 1 (default equal)")
	f.Float64Var(&c.tvWeight, "tv-weight", stylize.DefaultTVWeight, "total variation weight")
	f.Float64Var(&c.learningRate, "learning-rate", stylize.DefaultLearningRate, "Adam learning rate")
	f.Float64Var(&c.beta1, "beta1", stylize.DefaultBeta1, "Adam beta1")
	f.Float64Var(&c.beta2, "beta2", stylize.DefaultBeta2, "Adam beta2")
	f.Float64Var(&c.eps, "eps", stylize.DefaultEpsilon, "Adam epsilon")
	f.StringVar(&o.Initial, "initial", "", "initial image (resized to the content's size)")
	f.Float64Var(&c.noiseBlend, "initial-noiseblend", 0, "share of noise in the initial image (default 1 without --initial, 0 with it)")
	f.BoolVar(&o.PreserveColors, "preserve-colors", false, "keep the content's colours (luminance transfer)")
	f.StringVar(&o.Pooling, "pooling", stylize.DefaultPooling, "pooling layers: max or avg")
	f.BoolVar(&o.Overwrite, "overwrite", false, "replace an existing output file")
	f.Int64Var(&c.seed, "seed", 0, "seed of the initial noise (default: drawn at random and printed)")
	f.StringVar(&o.Backend, "backend", stylize.DefaultBackend, "compute backend: "+strings.Join(stylize.Backends(), ", "))
	f.IntVar(&o.MaxPixels, "max-pixels", 100_000_000, "refuse input images with more pixels than this")
	f.BoolVarP(&c.quiet, "quiet", "q", false, "print nothing but errors")
	return cmd, c
}

// options turns the parsed flags into stylize.Options.
func (c *cli) options(cmd *cobra.Command) stylize.Options {
	o := c.opts
	o.Styles = splitFileList(c.opts.Styles)
	o.ContentWeightBlend = stylize.Float(c.contentWeightBlend)
	o.ContentWeight = stylize.Float(c.contentWeight)
	o.StyleWeight = stylize.Float(c.styleWeight)
	o.StyleLayerWeightExp = stylize.Float(c.layerExp)
	o.TVWeight = stylize.Float(c.tvWeight)
	o.LearningRate = stylize.Float(c.learningRate)
	o.Beta1, o.Beta2, o.Epsilon = stylize.Float(c.beta1), stylize.Float(c.beta2), stylize.Float(c.eps)
	if cmd.Flags().Changed("initial-noiseblend") {
		o.InitialNoiseBlend = stylize.Float(c.noiseBlend)
	}
	if cmd.Flags().Changed("seed") {
		seed := c.seed
		o.Seed = &seed
	}
	return o
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
		opts := c.options(cmd)
		if opts.Iterations <= 0 {
			// Options reads 0 as "the default"; on the command line it is a mistake.
			return &stylize.UsageError{Msg: fmt.Sprintf("iterations must be positive, got %d", opts.Iterations),
				Hint: "use a positive number of iterations"}
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
	var ue *stylize.UsageError
	var fe usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "neuralstyle: %s\n", oneLine(ue.Msg))
		if ue.Hint != "" {
			fmt.Fprintf(stderr, "hint: %s\n", ue.Hint)
		}
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

// isCobraUsage recognises the argument errors cobra returns itself.
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand") || strings.Contains(s, "accepts 0 arg")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// qualityConfig is one quality-per-time comparison (-quality).
type qualityConfig struct {
	size      int     // content and style are size x size
	adamIters int     // the reference run's steps: its final loss is the target
	scales    []int   // the coarse-to-fine recipe's widths
	scaleIter []int   // and steps
	history   int     // L-BFGS history
	methods   string  // comma-separated subset of adam,lbfgs,c2f-adam,c2f-lbfgs
	out       string  // folder for quality-SIZE.txt and quality-SIZE.png
	stopEarly bool    // stop the other runs once they reach the target
	curves    string  // earlier runs' points (a -out folder's quality-SIZE-curves.tsv) to include
	maxShare  float64 // stop the other runs after this share of the reference's time (0: never)
	// target and adamWall, when set, are a previous reference run's final
	// loss and time, which then need not run again.
	target   float64
	adamWall time.Duration
}

// qualityPoint is one recorded loss at the final scale.
type qualityPoint struct {
	wall  time.Duration // since the optimisation started
	steps int           // steps taken at every scale so far
	equiv float64       // the same in steps at the final size (by pixels)
	loss  float64
}

type qualityRun struct {
	name         string
	args         string // the command line flags it stands for
	points       []qualityPoint
	wall         time.Duration
	steps        int
	equiv        float64       // steps in final-size steps, weighed by pixels
	reached      time.Duration // when the loss first was at most the target; -1 never
	reachedEquiv float64       // and after how many final-size steps
}

// runQuality runs the reference Adam, L-BFGS and both coarse-to-fine runs
// on the same random full-size network and images, from the same noise,
// and reports the loss reached against wall time.
func runQuality(cfg qualityConfig, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "nsbench-quality-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rng := rand.New(rand.NewPCG(3, 4))
	content, style := filepath.Join(dir, "content.png"), filepath.Join(dir, "style.png")
	if err := imageio.Save(content, fractalImage(rng, cfg.size, cfg.size)); err != nil {
		return err
	}
	if err := imageio.Save(style, fractalImage(rng, cfg.size, cfg.size)); err != nil {
		return err
	}
	weights := vggtest.RandomWeights(rand.New(rand.NewPCG(1, 2)), vggtest.FullWidths)
	// Options.Network must name a file; the engine ignores what it holds
	// and runs the full-size random weights.
	network := filepath.Join(repoRoot(), "testdata", "vgg19-tiny", "vgg19-tiny-new.mat")
	factory := func(*vgg.Weights) (engine.Engine, error) { return native.New(weights, native.DefaultKernels()), nil }
	all := qualityMethods(cfg)
	target := math.NaN()
	adamWall := cfg.adamWall
	if cfg.target > 0 {
		target = cfg.target
	}
	runs, err := loadCurves(cfg, &target, &adamWall)
	if err != nil {
		return err
	}
	for _, name := range strings.Split(cfg.methods, ",") {
		if name == "" {
			continue
		}
		setup, ok := all[name]
		if !ok {
			return fmt.Errorf("unknown method %q (adam, lbfgs, c2f-adam, c2f-lbfgs)", name)
		}
		o := stylize.DefaultOptions()
		o.Content, o.Styles, o.Network, o.Engine = content, []string{style}, network, factory
		o.Output = filepath.Join(dir, name+".png")
		o.Iterations, o.PrintIterations, o.Seed = cfg.adamIters, 10, 1
		run := &qualityRun{name: name, args: setup(&o), reached: -1}
		ctx, cancel := context.WithCancel(context.Background())
		var start time.Time
		o.Progress = func(ev stylize.Event) {
			switch {
			case ev.Kind == stylize.EventStart:
				start = time.Now()
			case ev.Kind == stylize.EventIteration:
				run.steps++
				run.equiv += 1
				if ev.Scales > 0 {
					run.equiv += float64(ev.ScaleW*ev.ScaleH)/float64(cfg.size*cfg.size) - 1
				}
				if run.steps%100 == 0 {
					last := math.NaN()
					if len(run.points) > 0 {
						last = run.points[len(run.points)-1].loss
					}
					fmt.Fprintf(os.Stderr, "nsbench:   %s: %d steps, %.0f s, loss %.6g\n", name, run.steps, time.Since(start).Seconds(), last)
				}
				if cfg.maxShare > 0 && name != "adam" && time.Since(start).Seconds() > cfg.maxShare*adamWall.Seconds() {
					cancel()
				}
			case ev.Kind == stylize.EventLosses && (ev.Scales == 0 || ev.Scale == ev.Scales):
				p := qualityPoint{wall: time.Since(start), steps: run.steps, equiv: run.equiv, loss: ev.Losses.Total}
				run.points = append(run.points, p)
				if p.loss <= target && run.reached < 0 {
					run.reached, run.reachedEquiv = p.wall, p.equiv
					if cfg.stopEarly {
						cancel()
					}
				}
			}
		}
		fmt.Fprintf(os.Stderr, "nsbench: %s (%s) at %dx%d...\n", name, run.args, cfg.size, cfg.size)
		_, err := stylize.Run(ctx, o)
		run.wall = time.Since(start)
		cancel()
		if err != nil && !errors.Is(err, stylize.ErrInterrupted) {
			return fmt.Errorf("%s: %w", name, err)
		}
		if name == "adam" && len(run.points) > 0 {
			target = run.points[len(run.points)-1].loss
			run.reached, run.reachedEquiv = run.wall, run.equiv
			adamWall = run.wall
		}
		runs = append(runs, run)
	}
	return writeQuality(stdout, cfg, runs, target)
}

// writeQuality prints the table and, with cfg.out, writes it and the plot.
func writeQuality(stdout io.Writer, cfg qualityConfig, runs []*qualityRun, target float64) error {
	table := qualityTable(cfg, runs, target)
	fmt.Fprint(stdout, table)
	if cfg.out == "" {
		return nil
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	base := filepath.Join(cfg.out, fmt.Sprintf("quality-%d", cfg.size))
	if err := os.WriteFile(base+".txt", []byte(table), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+"-curves.tsv", []byte(qualityCurves(runs)), 0o644); err != nil {
		return err
	}
	return qualityPlot(base+".png", cfg, runs, target)
}

// qualityMethods are the runs -methods can name: each sets its options and
// returns them as flags.
func qualityMethods(cfg qualityConfig) map[string]func(o *stylize.Options) string {
	scales := joinInts(cfg.scales)
	scaleIter := joinInts(cfg.scaleIter)
	return map[string]func(o *stylize.Options) string{
		"adam": func(o *stylize.Options) string { return fmt.Sprintf("--iterations %d", o.Iterations) },
		"lbfgs": func(o *stylize.Options) string {
			o.Optimizer, o.LBFGSHistory = "lbfgs", cfg.history
			return fmt.Sprintf("--optimizer lbfgs --lbfgs-history %d --iterations %d", cfg.history, o.Iterations)
		},
		"c2f-adam": func(o *stylize.Options) string {
			o.Scales, o.ScaleIterations = cfg.scales, cfg.scaleIter
			return fmt.Sprintf("--scales %s --scale-iterations %s", scales, scaleIter)
		},
		"c2f-lbfgs": func(o *stylize.Options) string {
			o.Scales, o.ScaleIterations = cfg.scales, cfg.scaleIter
			o.Optimizer, o.LBFGSHistory = "lbfgs", cfg.history
			return fmt.Sprintf("--optimizer lbfgs --lbfgs-history %d --scales %s --scale-iterations %s", cfg.history, scales, scaleIter)
		},
	}
}

// qualityTable states each run's steps, time, final loss and the time it
// took to reach the reference run's final loss, as a share of that run's,
// and the same in steps at the final size (each step weighed by its
// pixels: a measure the machine's load does not change).
func qualityTable(cfg qualityConfig, runs []*qualityRun, target float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "quality per time at %dx%d, random full-size VGG-19 weights; target: the loss of %d reference Adam steps (%.6g)\n",
		cfg.size, cfg.size, cfg.adamIters, target)
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "method\tsteps\twall s\tfinal loss\treaches target at s\tshare of Adam's time\tat full-size steps\tflags")
	adam := cfg.adamWall
	for _, r := range runs {
		if r.name == "adam" {
			adam = r.wall
		}
	}
	for _, r := range runs {
		final := math.NaN()
		if len(r.points) > 0 {
			final = r.points[len(r.points)-1].loss
		}
		reached, share, equiv := "never", "-", "-"
		if r.reached >= 0 {
			reached = fmt.Sprintf("%.1f", r.reached.Seconds())
			equiv = fmt.Sprintf("%.0f", r.reachedEquiv)
			if adam > 0 {
				share = fmt.Sprintf("%.2f", r.reached.Seconds()/adam.Seconds())
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.6g\t%s\t%s\t%s\t%s\n", r.name, r.steps, r.wall.Seconds(), final, reached, share, equiv, r.args)
	}
	tw.Flush()
	return b.String()
}

// qualityPlot draws loss (log scale) against wall time, one line a run,
// with the target as a horizontal line.
func qualityPlot(path string, cfg qualityConfig, runs []*qualityRun, target float64) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("loss against wall time, %dx%d (random full-size weights)", cfg.size, cfg.size)
	p.X.Label.Text = "seconds"
	p.Y.Label.Text = "total loss (final scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	colors := []color.Color{color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255}, color.RGBA{214, 39, 40, 255}}
	var maxT float64
	for i, r := range runs {
		var pts plotter.XYs
		for _, q := range r.points {
			if q.loss > 0 && !math.IsInf(q.loss, 0) {
				pts = append(pts, plotter.XY{X: q.wall.Seconds(), Y: q.loss})
				maxT = math.Max(maxT, q.wall.Seconds())
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		line.Color = colors[i%len(colors)]
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(r.name, line)
	}
	if target > 0 {
		line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: target}, {X: maxT, Y: target}})
		if err == nil {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
			p.Add(line)
			p.Legend.Add(fmt.Sprintf("Adam %d steps", cfg.adamIters), line)
		}
	}
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

// fractalImage is a deterministic image with the falling spectrum of a
// photograph: random colours at 4x4, 8x8, ... pixels, each resized to the
// full size and weighed by half the coarser one's share.
func fractalImage(rng *rand.Rand, w, h int) *imageio.Image {
	out := imageio.New(w, h)
	weight, total := 1.0, 0.0
	for cells := 4; cells <= max(w, h); cells *= 2 {
		small := imageio.New(cells, cells)
		for i := range small.Pix {
			small.Pix[i] = float32(rng.IntN(256))
		}
		big := imageio.Resize(small, w, h)
		for i, v := range big.Pix {
			out.Pix[i] += float32(weight) * v
		}
		total += weight
		weight /= 2
	}
	for i := range out.Pix {
		out.Pix[i] = float32(math.Floor(float64(out.Pix[i]) / total))
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bad number %q in %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// qualityCurves lists every recorded point of every run: run, wall
// seconds, steps, final-size steps and loss, tab-separated.
func qualityCurves(runs []*qualityRun) string {
	var b strings.Builder
	b.WriteString("run\twall_s\tsteps\tequiv_steps\tloss\tflags\n")
	for _, r := range runs {
		for _, p := range r.points {
			fmt.Fprintf(&b, "%s\t%.3f\t%d\t%.2f\t%.6g\t%s\n", r.name, p.wall.Seconds(), p.steps, p.equiv, p.loss, r.args)
		}
	}
	return b.String()
}

// readCurves reads the runs of a file qualityCurves wrote (the flags
// column may be missing), in their order, each finished at its last point.
func readCurves(path string) ([]*qualityRun, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var runs []*qualityRun
	for i, line := range strings.Split(strings.TrimSpace(string(data)), "\n")[1:] {
		f := strings.Split(line, "\t")
		if len(f) < 5 {
			return nil, fmt.Errorf("%s: line %d: %d columns, want 5 or 6", path, i+2, len(f))
		}
		var p qualityPoint
		var wall float64
		_, err := fmt.Sscan(strings.Join(f[1:5], " "), &wall, &p.steps, &p.equiv, &p.loss)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, i+2, err)
		}
		p.wall = time.Duration(wall * float64(time.Second))
		if len(runs) == 0 || runs[len(runs)-1].name != f[0] {
			runs = append(runs, &qualityRun{name: f[0], reached: -1})
		}
		r := runs[len(runs)-1]
		if len(f) > 5 {
			r.args = f[5]
		}
		r.points = append(r.points, p)
		r.wall, r.steps, r.equiv = p.wall, p.steps, p.equiv
	}
	for _, r := range runs {
		if r.name == "adam" && r.args == "" {
			r.args = fmt.Sprintf("--iterations %d", r.steps)
		}
	}
	return runs, nil
}

// loadCurves adds the runs of cfg.curves to runs: an adam run among them
// sets the target and the reference time, and the others' reaching of the
// target is found from their points.
func loadCurves(cfg qualityConfig, target *float64, adamWall *time.Duration) ([]*qualityRun, error) {
	if cfg.curves == "" {
		return nil, nil
	}
	runs, err := readCurves(cfg.curves)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.name == "adam" {
			last := r.points[len(r.points)-1]
			*target, *adamWall = last.loss, last.wall
			r.reached, r.reachedEquiv = last.wall, last.equiv
		}
	}
	for _, r := range runs {
		for _, p := range r.points {
			if r.name != "adam" && p.loss <= *target && r.reached < 0 {
				r.reached, r.reachedEquiv = p.wall, p.equiv
			}
		}
	}
	return runs, nil
}

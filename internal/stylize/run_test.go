package stylize

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

const tiny = "../../testdata/vgg19-tiny"

// recorder is a fake engine: its problems are bowls, and it keeps the spec
// it was given.
type recorder struct {
	spec    *engine.Spec
	weights *vgg.Weights
	closed  int
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) NewProblem(spec *engine.Spec) (engine.Problem, error) {
	r.spec = spec
	return &closeCounter{bowl: &bowl{}, closed: &r.closed}, nil
}

type closeCounter struct {
	*bowl
	closed *int
}

func (c *closeCounter) Close() error { *c.closed++; return nil }

func (r *recorder) factory(w *vgg.Weights) (engine.Engine, error) {
	r.weights = w
	return r, nil
}

// tinyOptions are the defaults on the test network and images, with a fake
// engine.
func tinyOptions(t *testing.T, eng *recorder) Options {
	o := DefaultOptions()
	o.Network = filepath.Join(tiny, "vgg19-tiny-new.mat")
	o.Content = filepath.Join(tiny, "content.png")
	o.Styles = []string{filepath.Join(tiny, "style1.png"), filepath.Join(tiny, "style2.png")}
	o.Output = filepath.Join(t.TempDir(), "out.png")
	o.Iterations = 4
	o.Seed = 7
	o.Engine = eng.factory
	return o
}

// TestPrepare checks the first stage: the images at the reference's sizes,
// the spec's weights resolved, the initial image from the seed.
func TestPrepare(t *testing.T) {
	eng := &recorder{}
	o := tinyOptions(t, eng)
	o.Width = 20
	o.StyleScales = []float64{1, 0.5}
	o.StyleBlendWeights = []float64{3, 1}
	o.ContentWeightBlend = 0.25
	o.StyleLayerWeightExp = 2
	r, err := o.resolve()
	if err != nil {
		t.Fatal(err)
	}
	j, err := prepare(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	sp := eng.spec
	// content 37x29 -> 20 x floor(29/37*20) = 20x15; styles scaled to the
	// content's width times their scale.
	if sp.Content.W != 20 || sp.Content.H != 15 || j.initial.W != 20 || j.initial.H != 15 {
		t.Errorf("content %dx%d, initial %dx%d, want 20x15", sp.Content.W, sp.Content.H, j.initial.W, j.initial.H)
	}
	if len(sp.Styles) != 2 || sp.Styles[0].W != 20 || sp.Styles[1].W != 10 {
		t.Errorf("style widths %d, %d, want 20, 10", sp.Styles[0].W, sp.Styles[1].W)
	}
	if !slices.Equal(sp.StyleBlendWeights, []float64{0.75, 0.25}) {
		t.Errorf("blend weights %v", sp.StyleBlendWeights)
	}
	wantContent := []engine.LayerWeight{{Layer: "relu4_2", Weight: 0.25}, {Layer: "relu5_2", Weight: 0.75}}
	if !slices.Equal(sp.ContentLayers, wantContent) {
		t.Errorf("content layers %v, want %v", sp.ContentLayers, wantContent)
	}
	if len(sp.StyleLayers) != 5 || sp.StyleLayers[4].Layer != "relu5_1" || sp.StyleLayers[4].Weight != 16.0/31 {
		t.Errorf("style layers %v", sp.StyleLayers)
	}
	// Pure noise (no initial image): the same seed gives the same image,
	// another seed another.
	again, err := prepare(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	r.Seed = 8
	other, err := prepare(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(j.initial.Pix, again.initial.Pix) || slices.Equal(j.initial.Pix, other.initial.Pix) {
		t.Error("the initial noise does not follow the seed")
	}
	if j.mean != eng.weights.MeanPixel {
		t.Errorf("mean %v, want the network's %v", j.mean, eng.weights.MeanPixel)
	}
}

// TestRunStages runs the whole job on the fake engine: every file written
// once, the records where the reference puts them, the problem closed.
func TestRunStages(t *testing.T) {
	eng := &recorder{}
	o := tinyOptions(t, eng)
	dir := filepath.Dir(o.Output)
	o.PrintIterations = 2
	o.CheckpointOutput = filepath.Join(dir, "ck_{}.png")
	o.CheckpointIterations = 3
	o.ProgressWrite, o.ProgressPlot = true, true
	var kinds []EventKind
	o.Progress = func(ev Event) { kinds = append(kinds, ev.Kind) }
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// Steps i = 0..3: checkpoints at i = 0 and the last, numbered i+1.
	want := []string{filepath.Join(dir, "ck_0.png"), filepath.Join(dir, "ck_4.png"),
		o.Output, filepath.Join(dir, "progress.txt"), filepath.Join(dir, "progress.png")}
	if !slices.Equal(res.Files, want) {
		t.Errorf("files %v, want %v", res.Files, want)
	}
	for _, f := range want {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	var labels []int
	for _, r := range res.Records {
		labels = append(labels, r.Label)
	}
	if !slices.Equal(labels, []int{0, 2, 4}) {
		t.Errorf("records at %v, want [0 2 4]", labels)
	}
	if res.Steps != 4 || res.Interrupted || res.Seed != 7 || eng.closed != 1 {
		t.Errorf("steps %d, interrupted %v, seed %d, closed %d times", res.Steps, res.Interrupted, res.Seed, eng.closed)
	}
	if kinds[0] != EventStart || kinds[1] != EventInitialLosses {
		t.Errorf("events start %v", kinds[:2])
	}
	data, err := os.ReadFile(filepath.Join(dir, "progress.txt"))
	if err != nil || strings.Count(string(data), "\n") != 4 {
		t.Errorf("progress.txt: %q (%v), want a header and three rows", data, err)
	}
}

// TestLayerListsReachTheEngine: the layer options become the spec's names
// and weights: equal shares for a list other than the reference's two, the
// exponent's powers over the style layers in order.
func TestLayerListsReachTheEngine(t *testing.T) {
	eng := &recorder{}
	o := tinyOptions(t, eng)
	o.ContentLayers = []string{"relu3_1", "relu5_4", "relu1_2", "relu2_2"}
	o.StyleLayers = []string{"relu5_3", "relu1_1"}
	o.StyleLayerWeightExp = 3
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	for _, c := range eng.spec.ContentLayers {
		if c.Weight != 0.25 {
			t.Errorf("content layers %v, want a quarter each", eng.spec.ContentLayers)
			break
		}
	}
	want := []engine.LayerWeight{{Layer: "relu5_3", Weight: 0.25}, {Layer: "relu1_1", Weight: 0.75}}
	if !slices.Equal(eng.spec.StyleLayers, want) {
		t.Errorf("style layers %v, want %v", eng.spec.StyleLayers, want)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		option string
		edit   func(o *Options)
	}{
		{"Content", func(o *Options) { o.Content = "" }},
		{"Styles", func(o *Options) { o.Styles = nil }},
		{"Output", func(o *Options) { o.Output = "" }},
		{"Engine", func(o *Options) { o.Engine = nil }},
		{"Iterations", func(o *Options) { o.Iterations = 0 }},
		{"PrintIterations", func(o *Options) { o.PrintIterations = -1 }},
		{"CheckpointOutput", func(o *Options) { o.CheckpointIterations = 5 }},
		{"CheckpointOutput", func(o *Options) { o.CheckpointOutput, o.CheckpointIterations = "x.png", 5 }},
		{"Width", func(o *Options) { o.Width = -3 }},
		{"StyleScales", func(o *Options) { o.StyleScales = []float64{1} }},
		{"StyleScales", func(o *Options) { o.StyleScales = []float64{1, 0} }},
		{"StyleBlendWeights", func(o *Options) { o.StyleBlendWeights = []float64{1, -1} }},
		{"ContentLayers", func(o *Options) { o.ContentLayers = []string{"relu4_2", "pool4"} }},
		{"ContentLayers", func(o *Options) { o.ContentLayers = nil }},
		{"StyleLayers", func(o *Options) { o.StyleLayers = []string{"relu1_1", "relu1_1"} }},
		{"ContentWeightBlend", func(o *Options) { o.ContentLayers, o.ContentWeightBlend = []string{"relu4_2"}, 0.5 }},
		{"Pooling", func(o *Options) { o.Pooling = "" }},
		{"InitialNoiseBlend", func(o *Options) { o.InitialNoiseBlend = 1.5 }},
		{"Seed", func(o *Options) { o.Seed = -2 }},
		{"MaxPixels", func(o *Options) { o.MaxPixels = 0 }},
		// non-finite numbers run to the end and write a black image
		{"TVWeight", func(o *Options) { o.TVWeight = math.NaN() }},
		{"LearningRate", func(o *Options) { o.LearningRate = math.Inf(1) }},
		{"Epsilon", func(o *Options) { o.Epsilon = math.NaN() }},
		{"ContentWeight", func(o *Options) { o.ContentWeight = math.Inf(-1) }},
		{"StyleScales", func(o *Options) { o.StyleScales = []float64{1, math.Inf(1)} }},
		{"StyleBlendWeights", func(o *Options) { o.StyleBlendWeights = []float64{math.NaN(), 1} }},
		{"InitialNoiseBlend", func(o *Options) { o.InitialNoiseBlend = math.NaN() }},
		{"Optimizer", func(o *Options) { o.Optimizer = "sgd" }},
		{"LBFGSHistory", func(o *Options) { o.Optimizer, o.LBFGSHistory = "lbfgs", 0 }},
		{"Scales", func(o *Options) { o.Scales = []int{} }},
		{"Scales", func(o *Options) { o.Scales = []int{64, 0} }},
		{"Width", func(o *Options) { o.Scales, o.Width = []int{64, 128}, 128 }},
		{"ScaleIterations", func(o *Options) { o.ScaleIterations = []int{10} }},
		{"ScaleIterations", func(o *Options) { o.Scales, o.ScaleIterations = []int{64, 128}, []int{10} }},
		{"ScaleIterations", func(o *Options) { o.Scales, o.ScaleIterations = []int{64, 128}, []int{10, 0} }},
	} {
		o := tinyOptions(t, &recorder{})
		tt.edit(&o)
		var oe *OptionError
		if err := o.Validate(); !errors.As(err, &oe) || oe.Option != tt.option || !oe.Usage {
			t.Errorf("%s: error %v, want a usage OptionError for it", tt.option, err)
		}
	}
	o := tinyOptions(t, &recorder{})
	if err := o.Validate(); err != nil {
		t.Errorf("the defaults: %v", err)
	}
}

// TestNoiseBlendDefault: the one derived default, resolved in one place.
func TestNoiseBlendDefault(t *testing.T) {
	for _, tt := range []struct {
		initial string
		blend   float64
		want    float64
	}{{"", AutoNoiseBlend, 1}, {"init.png", AutoNoiseBlend, 0}, {"init.png", 0.3, 0.3}, {"", 0, 0}} {
		o := tinyOptions(t, &recorder{})
		o.Initial, o.InitialNoiseBlend = tt.initial, tt.blend
		r, err := o.resolve()
		if err != nil {
			t.Fatal(err)
		}
		if r.noiseBlend != tt.want {
			t.Errorf("initial %q, blend %g: resolved %v, want %g", tt.initial, tt.blend, r.noiseBlend, tt.want)
		}
	}
}

//go:build tensorflow

package tfbackend

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

const fixture = "../../testdata/vgg19-tiny"

// Tolerances of the comparisons with the PyTorch reference (vectors.json):
// single evaluations agree to float32 rounding of differently ordered sums;
// ten Adam steps amplify that, chiefly through m / sqrt(v) where v is tiny.
const (
	tolEval    = 1e-4
	tolHistory = 1e-3
)

func loadVectors(t testing.TB) *vggtest.Vectors {
	t.Helper()
	v, err := vggtest.LoadVectors(fixture)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var weightsCache = map[string]*vgg.Weights{}

func loadWeights(t testing.TB, name string) *vgg.Weights {
	t.Helper()
	if w, ok := weightsCache[name]; ok {
		return w
	}
	w, err := vgg.Load(filepath.Join(fixture, name))
	if err != nil {
		t.Fatal(err)
	}
	weightsCache[name] = w
	return w
}

// loadImage reads a case image of v less the mean pixel.
func loadImage(t testing.TB, v *vggtest.Vectors, name string, mean [3]float32) engine.Image {
	t.Helper()
	im, err := v.Image(name, mean)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// specOf resolves a case's weights as the reference does.
func specOf(t testing.TB, v *vggtest.Vectors, c *vggtest.Case, mean [3]float32) *engine.Spec {
	t.Helper()
	s, err := v.Spec(c, mean)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newCaseProblem(t testing.TB, v *vggtest.Vectors, c *vggtest.Case) (*problem, *vgg.Weights, *engine.Spec) {
	t.Helper()
	w := loadWeights(t, c.Network)
	spec := specOf(t, v, c, w.MeanPixel)
	e, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.(*problem), w, spec
}

// closeTo reports the worst difference between got and want relative to the
// largest magnitude in want, failing when it exceeds tol.
func closeTo(t testing.TB, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	scale, worst, at := 0.0, 0.0, 0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	if scale == 0 {
		t.Errorf("%s: reference is all zero, the comparison would prove nothing", what)
		return
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > worst {
			worst, at = d, i
		}
	}
	if worst/scale > tol || math.IsNaN(worst) {
		t.Errorf("%s: worst difference %.3g at %d (got %g, want %g), %.3g of max |want| %g; tolerance %g",
			what, worst, at, got[at], want[at], worst/scale, scale, tol)
	}
}

func lossesClose(t testing.TB, what string, got engine.Losses, want vggtest.Losses, tol float64) {
	t.Helper()
	for _, l := range []struct {
		name      string
		got, want float64
	}{{"content", got.Content, want["content"]}, {"style", got.Style, want["style"]}, {"tv", got.TV, want["tv"]}, {"total", got.Total, want["total"]}} {
		if rel := math.Abs(l.got-l.want) / math.Abs(l.want); !(rel <= tol) {
			t.Errorf("%s %s loss = %.9g, want %.9g (relative %.3g, tolerance %g)", what, l.name, l.got, l.want, rel, tol)
		}
	}
}

func fetch(t testing.TB, p *problem, im *engine.Image, outs []tf.Output) [][]float32 {
	t.Helper()
	res, err := p.runProbe(im, outs)
	if err != nil {
		t.Fatal(err)
	}
	vals := make([][]float32, len(res))
	for i, r := range res {
		n := 1
		for _, d := range r.Shape() {
			n *= int(d)
		}
		vals[i] = make([]float32, n)
		if err := copyOut(vals[i], r); err != nil {
			t.Fatal(err)
		}
	}
	return vals
}

func TestFeaturesAndGrams(t *testing.T) {
	v := loadVectors(t)
	for i := range v.Cases {
		c := &v.Cases[i]
		t.Run(c.Name+"/"+c.Network, func(t *testing.T) {
			p, _, spec := newCaseProblem(t, v, c)
			if len(c.ContentFeatures) == 0 || len(c.StyleGrams) != len(spec.Styles) {
				t.Fatalf("case has %d feature maps and %d style Gram sets for %d styles", len(c.ContentFeatures), len(c.StyleGrams), len(spec.Styles))
			}
			for layer, want := range c.ContentFeatures {
				out, ok := p.probeRelu[layer]
				if !ok {
					t.Fatalf("no layer %s in the graph", layer)
				}
				got := fetch(t, p, &spec.Content, []tf.Output{out})[0]
				closeTo(t, "content "+layer, got, want.Data, tolEval)
			}
			for s := range spec.Styles {
				for _, layer := range vgg.ReferenceStyleLayers {
					want, ok := c.StyleGrams[s][layer]
					if !ok {
						t.Fatalf("no Gram of %s for style %d in vectors.json", layer, s)
					}
					got := fetch(t, p, &spec.Styles[s], []tf.Output{p.probeGram[layer]})[0]
					closeTo(t, fmt.Sprintf("style %d Gram %s", s+1, layer), got, want.Data, tolEval)
				}
			}
		})
	}
}

func TestInitialLossesAndGradient(t *testing.T) {
	v := loadVectors(t)
	for i := range v.Cases {
		c := &v.Cases[i]
		t.Run(c.Name+"/"+c.Network, func(t *testing.T) {
			p, w, _ := newCaseProblem(t, v, c)
			x := loadImage(t, v, c.Initial, w.MeanPixel)
			grad := make([]float32, len(x.Pix))
			l, err := p.Eval(&x, grad)
			if err != nil {
				t.Fatal(err)
			}
			lossesClose(t, "initial", l, c.InitialLosses, tolEval)
			closeTo(t, "initial gradient", grad, c.InitialGradient.Data, tolEval)
			// Without a gradient the losses are the same numbers.
			l2, err := p.Eval(&x, nil)
			if err != nil {
				t.Fatal(err)
			}
			if l2 != l {
				t.Errorf("losses without gradient %+v, with %+v", l2, l)
			}
		})
	}
}

func TestAdamHistory(t *testing.T) {
	v := loadVectors(t)
	for i := range v.Cases {
		c := &v.Cases[i]
		t.Run(c.Name+"/"+c.Network, func(t *testing.T) {
			p, w, _ := newCaseProblem(t, v, c)
			if len(c.LossHistory) != c.Iterations || c.Iterations == 0 {
				t.Fatalf("%d losses recorded for %d iterations", len(c.LossHistory), c.Iterations)
			}
			x := loadImage(t, v, c.Initial, w.MeanPixel)
			opt := engine.AdamSettings{LearningRate: c.LearningRate, Beta1: c.Beta1, Beta2: c.Beta2, Epsilon: c.Epsilon}
			for it := 0; it < c.Iterations; it++ {
				if err := p.Step(&x, opt); err != nil {
					t.Fatal(err)
				}
				l, err := p.Eval(&x, nil)
				if err != nil {
					t.Fatal(err)
				}
				lossesClose(t, fmt.Sprintf("step %d", it+1), l, c.LossHistory[it], tolHistory)
			}
			final := make([]float32, len(x.Pix))
			for j, v := range x.Pix {
				final[j] = v + w.MeanPixel[j%3]
			}
			closeTo(t, "final image", final, c.FinalImage.Data, tolHistory)
		})
	}
}

// TestStepMatchesEvalAdam checks Step against the update of docs/SPEC.md applied
// in Go to Eval's gradient, so that the session's state (m, v, the beta
// powers) is seen to advance one step per call, from an image fed anew each
// time.
func TestStepMatchesEvalAdam(t *testing.T) {
	v := loadVectors(t)
	c := &v.Cases[0]
	p, w, _ := newCaseProblem(t, v, c)
	x := loadImage(t, v, c.Initial, w.MeanPixel)
	y := engine.Image{H: x.H, W: x.W, Pix: append([]float32(nil), x.Pix...)}
	opt := engine.AdamSettings{LearningRate: c.LearningRate, Beta1: c.Beta1, Beta2: c.Beta2, Epsilon: c.Epsilon}
	m := make([]float32, len(y.Pix))
	vv := make([]float32, len(y.Pix))
	g := make([]float32, len(y.Pix))
	b1, b2 := float32(opt.Beta1), float32(opt.Beta2)
	b1p, b2p := b1, b2
	for it := 0; it < 3; it++ {
		if err := p.Step(&x, opt); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Eval(&y, g); err != nil {
			t.Fatal(err)
		}
		lrt := float32(opt.LearningRate) * float32(math.Sqrt(float64(1-b2p))) / (1 - b1p)
		for j := range y.Pix {
			m[j] += (g[j] - m[j]) * (1 - b1)
			vv[j] += (g[j]*g[j] - vv[j]) * (1 - b2)
			y.Pix[j] -= m[j] * lrt / (float32(math.Sqrt(float64(vv[j]))) + float32(opt.Epsilon))
		}
		b1p *= b1
		b2p *= b2
		want := make([]float64, len(y.Pix))
		for j, v := range y.Pix {
			want[j] = float64(v)
		}
		closeTo(t, fmt.Sprintf("image after step %d", it+1), x.Pix, want, 1e-5)
	}
}

func TestClosed(t *testing.T) {
	v := loadVectors(t)
	p, w, _ := newCaseProblem(t, v, &v.Cases[0])
	x := loadImage(t, v, v.Cases[0].Initial, w.MeanPixel)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(&x, nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Eval after Close: %v, want ErrClosed", err)
	}
	if err := p.Step(&x, engine.AdamSettings{LearningRate: 1, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Step after Close: %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestBadInputs(t *testing.T) {
	v := loadVectors(t)
	good := loadWeights(t, v.Cases[0].Network)
	tests := []struct {
		name  string
		edit  func(w *vgg.Weights)
		layer string
	}{
		{"first layer not RGB", func(w *vgg.Weights) { w.Conv[0].In = 4 }, "conv1_1"},
		{"chain broken", func(w *vgg.Weights) { w.Conv[5].In++ }, "conv3_2"},
		{"short kernel", func(w *vgg.Weights) { w.Conv[13].Kernel = w.Conv[13].Kernel[1:] }, "conv5_2"},
		{"short bias", func(w *vgg.Weights) { w.Conv[2].Bias = nil }, "conv2_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := *good
			tc.edit(&w)
			_, err := New(&w)
			var we *WeightsError
			if !errors.As(err, &we) || we.Layer != tc.layer {
				t.Errorf("New: %v, want a WeightsError for %s", err, tc.layer)
			}
		})
	}
	// Any layer through relu5_4 may be selected: conv5_4 is checked too.
	w := *good
	w.Conv[15].Kernel = nil
	var we *WeightsError
	if _, err := New(&w); !errors.As(err, &we) || we.Layer != "conv5_4" {
		t.Errorf("New with a bad conv5_4: %v, want a WeightsError for conv5_4", err)
	}

	e, err := New(good)
	if err != nil {
		t.Fatal(err)
	}
	spec := specOf(t, v, &v.Cases[0], good.MeanPixel)
	spec.StyleBlendWeights = append(spec.StyleBlendWeights, 0)
	var se *SpecError
	if _, err := e.NewProblem(spec); !errors.As(err, &se) {
		t.Errorf("NewProblem with more blend weights than styles: %v, want a SpecError", err)
	}
	spec = specOf(t, v, &v.Cases[0], good.MeanPixel)
	spec.Content.Pix = spec.Content.Pix[3:]
	if _, err := e.NewProblem(spec); !errors.As(err, &se) {
		t.Errorf("NewProblem with a short content image: %v, want a SpecError", err)
	}
}

func TestVersion(t *testing.T) {
	if Version() == "" {
		t.Error("empty TensorFlow version")
	}
}

package optim

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

const tinyDir = "../../testdata/vgg19-tiny"

// fixtureOracle is testdata/vgg19-tiny/lbfgs.json: torch.optim.LBFGS on
// nsref's objective for one case of vectors.json, the losses after each
// iteration in float32 and in float64.
type fixtureOracle struct {
	Case              string           `json:"case"`
	Network           string           `json:"network"`
	LR                float64          `json:"lr"`
	History           int              `json:"history"`
	LossHistory       []vggtest.Losses `json:"loss_history"`
	LossHistoryDouble []vggtest.Losses `json:"loss_history_float64"`
	// The first float32 iterations in full, HWC less mean: x before the
	// step, torch's gradient at it, x after.
	Steps []struct {
		X        vggtest.Array `json:"x"`
		Gradient vggtest.Array `json:"gradient"`
		XAfter   vggtest.Array `json:"x_after"`
	} `json:"steps"`
}

// tinyProblem builds the oracle's case on the native engine and returns it
// with its initial image.
func tinyProblem(t *testing.T) (*fixtureOracle, engine.Problem, engine.Image) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tinyDir, "lbfgs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var o fixtureOracle
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatalf("lbfgs.json: %v", err)
	}
	if len(o.LossHistory) < 20 || len(o.LossHistoryDouble) != len(o.LossHistory) || len(o.Steps) < 2 {
		t.Fatalf("lbfgs.json: %d float32 and %d float64 iterations, %d steps", len(o.LossHistory), len(o.LossHistoryDouble), len(o.Steps))
	}
	v, err := vggtest.LoadVectors(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	var tc *vggtest.Case
	for i := range v.Cases {
		if v.Cases[i].Name == o.Case && v.Cases[i].Network == o.Network {
			tc = &v.Cases[i]
		}
	}
	if tc == nil {
		t.Fatalf("vectors.json has no case %s on %s", o.Case, o.Network)
	}
	wt, err := vgg.Load(filepath.Join(tinyDir, tc.Network))
	if err != nil {
		t.Fatal(err)
	}
	mean := v.MeanPixel[tc.Network]
	spec, err := v.Spec(tc, mean)
	if err != nil {
		t.Fatal(err)
	}
	prob, err := native.New(wt, nn.Portable()).NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prob.Close() })
	x, err := v.Image(tc.Initial, mean)
	if err != nil {
		t.Fatal(err)
	}
	return &o, prob, x
}

// TestOracleFixtureSteps gives the optimiser torch's own gradients on the
// tiny fixture, so that it is the only difference from torch: each step
// must land on torch's iterate, and the native engine's loss there on
// torch's loss within 1e-4 after the first iteration and 5e-3 after the
// second (issue 12's bounds).
func TestOracleFixtureSteps(t *testing.T) {
	o, prob, x := tinyProblem(t)
	opt, err := NewLBFGS(len(x.Pix), LBFGSOptions{History: o.History, LearningRate: o.LR})
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float32, len(x.Pix))
	native := make([]float32, len(x.Pix))
	for it, st := range o.Steps {
		if len(st.X.Data) != len(x.Pix) || len(st.Gradient.Data) != len(x.Pix) || len(st.XAfter.Data) != len(x.Pix) {
			t.Fatalf("step %d: %d, %d, %d values for an image of %d", it+1, len(st.X.Data), len(st.Gradient.Data), len(st.XAfter.Data), len(x.Pix))
		}
		for i := range x.Pix {
			x.Pix[i] = float32(st.X.Data[i])
			g[i] = float32(st.Gradient.Data[i])
		}
		// Not used by the optimiser: how far the engine's own gradient is
		// from torch's here, which is what parts the end-to-end runs.
		if _, err := prob.Eval(&x, native); err != nil {
			t.Fatal(err)
		}
		before := append([]float32(nil), x.Pix...)
		opt.Step(x.Pix, g)
		var maxErr, maxStep, gErr, gMax float64
		for i, w := range st.XAfter.Data {
			maxErr = math.Max(maxErr, math.Abs(float64(x.Pix[i]-float32(w))))
			maxStep = math.Max(maxStep, math.Abs(float64(float32(w)-before[i])))
			gErr = math.Max(gErr, math.Abs(float64(native[i]-g[i])))
			gMax = math.Max(gMax, math.Abs(float64(g[i])))
		}
		l, err := prob.Eval(&x, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := o.LossHistory[it]["total"]
		rel := math.Abs(l.Total-want) / want
		t.Logf("iteration %d: x off torch's by %.2g of the largest change %.3g; loss %.8g, torch %.8g (relative %.2g); engine's gradient off torch's by %.2g of its largest",
			it+1, maxErr/maxStep, maxStep, l.Total, want, rel, gErr/gMax)
		// 1e-5 of the step: torch's float32 sums against float64 ones
		// (measured 1e-6), far below any difference of method.
		if maxErr > 1e-5*maxStep {
			t.Errorf("iteration %d: x differs from torch's by %.3g, %.2g of the step's largest change %.3g", it+1, maxErr, maxErr/maxStep, maxStep)
		}
		if bound := []float64{1e-4, 5e-3}[min(it, 1)]; rel > bound {
			t.Errorf("iteration %d: loss %.8g, torch %.8g (relative %.2g, want <= %g)", it+1, l.Total, want, rel, bound)
		}
	}
}

// TestOracleFixture runs L-BFGS on the tiny fixture end to end through the
// native engine, one Eval with gradient per iteration as the stylize loop
// does, and compares the loss after each iteration with torch's.
//
// The first iteration must match to 1e-4. From the second on, the two
// float32 objectives' rounding decides the path: the first step (scaled by
// 1/sum|g|) moves each pixel by 3e-4, so y = g1 - g0 is 1e-4 of g and the
// engine's gradient, 1.6e-6 of its largest element from torch's (float32
// sums in another order), is 1.6% off in y. The engine lands 1.2% from
// torch after iteration 2; torch itself, its gradients perturbed by 1e-5
// relative, lands 0.2% to 3% away; TestOracleFixtureSteps holds the
// optimiser alone to 5e-3 there. So later iterations are judged by the loss
// reached: after 10 iterations and the best of 10..20 within 12% of torch's
// (perturbed torch: 2% to 9% below at 10, 8% below to 1% above for the best).
func TestOracleFixture(t *testing.T) {
	o, prob, x := tinyProblem(t)
	opt, err := NewLBFGS(len(x.Pix), LBFGSOptions{History: o.History, LearningRate: o.LR})
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float32, len(x.Pix))
	var got, torch []float64
	for it := range o.LossHistory {
		if _, err := prob.Eval(&x, g); err != nil {
			t.Fatal(err)
		}
		opt.Step(x.Pix, g)
		l, err := prob.Eval(&x, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, l.Total)
		want := o.LossHistory[it]
		torch = append(torch, want["total"])
		t.Logf("iteration %2d: total %.8g, torch %.8g (relative %.2g; torch float64 %.8g)",
			it+1, l.Total, want["total"], math.Abs(l.Total-want["total"])/want["total"], o.LossHistoryDouble[it]["total"])
		if it == 0 {
			for _, c := range []struct {
				name string
				got  float64
			}{{"content", l.Content}, {"style", l.Style}, {"tv", l.TV}, {"total", l.Total}} {
				if e := math.Abs(c.got-want[c.name]) / math.Abs(want[c.name]); e > 1e-4 {
					t.Errorf("iteration 1: %s loss %.8g, torch %.8g (relative %.2g, want <= 1e-4)", c.name, c.got, want[c.name], e)
				}
			}
		}
	}
	best := func(h []float64) float64 { return slices.Min(h[9:]) }
	for _, c := range []struct {
		what       string
		got, torch float64
	}{
		{"loss after 10 iterations", got[9], torch[9]},
		{fmt.Sprintf("best loss of iterations 10..%d", len(got)), best(got), best(torch)},
	} {
		t.Logf("%s: %.8g, torch %.8g (relative %.2g)", c.what, c.got, c.torch, math.Abs(c.got-c.torch)/c.torch)
		if math.Abs(c.got-c.torch) > 0.12*c.torch {
			t.Errorf("%s: %.8g, torch %.8g: more than 12%% apart", c.what, c.got, c.torch)
		}
	}
}

// TestFixtureGradient checks by central differences of the engine's own
// float32 losses that the gradient the optimiser is given is the
// objective's: along the L-BFGS step and along the gradient itself, at the
// initial image and at the iterates of the first steps.
func TestFixtureGradient(t *testing.T) {
	_, prob, x := tinyProblem(t)
	opt, err := NewLBFGS(len(x.Pix), DefaultLBFGS())
	if err != nil {
		t.Fatal(err)
	}
	n := len(x.Pix)
	g := make([]float32, n)
	step := make([]float32, n)
	up := engine.Image{H: x.H, W: x.W, Pix: make([]float32, n)}
	down := engine.Image{H: x.H, W: x.W, Pix: make([]float32, n)}
	for it := range 4 {
		if _, err := prob.Eval(&x, g); err != nil {
			t.Fatal(err)
		}
		before := append([]float32(nil), x.Pix...)
		opt.Step(x.Pix, g)
		for i := range step {
			step[i] = x.Pix[i] - before[i]
		}
		for _, dir := range []struct {
			name string
			v    []float32
		}{{"the step", step}, {"the gradient", g}} {
			var vv float64
			for _, vi := range dir.v {
				vv += float64(vi) * float64(vi)
			}
			// Perturb each value by 1e-2 (RMS) of a grey level: the change
			// in loss is then 1e4 times the float32 losses' rounding, and
			// curvature is negligible. The difference is compared with g
			// along the perturbation actually represented in float32.
			h := 1e-2 * math.Sqrt(float64(n)/vv)
			var gp float64
			for i, vi := range dir.v {
				up.Pix[i] = before[i] + float32(h*float64(vi))
				down.Pix[i] = before[i] - float32(h*float64(vi))
				gp += float64(g[i]) * (float64(up.Pix[i]) - float64(down.Pix[i]))
			}
			lu, err := prob.Eval(&up, nil)
			if err != nil {
				t.Fatal(err)
			}
			ld, err := prob.Eval(&down, nil)
			if err != nil {
				t.Fatal(err)
			}
			diff := lu.Total - ld.Total
			rel := math.Abs(diff-gp) / math.Abs(gp)
			t.Logf("iteration %d, along %s: f(x+p) - f(x-p) = %.7g, g.(2p) = %.7g (relative %.2g)", it+1, dir.name, diff, gp, rel)
			if rel > 1e-3 {
				t.Errorf("iteration %d, along %s: f(x+p) - f(x-p) = %.7g, g.(2p) = %.7g (relative %.2g, want <= 1e-3)", it+1, dir.name, diff, gp, rel)
			}
		}
	}
}

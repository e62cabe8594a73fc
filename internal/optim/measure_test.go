//go:build measure

// The figures that decide what the README recommends, not a test: loss
// after N iterations of L-BFGS against the reference's Adam on the tiny
// fixture and on random full-size weights. Run with
//
//	go test -tags measure -run Measure -v -timeout 60m ./internal/optim
//
// (-optim.size, -optim.iters and -optim.history to change the runs).

package optim

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

var (
	measureSize  = flag.Int("optim.size", 128, "image size of the full-size run")
	measureIters = flag.Int("optim.iters", 200, "iterations of the full-size run")
	measureHist  = flag.Int("optim.history", 100, "L-BFGS history")
)

type stepper interface{ Step(x, g []float32) }

// lossCurve runs opt for iters iterations from x0 and returns the loss
// after each (the loss Eval reports at the start of the next iteration),
// and the time spent in Step.
func lossCurve(t *testing.T, prob engine.Problem, x0 engine.Image, opt stepper, iters int) ([]float64, time.Duration) {
	x := engine.Image{H: x0.H, W: x0.W, Pix: append([]float32(nil), x0.Pix...)}
	g := make([]float32, len(x.Pix))
	var curve []float64
	var inStep time.Duration
	for it := 0; it <= iters; it++ {
		l, err := prob.Eval(&x, g)
		if err != nil {
			t.Fatal(err)
		}
		if it > 0 {
			curve = append(curve, l.Total)
		}
		if it < iters {
			start := time.Now()
			opt.Step(x.Pix, g)
			inStep += time.Since(start)
		}
	}
	return curve, inStep
}

func compare(t *testing.T, name string, prob engine.Problem, x0 engine.Image, iters int, marks []int) {
	n := len(x0.Pix)
	lb, err := NewLBFGS(n, LBFGSOptions{History: *measureHist, LearningRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	lbCurve, lbStep := lossCurve(t, prob, x0, lb, iters)
	lbTime := time.Since(start)
	start = time.Now()
	adCurve, adStep := lossCurve(t, prob, x0, newRefAdam(n), iters)
	adTime := time.Since(start)
	for _, m := range marks {
		if m > iters {
			continue
		}
		t.Logf("%s, after %3d: L-BFGS %.6g, Adam %.6g (L-BFGS/Adam %.3f)", name, m, lbCurve[m-1], adCurve[m-1], lbCurve[m-1]/adCurve[m-1])
	}
	t.Logf("%s: %d iterations in %.1f s (L-BFGS, %.2f s in Step, %d pairs) and %.1f s (Adam, %.2f s in Step)",
		name, iters, lbTime.Seconds(), lbStep.Seconds(), lb.Pairs(), adTime.Seconds(), adStep.Seconds())
	for m := 1; m <= iters; m++ {
		if adCurve[m-1] <= lbCurve[9] {
			t.Logf("%s: Adam reaches L-BFGS's loss after 10 iterations at iteration %d", name, m)
			break
		}
	}
	for _, target := range []int{50, 100, 200} {
		if target > iters {
			continue
		}
		for m := 1; m <= iters; m++ {
			if lbCurve[m-1] <= adCurve[target-1] {
				t.Logf("%s: L-BFGS reaches Adam's loss after %d iterations at iteration %d", name, target, m)
				break
			}
		}
	}
}

func TestMeasureTiny(t *testing.T) {
	_, prob, x := tinyProblem(t)
	compare(t, "tiny fixture", prob, x, 200, []int{10, 20, 50, 100, 200})
}

func TestMeasureFullSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	spec := vggtest.BenchSpec(rng, *measureSize)
	wt := vggtest.RandomWeights(rng, vggtest.FullWidths)
	prob, err := native.New(wt, native.DefaultKernels()).NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer prob.Close()
	// The reference starts from the content image.
	compare(t, "random full-size weights", prob, spec.Content, *measureIters, []int{10, 20, 50, 100, 200, 500, 1000})
}

// refAdam is the reference's Adam (lr 10, TensorFlow 1's epsilon-hat form,
// float32) as stylize.Adam computes it; package stylize imports this one,
// so the measurement cannot import it back.
type refAdam struct {
	b1p, b2p float32
	m, v     []float32
}

func newRefAdam(n int) *refAdam {
	return &refAdam{b1p: 0.9, b2p: 0.999, m: make([]float32, n), v: make([]float32, n)}
}

func (a *refAdam) Step(x, g []float32) {
	const lr, b1, b2, eps = float32(10), float32(0.9), float32(0.999), float32(1e-8)
	lrT := lr * float32(math.Sqrt(float64(1-a.b2p))) / (1 - a.b1p)
	for i, gi := range g {
		a.m[i] += float32((gi - a.m[i]) * (1 - b1))
		a.v[i] += float32((float32(gi*gi) - a.v[i]) * (1 - b2))
		x[i] -= float32(a.m[i]*lrT) / (float32(math.Sqrt(float64(a.v[i]))) + eps)
	}
	a.b1p *= b1
	a.b2p *= b2
}

package optim

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// serialDirection is the two-loop recursion as four separate passes per
// pair with whole-vector dot products: what direction computes, in another
// order of summation.
func serialDirection(o *LBFGS, g []float32) []float32 {
	q := make([]float32, len(g))
	for i, v := range g {
		q[i] = -v
	}
	alpha := make([]float64, o.history)
	for k := o.count - 1; k >= 0; k-- {
		slot := o.slot(k)
		s, y := o.pair(slot)
		alpha[slot] = dot(s, q) * o.rho[slot]
		axpy(q, -alpha[slot], y)
	}
	for i, v := range q {
		q[i] = float32(float64(v) * o.hDiag)
	}
	for k := 0; k < o.count; k++ {
		slot := o.slot(k)
		s, y := o.pair(slot)
		axpy(q, alpha[slot]-dot(y, q)*o.rho[slot], s)
	}
	return q
}

// lbfgsRun takes steps L-BFGS iterations on a diagonal quadratic of n
// values with GOMAXPROCS procs, checking every direction against
// serialDirection, and returns x.
func lbfgsRun(t *testing.T, n, history, steps, procs int) []float32 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	rng := rand.New(rand.NewPCG(5, 6))
	x, g, scale := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i], scale[i] = float32(rng.NormFloat64()), float32(0.5+rng.Float64())
	}
	o, err := NewLBFGS(n, LBFGSOptions{History: history, LearningRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	for step := range steps {
		for i := range g {
			g[i] = scale[i] * x[i]
		}
		o.Step(x, g)
		if step == 0 {
			continue
		}
		// Step has kept the pair and computed the direction from the
		// pairs now kept and g.
		want := serialDirection(o, g)
		for i, v := range o.d {
			if d := math.Abs(float64(v - want[i])); d > 1e-6*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("procs %d step %d: d[%d] = %g, the serial recursion gives %g", procs, step, i, v, want[i])
			}
		}
	}
	return x
}

// TestDirectionChunked checks that the fused, chunked two-loop recursion
// is the serial one up to the order of summation, for vectors of several
// chunks, and that its result does not depend on the number of goroutines.
func TestDirectionChunked(t *testing.T) {
	n := 3*chunk + 17
	one := lbfgsRun(t, n, 4, 9, 1)
	four := lbfgsRun(t, n, 4, 9, 4)
	for i := range one {
		if math.Float32bits(one[i]) != math.Float32bits(four[i]) {
			t.Fatalf("x[%d] = %g with 1 goroutine, %g with 4", i, one[i], four[i])
		}
	}
}

// TestStepChunkedAllocs checks that a step over several chunks, split
// across goroutines, allocates nothing.
func TestStepChunkedAllocs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	n := 3*chunk + 17
	o, err := NewLBFGS(n, LBFGSOptions{History: 3, LearningRate: 1})
	if err != nil {
		t.Fatal(err)
	}
	x, g := make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	f := func() {
		for i := range g {
			g[i] = 2 * x[i]
		}
	}
	for range 5 {
		f()
		o.Step(x, g)
	}
	if a := testing.AllocsPerRun(20, func() { f(); o.Step(x, g) }); a != 0 {
		t.Errorf("a step allocates %v times", a)
	}
}

package optim

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The oracle files are written by scripts/torch/lbfgs_oracle.py with
// torch.optim.LBFGS on float32 parameters. Both sides evaluate f and its
// gradient in float64 at the float32 x and give the optimiser the gradient
// rounded to float32, so that the comparison is of the optimisers alone.
const oracleDir = "../../testdata/optim"

// oracleTolerance is how close x and f after each iteration must be to
// torch's, relative to max(1, |reference|). The problems were chosen so
// that torch's own float32 and float64 runs agree to 3.3e-6 (float64_drift,
// which loadOracle holds to half this tolerance), so that it tests the
// algorithm and not rounding. Measured: quadratic 2.4e-7, Rosenbrock n = 2
// bit for bit, n = 10 3.5e-6.
const oracleTolerance = 1e-5

type oracleCase struct {
	Name         string      `json:"name"`
	N            int         `json:"n"`
	LR           float64     `json:"lr"`
	History      int         `json:"history"`
	X0           []float32   `json:"x0"`
	X            [][]float64 `json:"x"` // after each iteration
	F            []float64   `json:"f"` // after each iteration
	Float64Drift struct {
		X float64 `json:"x"`
		F float64 `json:"f"`
	} `json:"float64_drift"`
	// The quadratic's A (row-major) and b.
	A []float32 `json:"a"`
	B []float32 `json:"b"`
}

type oracleFile struct {
	Generator string       `json:"generator"`
	Cases     []oracleCase `json:"cases"`
}

func loadOracle(t *testing.T, name string) []oracleCase {
	t.Helper()
	path := filepath.Join(oracleDir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f oracleFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	for _, c := range f.Cases {
		if len(c.X0) != c.N || len(c.X) != len(c.F) || len(c.X) < 50 {
			t.Fatalf("%s %s: n %d, x0 of %d, %d iterates, %d losses", path, c.Name, c.N, len(c.X0), len(c.X), len(c.F))
		}
		if c.Float64Drift.X > oracleTolerance/2 || c.Float64Drift.F > oracleTolerance/2 {
			t.Fatalf("%s %s: torch float32 and float64 differ by %+v: the problem is too sensitive to compare at %g",
				path, c.Name, c.Float64Drift, oracleTolerance)
		}
	}
	return f.Cases
}

// objective is a function with its gradient: f(x), and g = grad f(x) when g
// is not nil.
type objective func(x, g []float32) float64

// quadratic is 0.5 x'Ax - b'x, accumulated in float64.
func quadratic(a, b []float32) objective {
	n := len(b)
	return func(x, g []float32) float64 {
		var f float64
		for i := range n {
			var ax float64
			for j := range n {
				ax += float64(a[i*n+j]) * float64(x[j])
			}
			f += 0.5*float64(x[i])*ax - float64(b[i])*float64(x[i])
			if g != nil {
				g[i] = float32(ax - float64(b[i]))
			}
		}
		return f
	}
}

// rosenbrock is sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, in float64.
func rosenbrock(x, g []float32) float64 {
	var f float64
	if g != nil {
		clear(g)
	}
	gi := make([]float64, len(x))
	for i := 0; i+1 < len(x); i++ {
		a, b := float64(x[i]), float64(x[i+1])
		r := b - a*a
		f += 100*r*r + (1-a)*(1-a)
		gi[i] += -400*a*r - 2*(1-a)
		gi[i+1] += 200 * r
	}
	for i := range g {
		g[i] = float32(gi[i])
	}
	return f
}

// follow runs the optimiser on f from c.X0 for c's iterations and compares
// each iterate and loss with torch's.
func follow(t *testing.T, c oracleCase, f objective) {
	o, err := NewLBFGS(c.N, LBFGSOptions{History: c.History, LearningRate: c.LR})
	if err != nil {
		t.Fatal(err)
	}
	x := append([]float32(nil), c.X0...)
	g := make([]float32, c.N)
	var worstX, worstF float64
	for it := range c.X {
		f(x, g)
		o.Step(x, g)
		fx := f(x, nil)
		for i, want := range c.X[it] {
			e := math.Abs(float64(x[i])-want) / math.Max(1, math.Abs(want))
			worstX = math.Max(worstX, e)
			if e > oracleTolerance {
				t.Fatalf("iteration %d: x[%d] = %.9g, torch %.9g (relative %.2g)", it+1, i, x[i], want, e)
			}
		}
		e := math.Abs(fx-c.F[it]) / math.Max(1, math.Abs(c.F[it]))
		worstF = math.Max(worstF, e)
		if e > oracleTolerance {
			t.Fatalf("iteration %d: f = %.9g, torch %.9g (relative %.2g)", it+1, fx, c.F[it], e)
		}
	}
	t.Logf("%d iterations, %d pairs kept; largest difference from torch: x %.2g, f %.2g (torch float32 against float64: %.2g, %.2g)",
		len(c.X), o.Pairs(), worstX, worstF, c.Float64Drift.X, c.Float64Drift.F)
}

func TestOracleQuadratic(t *testing.T) {
	for _, c := range loadOracle(t, "quadratic.json") {
		t.Run(c.Name, func(t *testing.T) {
			if len(c.A) != c.N*c.N || len(c.B) != c.N {
				t.Fatalf("A of %d, b of %d for n %d", len(c.A), len(c.B), c.N)
			}
			follow(t, c, quadratic(c.A, c.B))
		})
	}
}

func TestOracleRosenbrock(t *testing.T) {
	for _, c := range loadOracle(t, "rosenbrock.json") {
		t.Run(c.Name, func(t *testing.T) {
			follow(t, c, rosenbrock)
		})
	}
}

// TestQuadraticGradient checks by central differences (in float64, on the
// float32 objective's own formula) that the gradient the oracle tests give
// the optimiser is the objective's.
func TestQuadraticGradient(t *testing.T) {
	for _, c := range append(loadOracle(t, "quadratic.json")[:1], loadOracle(t, "rosenbrock.json")...) {
		t.Run(c.Name, func(t *testing.T) {
			var f objective = rosenbrock
			if c.A != nil {
				f = quadratic(c.A, c.B)
			}
			// At the start and at a later iterate of torch's path.
			for _, at := range [][]float64{to64(c.X0), c.X[9]} {
				x := make([]float32, c.N)
				for i, v := range at {
					x[i] = float32(v)
				}
				g := make([]float32, c.N)
				f(x, g)
				for i := range x {
					h := float32(1e-2) * float32(math.Max(1, math.Abs(float64(x[i]))))
					keep := x[i]
					x[i] = keep + h
					up := f(x, nil)
					x[i] = keep - h
					down := f(x, nil)
					x[i] = keep
					// The step actually taken in float32.
					step := float64(keep+h) - float64(keep-h)
					num := (up-down)/step - truncation(c, i, float64(x[i]), step/2)
					tol := 1e-5 * math.Max(1, math.Abs(num))
					if d := math.Abs(float64(g[i]) - num); d > tol {
						t.Errorf("x %v: gradient[%d] = %.8g, central difference %.8g", at, i, g[i], num)
					}
				}
			}
		})
	}
}

// truncation is the central difference's error at x[i] = v with step h:
// zero for the quadratic; for Rosenbrock h^2/6 times the third derivative
// 2400 x[i] (of the quartic term 100 x[i]^4, which the last coordinate
// lacks), its higher odd derivatives being zero.
func truncation(c oracleCase, i int, v, h float64) float64 {
	if c.A != nil || i == c.N-1 {
		return 0
	}
	return h * h / 6 * 2400 * v
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// refPool is the float64 reference on float32 input.
func refPool(in []float32, c, h, w int, avg bool) []float64 {
	return nntest.RefPool64(nntest.To64(in), c, h, w, avg)
}

func dot64(a []float64, b []float32) float64 {
	var s float64
	for i := range a {
		s += a[i] * float64(b[i])
	}
	return s
}

var poolCases = []struct{ c, h, w int }{
	{1, 1, 1}, {1, 2, 2}, {3, 3, 5}, {2, 4, 4}, {13, 7, 6}, {5, 29, 37}, {40, 5, 3},
	// rows of several 16-window vector groups and a remainder
	{3, 6, 70}, {2, 3, 97},
}

func TestPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range poolCases {
		for _, avg := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%dx%d/avg=%v", tc.c, tc.h, tc.w, avg), func(t *testing.T) {
				c, h, w := tc.c, tc.h, tc.w
				oh, ow := nn.PoolSize(h), nn.PoolSize(w)
				// Distinct values 0.01 apart keep the finite differences away
				// from ties; negative ones check that max does not see the
				// outside as 0.
				in := make([]float32, c*h*w)
				for i, p := range rng.Perm(len(in)) {
					in[i] = -0.01 * float32(p+1)
				}
				out := make([]float32, c*oh*ow)
				arg := make([]uint8, c*oh*ow)
				if avg {
					nn.AvgPool(out, in, c, h, w)
				} else {
					nn.MaxPool(out, arg, in, c, h, w)
				}
				want := refPool(in, c, h, w, avg)
				if e := nntest.RelErr(out, want); e > 1e-6 {
					t.Fatalf("forward: relative error %g", e)
				}

				// Backward against central differences of L = dOut . pool(in).
				dOut := nntest.RandomSlice(rng, c*oh*ow, 1)
				dIn := make([]float32, c*h*w)
				for i := range dIn {
					dIn[i] = float32(math.NaN())
				}
				if avg {
					nn.AvgPoolBackward(dIn, dOut, c, h, w)
				} else {
					nn.MaxPoolBackward(dIn, arg, dOut, c, h, w)
				}
				for j := range in {
					old := in[j]
					const e = 1e-3
					in[j] = old + e
					up := dot64(refPool(in, c, h, w, avg), dOut)
					in[j] = old - e
					down := dot64(refPool(in, c, h, w, avg), dOut)
					in[j] = old
					fd := (up - down) / (2 * e)
					if math.Abs(fd-float64(dIn[j])) > 1e-3*(1+math.Abs(fd)) {
						t.Fatalf("backward: d/din[%d] = %g, finite differences %g", j, dIn[j], fd)
					}
				}
			})
		}
	}
}

func TestReLUBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	x := nntest.RandomSlice(rng, 1000, 1)
	act := make([]float32, len(x))
	for i, v := range x {
		act[i] = max(0, v)
	}
	act[0], x[0] = 0, 0 // the derivative at 0 is taken as 0
	d := nntest.RandomSlice(rng, len(x), 1)
	g := append([]float32(nil), d...)
	nn.ReLUBackward(g, act)
	for i := range x {
		const e = 1e-3
		var fd float64
		if x[i] != 0 {
			up := math.Max(0, float64(x[i])+e)
			down := math.Max(0, float64(x[i])-e)
			fd = float64(d[i]) * (up - down) / (2 * e)
		}
		if math.Abs(fd-float64(g[i])) > 1e-4 && math.Abs(float64(x[i])) > e {
			t.Fatalf("d/dx[%d] = %g, finite differences %g (x = %g)", i, g[i], fd, x[i])
		}
		if x[i] == 0 && g[i] != 0 {
			t.Fatalf("gradient at 0 is %g, want 0", g[i])
		}
	}
}

func TestPoolAllocs(t *testing.T) {
	const c, h, w = 16, 29, 37
	in := make([]float32, c*h*w)
	out := make([]float32, c*15*19)
	arg := make([]uint8, len(out))
	nn.MaxPool(out, arg, in, c, h, w)
	if a := testing.AllocsPerRun(10, func() { nn.MaxPool(out, arg, in, c, h, w) }); a > 0 {
		t.Errorf("MaxPool: %v allocations per call", a)
	}
}

func TestReLUBackwardMask(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	// 3*2^15+37 spans several of the parallel tasks, the last one partial.
	for _, n := range []int{1, 63, 64, 65, 1000, 3<<15 + 37} {
		act := nntest.RandomSlice(rng, n, 1)
		for i := range act {
			act[i] = max(0, act[i])
		}
		if n > 10 {
			clear(act[:70%n]) // an all-zero word and a partial one
		}
		d := nntest.RandomSlice(rng, n, 1)
		want := append([]float32(nil), d...)
		nn.ReLUBackward(want, act)
		for i := range want {
			if def := map[bool]float32{true: d[i], false: 0}[act[i] > 0]; want[i] != def {
				t.Fatalf("n=%d: ReLUBackward gives d[%d] = %g, want %g", n, i, want[i], def)
			}
		}
		mask := make([]uint64, (n+63)/64)
		for i := range mask {
			mask[i] = 0xdeadbeef // overwritten
		}
		nn.PositiveMask(mask, act)
		nn.ReLUBackwardMask(d, mask)
		for i := range d {
			if d[i] != want[i] {
				t.Fatalf("n=%d: d[%d] = %g, want %g", n, i, d[i], want[i])
			}
		}
	}
}

// TestMaxPoolTies: on ties the first maximum in row-major order wins, in
// whole windows and in the clipped ones at odd edges alike.
func TestMaxPoolTies(t *testing.T) {
	for _, w := range []int{7, 67} {
		testMaxPoolTies(t, 2, 5, w)
	}
}

func testMaxPoolTies(t *testing.T, c, h, w int) {
	in := make([]float32, c*h*w)
	for i := range in {
		in[i] = 1.5
	}
	oh, ow := nn.PoolSize(h), nn.PoolSize(w)
	out := make([]float32, c*oh*ow)
	arg := make([]uint8, len(out))
	for i := range arg {
		arg[i] = 9
	}
	nn.MaxPool(out, arg, in, c, h, w)
	for i, a := range arg {
		if a != 0 || out[i] != 1.5 {
			t.Fatalf("window %d: max %v at %d, want 1.5 at 0", i, out[i], a)
		}
	}
}

package nntest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// naive is a direct float32 transcription of the references; the suite must
// accept it.
type naive struct{}

type naiveConv struct {
	wt   *nn.ConvWeights
	h, w int
}

func (naive) Name() string { return "naive" }
func (naive) NewConv(wt *nn.ConvWeights, h, w int) nn.Conv {
	return &naiveConv{wt, h, w}
}
func (naive) Gram(g, f []float32, c, n int, scale float32) {
	for a := 0; a < c; a++ {
		for b := 0; b < c; b++ {
			var s float32
			for p := 0; p < n; p++ {
				s += f[a*n+p] * f[b*n+p]
			}
			g[a*c+b] = scale * s
		}
	}
}
func (naive) GramBackward(df, dg, f []float32, c, n int, scale float32) {
	for a := 0; a < c; a++ {
		for p := 0; p < n; p++ {
			var s float32
			for b := 0; b < c; b++ {
				s += (dg[a*c+b] + dg[b*c+a]) * f[b*n+p]
			}
			df[a*n+p] = scale * s
		}
	}
}

func (naive) GramBackwardAdd(df, dg, f []float32, c, n int, scale float32) {
	for a := 0; a < c; a++ {
		for p := 0; p < n; p++ {
			var s float32
			for b := 0; b < c; b++ {
				s += (dg[a*c+b] + dg[b*c+a]) * f[b*n+p]
			}
			df[a*n+p] += scale * s
		}
	}
}

func (c *naiveConv) Forward(out, in []float32) {
	h, w, ci, co := c.h, c.w, c.wt.In, c.wt.Out
	for o := 0; o < co; o++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				s := c.wt.Bias[o]
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						sy, sx := y+ky-1, x+kx-1
						if sy < 0 || sy >= h || sx < 0 || sx >= w {
							continue
						}
						for i := 0; i < ci; i++ {
							s += c.wt.Kernel[((ky*3+kx)*ci+i)*co+o] * in[(i*h+sy)*w+sx]
						}
					}
				}
				out[(o*h+y)*w+x] = max(0, s)
			}
		}
	}
}

func (c *naiveConv) BackwardInput(dIn, dOut []float32) {
	h, w, ci, co := c.h, c.w, c.wt.In, c.wt.Out
	for i := 0; i < ci; i++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s float32
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						oy, ox := y-ky+1, x-kx+1
						if oy < 0 || oy >= h || ox < 0 || ox >= w {
							continue
						}
						for o := 0; o < co; o++ {
							s += c.wt.Kernel[((ky*3+kx)*ci+i)*co+o] * dOut[(o*h+oy)*w+ox]
						}
					}
				}
				dIn[(i*h+y)*w+x] = s
			}
		}
	}
}

func TestNaiveConforms(t *testing.T) { TestKernels(t, naive{}) }

// broken differs from naive by a swapped kernel transpose; the suite must
// reject it.
type broken struct{ naive }

func (broken) NewConv(wt *nn.ConvWeights, h, w int) nn.Conv {
	t := *wt
	t.Kernel = make([]float32, len(wt.Kernel))
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			copy(t.Kernel[(ky*3+kx)*wt.In*wt.Out:][:wt.In*wt.Out], wt.Kernel[(kx*3+ky)*wt.In*wt.Out:])
		}
	}
	return &naiveConv{&t, h, w}
}

func TestSuiteRejectsTransposedKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	wt := RandomConv(rng, 4, 13)
	in := RandomSlice(rng, 4*3*5, 1)
	out := make([]float32, 13*3*5)
	broken{}.NewConv(wt, 3, 5).Forward(out, in)
	if e := RelErr(out, RefConvForward(wt, in, 3, 5)); e <= Tol {
		t.Fatalf("a transposed kernel passes: relative error %g", e)
	}
}

func dot(a []float64, b []float32) float64 {
	var s float64
	for i := range a {
		s += a[i] * float64(b[i])
	}
	return s
}

// TestRefConvAdjoint checks the backward reference by finite differences
// of the forward reference: the linear convolution is exactly linear, so
// <d/dx (y . conv(x)), e_j> equals (conv(x + e_j) - conv(x)) . y.
func TestRefConvFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, s := range []struct{ ci, co, h, w int }{{3, 4, 1, 1}, {4, 13, 3, 5}, {5, 2, 6, 7}} {
		wt := RandomConv(rng, s.ci, s.co)
		x := RandomSlice(rng, s.ci*s.h*s.w, 1)
		y := RandomSlice(rng, s.co*s.h*s.w, 1)
		back := RefConvBackwardInput(wt, y, s.h, s.w)
		base := dot(RefConvLinear(wt, x, s.h, s.w), y)
		for j := range x {
			old := x[j]
			x[j] = old + 0.5
			fd := (dot(RefConvLinear(wt, x, s.h, s.w), y) - base) / float64(x[j]-old)
			x[j] = old
			if math.Abs(fd-back[j]) > 1e-6*(1+math.Abs(fd)) {
				t.Fatalf("%+v: d/dx[%d] = %g by finite differences, %g by the reference", s, j, fd, back[j])
			}
		}
	}
}

// TestRefGramFiniteDifferences checks RefGramBackward by central
// differences of L = sum(dg .* RefGram(f)).
func TestRefGramFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	const c, n = 5, 7
	f := RandomSlice(rng, c*n, 1)
	dg := RandomSlice(rng, c*c, 1)
	scale := 1.0 / (c * n)
	back := RefGramBackward(dg, f, c, n, scale)
	for j := range f {
		old := f[j]
		const e = 1.0 / 64
		f[j] = old + e
		hi := f[j]
		up := dot(RefGram(f, c, n, scale), dg)
		f[j] = old - e
		lo := f[j]
		down := dot(RefGram(f, c, n, scale), dg)
		f[j] = old
		// The steps are rounded to float32: divide by the step actually taken.
		fd := (up - down) / float64(hi-lo)
		if math.Abs(fd-back[j]) > 1e-9*(1+math.Abs(fd)) {
			t.Fatalf("d/df[%d] = %g by finite differences, %g by the reference", j, fd, back[j])
		}
	}
}

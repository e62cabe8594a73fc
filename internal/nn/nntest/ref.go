// Package nntest is the conformance suite of nn.Kernels implementations: it
// compares any implementation against plain float64 references on odd sizes
// and channel counts, and benchmarks it on VGG-19's layer shapes.
//
// An implementation's tests call TestKernels and BenchmarkKernels:
//
//	func TestConformance(t *testing.T)      { nntest.TestKernels(t, mykernels.New()) }
//	func BenchmarkKernels(b *testing.B)     { nntest.BenchmarkKernels(b, mykernels.New()) }
package nntest

import (
	"math"
	"math/rand/v2"

	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// RandomConv returns weights with He-style scale (so that activations keep
// their magnitude through layers) and small random biases.
func RandomConv(rng *rand.Rand, in, out int) *nn.ConvWeights {
	wt := &nn.ConvWeights{In: in, Out: out, Kernel: make([]float32, 9*in*out), Bias: make([]float32, out)}
	std := math.Sqrt(2 / float64(9*in))
	for i := range wt.Kernel {
		wt.Kernel[i] = float32(rng.NormFloat64() * std)
	}
	for i := range wt.Bias {
		wt.Bias[i] = float32(rng.NormFloat64() * 0.1)
	}
	return wt
}

// RandomSlice returns n normal(0, std) values.
func RandomSlice(rng *rand.Rand, n int, std float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64() * std)
	}
	return s
}

// RefConvLinear returns conv(in) + bias (no ReLU) in float64; in is
// wt.In x h x w (CHW), the result wt.Out x h x w.
func RefConvLinear(wt *nn.ConvWeights, in []float32, h, w int) []float64 {
	ci, co := wt.In, wt.Out
	out := make([]float64, co*h*w)
	for o := 0; o < co; o++ {
		for p := 0; p < h*w; p++ {
			out[o*h*w+p] = float64(wt.Bias[o])
		}
	}
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			for i := 0; i < ci; i++ {
				for o := 0; o < co; o++ {
					k := float64(wt.Kernel[((ky*3+kx)*ci+i)*co+o])
					for y := 0; y < h; y++ {
						sy := y + ky - 1
						if sy < 0 || sy >= h {
							continue
						}
						for x := 0; x < w; x++ {
							sx := x + kx - 1
							if sx < 0 || sx >= w {
								continue
							}
							out[(o*h+y)*w+x] += k * float64(in[(i*h+sy)*w+sx])
						}
					}
				}
			}
		}
	}
	return out
}

// RefConvForward returns max(0, conv(in) + bias) in float64.
func RefConvForward(wt *nn.ConvWeights, in []float32, h, w int) []float64 {
	out := RefConvLinear(wt, in, h, w)
	for i, v := range out {
		out[i] = math.Max(0, v)
	}
	return out
}

// RefConvBackwardInput returns the gradient with respect to the input of
// the linear convolution, given dOut (wt.Out x h x w), in float64.
func RefConvBackwardInput(wt *nn.ConvWeights, dOut []float32, h, w int) []float64 {
	ci, co := wt.In, wt.Out
	dIn := make([]float64, ci*h*w)
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			for i := 0; i < ci; i++ {
				for o := 0; o < co; o++ {
					k := float64(wt.Kernel[((ky*3+kx)*ci+i)*co+o])
					for y := 0; y < h; y++ {
						sy := y + ky - 1
						if sy < 0 || sy >= h {
							continue
						}
						for x := 0; x < w; x++ {
							sx := x + kx - 1
							if sx < 0 || sx >= w {
								continue
							}
							dIn[(i*h+sy)*w+sx] += k * float64(dOut[(o*h+y)*w+x])
						}
					}
				}
			}
		}
	}
	return dIn
}

// RefGram returns scale * F F^T (c x c), F the c x n matrix f, in float64.
func RefGram(f []float32, c, n int, scale float64) []float64 {
	g := make([]float64, c*c)
	for a := 0; a < c; a++ {
		for b := 0; b < c; b++ {
			var s float64
			for p := 0; p < n; p++ {
				s += float64(f[a*n+p]) * float64(f[b*n+p])
			}
			g[a*c+b] = scale * s
		}
	}
	return g
}

// RefGramBackward returns scale * (dg + dg^T) F (c x n) in float64.
func RefGramBackward(dg, f []float32, c, n int, scale float64) []float64 {
	df := make([]float64, c*n)
	for a := 0; a < c; a++ {
		for b := 0; b < c; b++ {
			s := scale * (float64(dg[a*c+b]) + float64(dg[b*c+a]))
			for p := 0; p < n; p++ {
				df[a*n+p] += s * float64(f[b*n+p])
			}
		}
	}
	return df
}

// RelErr returns max |got - want| / max |want| (or the plain maximum error
// when want is all zero).
func RelErr(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		panic("nntest: RelErr length mismatch")
	}
	var maxErr, maxRef float64
	for i, w := range want {
		maxErr = math.Max(maxErr, math.Abs(float64(got[i])-w))
		maxRef = math.Max(maxRef, math.Abs(w))
	}
	if math.IsNaN(maxErr) || hasNaN(got) {
		return math.Inf(1)
	}
	if maxRef == 0 {
		return maxErr
	}
	return maxErr / maxRef
}

func hasNaN(s []float32) bool {
	for _, v := range s {
		if v != v {
			return true
		}
	}
	return false
}

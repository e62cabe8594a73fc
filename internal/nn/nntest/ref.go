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

// eachTap calls f for every multiply-add of a 3x3 SAME convolution of
// h x w planes: output index, input index and kernel weight. Forward and
// backward references are the same sum read in two directions.
func eachTap(wt *nn.ConvWeights, h, w int, f func(out, in int, k float64)) {
	ci, co := wt.In, wt.Out
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
							f((o*h+y)*w+x, (i*h+sy)*w+sx, k)
						}
					}
				}
			}
		}
	}
}

// RefConv64 returns conv(in) + bias (no ReLU) in float64; in is
// wt.In x h x w (CHW), the result wt.Out x h x w.
func RefConv64(wt *nn.ConvWeights, in []float64, h, w int) []float64 {
	out := make([]float64, wt.Out*h*w)
	for o := 0; o < wt.Out; o++ {
		for p := 0; p < h*w; p++ {
			out[o*h*w+p] = float64(wt.Bias[o])
		}
	}
	eachTap(wt, h, w, func(oi, ii int, k float64) { out[oi] += k * in[ii] })
	return out
}

// RefConvLinear is RefConv64 on a float32 input.
func RefConvLinear(wt *nn.ConvWeights, in []float32, h, w int) []float64 {
	return RefConv64(wt, To64(in), h, w)
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
	dIn := make([]float64, wt.In*h*w)
	eachTap(wt, h, w, func(oi, ii int, k float64) { dIn[ii] += k * float64(dOut[oi]) })
	return dIn
}

// RefPool64 is TF SAME 2x2/2 pooling in float64: windows clipped to the
// image, max ignoring the outside, avg over the cells inside.
func RefPool64(in []float64, c, h, w int, avg bool) []float64 {
	oh, ow := (h+1)/2, (w+1)/2
	out := make([]float64, c*oh*ow)
	for ch := 0; ch < c; ch++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				best, sum, n := math.Inf(-1), 0.0, 0
				for y := 2 * oy; y < min(h, 2*oy+2); y++ {
					for x := 2 * ox; x < min(w, 2*ox+2); x++ {
						v := in[(ch*h+y)*w+x]
						best, sum, n = math.Max(best, v), sum+v, n+1
					}
				}
				if avg {
					best = sum / float64(n)
				}
				out[(ch*oh+oy)*ow+ox] = best
			}
		}
	}
	return out
}

// To64 widens s to float64.
func To64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
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

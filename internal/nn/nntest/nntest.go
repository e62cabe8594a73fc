package nntest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// Tol is the largest accepted error of an implementation relative to the
// largest magnitude of the float64 reference. float32 sums of a few
// thousand terms stay near 1e-6 in any summation order.
const Tol = 1e-5

type size struct{ h, w int }

// convSizes are image sizes that exercise borders, single rows and columns
// and widths that are not multiples of any vector width.
var convSizes = []size{{1, 1}, {1, 7}, {7, 1}, {2, 2}, {3, 5}, {17, 8}, {29, 37}}

// convChannels are (in, out) pairs: VGG's first layer (3 inputs) and counts
// that are not multiples of any blocking factor.
var convChannels = [][2]int{{3, 4}, {4, 13}, {13, 64}, {64, 13}, {3, 64}, {16, 32}, {64, 64}}

func fillNaN(s []float32) {
	nan := float32(math.NaN())
	for i := range s {
		s[i] = nan
	}
}

func same(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestKernels checks k against the float64 references: Conv.Forward (with
// bias and ReLU), Conv.BackwardInput, Gram, GramBackward and GramBackwardAdd,
// on odd sizes. It
// also checks that outputs are fully overwritten (they start as NaN), that
// inputs are left alone, that results repeat exactly, and that calls after
// the first allocate nothing.
func TestKernels(t *testing.T, k nn.Kernels) {
	t.Run("Conv", func(t *testing.T) { testConv(t, k) })
	t.Run("Gram", func(t *testing.T) { testGram(t, k) })
	t.Run("Allocs", func(t *testing.T) { testAllocs(t, k) })
}

func testConv(t *testing.T, k nn.Kernels) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ch := range convChannels {
		for _, sz := range convSizes {
			ci, co, h, w := ch[0], ch[1], sz.h, sz.w
			if ci*co >= 64*64 && h*w < 29*37 && h*w > 1 {
				continue // the big channel counts only at the extremes, to keep the suite fast
			}
			name := fmt.Sprintf("%dx%d/%dto%d", h, w, ci, co)
			t.Run(name, func(t *testing.T) {
				wt := RandomConv(rng, ci, co)
				// A negative bias on some channels makes the ReLU cut.
				for o := 0; o < co; o += 3 {
					wt.Bias[o] = -0.5
				}
				in := RandomSlice(rng, ci*h*w, 1)
				dOut := RandomSlice(rng, co*h*w, 1)
				inCopy := append([]float32(nil), in...)
				dOutCopy := append([]float32(nil), dOut...)
				kernCopy := append([]float32(nil), wt.Kernel...)

				conv := k.NewConv(wt, h, w)
				out := make([]float32, co*h*w)
				fillNaN(out)
				conv.Forward(out, in)
				want := RefConvForward(wt, in, h, w)
				if e := RelErr(out, want); e > Tol {
					t.Errorf("Forward: relative error %.3g > %g", e, Tol)
				}
				// Where the pre-activation is clearly negative the ReLU must give exactly 0.
				lin := RefConvLinear(wt, in, h, w)
				for i, v := range out {
					if v < 0 || (lin[i] < -1e-3 && v != 0) {
						t.Errorf("Forward: out[%d] = %g, want ReLU output %g", i, v, want[i])
						break
					}
				}
				out2 := make([]float32, co*h*w)
				conv.Forward(out2, in)
				if !same(out, out2) {
					t.Errorf("Forward: second call gives a different result")
				}

				dIn := make([]float32, ci*h*w)
				fillNaN(dIn)
				conv.BackwardInput(dIn, dOut)
				if e := RelErr(dIn, RefConvBackwardInput(wt, dOut, h, w)); e > Tol {
					t.Errorf("BackwardInput: relative error %.3g > %g", e, Tol)
				}
				dIn2 := make([]float32, ci*h*w)
				conv.BackwardInput(dIn2, dOut)
				if !same(dIn, dIn2) {
					t.Errorf("BackwardInput: second call gives a different result")
				}
				if !same(in, inCopy) || !same(dOut, dOutCopy) || !same(wt.Kernel, kernCopy) {
					t.Errorf("inputs or weights were modified")
				}
			})
		}
	}
}

var gramShapes = [][2]int{{1, 1}, {3, 5}, {4, 1073}, {13, 37}, {17, 3}, {64, 1073}, {65, 129}}

func testGram(t *testing.T, k nn.Kernels) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range gramShapes {
		c, n := s[0], s[1]
		t.Run(fmt.Sprintf("%dx%d", c, n), func(t *testing.T) {
			f := RandomSlice(rng, c*n, 1)
			// Post-ReLU features are non-negative: half of the cases use them.
			if c%2 == 1 {
				for i, v := range f {
					f[i] = float32(math.Abs(float64(v)))
				}
			}
			fCopy := append([]float32(nil), f...)
			scale := float32(1 / float64(c*n))
			g := make([]float32, c*c)
			fillNaN(g)
			k.Gram(g, f, c, n, scale)
			if e := RelErr(g, RefGram(f, c, n, float64(scale))); e > Tol {
				t.Errorf("Gram: relative error %.3g > %g", e, Tol)
			}
			// An asymmetric dg checks that both dg and its transpose are used.
			dg := RandomSlice(rng, c*c, 1)
			dgCopy := append([]float32(nil), dg...)
			df := make([]float32, c*n)
			fillNaN(df)
			k.GramBackward(df, dg, f, c, n, scale)
			ref := RefGramBackward(dg, f, c, n, float64(scale))
			if e := RelErr(df, ref); e > Tol {
				t.Errorf("GramBackward: relative error %.3g > %g", e, Tol)
			}
			// GramBackwardAdd onto values of the gradient's size, so that
			// an error in either part shows.
			var big float64
			for _, v := range ref {
				big = max(big, math.Abs(v))
			}
			base := RandomSlice(rng, c*n, big)
			copy(df, base)
			k.GramBackwardAdd(df, dg, f, c, n, scale)
			for i := range ref {
				ref[i] += float64(base[i])
			}
			if e := RelErr(df, ref); e > Tol {
				t.Errorf("GramBackwardAdd: relative error %.3g > %g", e, Tol)
			}
			if !same(f, fCopy) || !same(dg, dgCopy) {
				t.Errorf("inputs were modified")
			}
		})
	}
}

func testAllocs(t *testing.T, k nn.Kernels) {
	rng := rand.New(rand.NewPCG(5, 6))
	const h, w, ci, co = 29, 37, 16, 32
	conv := k.NewConv(RandomConv(rng, ci, co), h, w)
	in := RandomSlice(rng, ci*h*w, 1)
	out := make([]float32, co*h*w)
	g := make([]float32, co*co)
	df := make([]float32, co*h*w)
	cases := []struct {
		name string
		f    func()
	}{
		{"Forward", func() { conv.Forward(out, in) }},
		{"BackwardInput", func() { conv.BackwardInput(in, out) }},
		{"Gram", func() { k.Gram(g, out, co, h*w, 1) }},
		{"GramBackward", func() { k.GramBackward(df, g, out, co, h*w, 1) }},
		{"GramBackwardAdd", func() { k.GramBackwardAdd(df, g, out, co, h*w, 1) }},
	}
	for _, c := range cases {
		c.f() // first calls may set up lazily
		if a := testing.AllocsPerRun(20, c.f); a > 0 {
			t.Errorf("%s: %v allocations per call, want 0", c.name, a)
		}
	}
}

// LayerShape is one convolution's shape: In -> Out channels on Size x Size.
type LayerShape struct {
	Name          string
	In, Out, Size int
}

// VGGLayers are the distinct convolution shapes of VGG-19 through conv5_2
// at a 256x256 input.
var VGGLayers = []LayerShape{
	{"conv1_1", 3, 64, 256},
	{"conv1_2", 64, 64, 256},
	{"conv2_1", 64, 128, 128},
	{"conv2_2", 128, 128, 128},
	{"conv3_1", 128, 256, 64},
	{"conv3_2", 256, 256, 64},
	{"conv4_1", 256, 512, 32},
	{"conv4_2", 512, 512, 32},
	{"conv5_1", 512, 512, 16},
}

// BenchmarkKernels measures k on VGG-19's layer shapes at 256x256, reporting
// GFLOP/s (2 FLOPs per multiply-add).
func BenchmarkKernels(b *testing.B, k nn.Kernels) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, l := range VGGLayers {
		wt := RandomConv(rng, l.In, l.Out)
		n := l.Size * l.Size
		in := RandomSlice(rng, l.In*n, 1)
		out := make([]float32, l.Out*n)
		flops := 2 * 9 * float64(l.In) * float64(l.Out) * float64(n)
		conv := k.NewConv(wt, l.Size, l.Size)
		b.Run(fmt.Sprintf("Forward/%s", l.Name), func(b *testing.B) {
			for b.Loop() {
				conv.Forward(out, in)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("BackwardInput/%s", l.Name), func(b *testing.B) {
			for b.Loop() {
				conv.BackwardInput(in, out)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	for _, s := range [][2]int{{64, 256 * 256}, {256, 64 * 64}, {512, 16 * 16}} {
		c, n := s[0], s[1]
		f := RandomSlice(rng, c*n, 1)
		g := make([]float32, c*c)
		df := make([]float32, c*n)
		flops := 2 * float64(c) * float64(c) * float64(n)
		b.Run(fmt.Sprintf("Gram/%dx%d", c, n), func(b *testing.B) {
			for b.Loop() {
				k.Gram(g, f, c, n, 1)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(fmt.Sprintf("GramBackward/%dx%d", c, n), func(b *testing.B) {
			for b.Loop() {
				k.GramBackward(df, g, f, c, n, 1)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

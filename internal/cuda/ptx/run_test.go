package ptx

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// These tests run the generated PTX on the interpreter of interp_test.go
// and ask for the Go code's results bit for bit.

func entries(t *testing.T) map[string]*entry {
	t.Helper()
	return parseModule(t, Module(DefaultTarget, Kernels()))
}

// launchFor is the threads of a launch covering n in blocks of 64, plus a
// partial block's worth of extra threads that must do nothing.
func launchFor(n int) int { return (n + 63) / 64 * 64 }

// specials are values an element-wise kernel must get right.
var specials = []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, 1e-38, -3, 3,
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30}

func randomValues(rng *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (rng.Float32()*2 - 1) * scale
	}
	return v
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	bad := 0
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v (%#08x), want %v (%#08x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(want))
	}
}

// guarded adds a sentinel element after a buffer of n, which no kernel may
// write.
const sentinel = float32(-12345.5)

func TestAdamStepMatchesStylize(t *testing.T) {
	e := entries(t)["adam_step"]
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1000
	p := engine.AdamSettings{LearningRate: 10, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
	x := randomValues(rng, n, 100)
	want := append([]float32(nil), x...)
	ref := stylize.NewAdam(n, p)
	m := &machine{}
	xa, ma, va, ga := m.alloc(4*n+4), m.alloc(4*n+4), m.alloc(4*n+4), m.alloc(4*n+4)
	m.putF32(xa, append(x, sentinel))
	m.putF32(ma, append(make([]float32, n), sentinel))
	m.putF32(va, append(make([]float32, n), sentinel))
	// The host's part, as stylize computes it: beta^t in float32 and lr_t.
	lr, b1, b2 := float32(p.LearningRate), float32(p.Beta1), float32(p.Beta2)
	b1p, b2p := b1, b2
	for step := 0; step < 4; step++ {
		g := randomValues(rng, n, 5)
		copy(g, specials[:min(len(specials), step*3)]) // specials only in later steps
		ref.Step(want, g)
		m.putF32(ga, append(g, sentinel))
		lrT := lr * float32(math.Sqrt(float64(1-b2p))) / (1 - b1p)
		e.launch(t, m, launchFor(n), 64, map[string]any{
			"x": xa, "m": ma, "v": va, "g": ga, "n": uint64(n),
			"lr_t": lrT, "one_minus_beta1": 1 - b1, "one_minus_beta2": 1 - b2, "eps": float32(p.Epsilon)})
		b1p *= b1
		b2p *= b2
		sameBits(t, "x", m.getF32(xa, n), want)
	}
	for _, a := range []uint64{xa, ma, va} {
		if v := m.getF32(a+4*n, 1)[0]; v != sentinel {
			t.Errorf("element n written: %v", v)
		}
	}
}

func TestReLUBiasForward(t *testing.T) {
	e := entries(t)["relu_bias_forward"]
	rng := rand.New(rand.NewPCG(3, 4))
	const c, hw = 5, 37
	n := c * hw
	x := randomValues(rng, n, 2)
	copy(x[3:], specials)
	bias := randomValues(rng, c, 1)
	bias[0] = 0 // x[3:] + 0 keeps the specials, -0 among them
	want := make([]float32, n)
	for i, v := range x {
		want[i] = max(0, v+bias[i/hw]) // as package nn's convolutions end
	}
	for _, inPlace := range []bool{false, true} {
		m := &machine{}
		xa, ba := m.alloc(4*n+4), m.alloc(4*c)
		ya := xa
		if !inPlace {
			ya = m.alloc(4*n + 4)
			m.putF32(ya+4*uint64(n), []float32{sentinel})
		}
		m.putF32(xa, append(append([]float32(nil), x...), sentinel))
		m.putF32(ba, bias)
		e.launch(t, m, launchFor(n), 64, map[string]any{
			"y": ya, "x": xa, "bias": ba, "n": uint64(n), "hw": uint64(hw), "channels": uint64(c)})
		sameBits(t, "y", m.getF32(ya, n), want)
		if v := m.getF32(ya+4*uint64(n), 1)[0]; v != sentinel {
			t.Errorf("element n written: %v", v)
		}
	}
}

func TestReLUMaskMatchesNN(t *testing.T) {
	mask, backward := entries(t)["relu_mask"], entries(t)["relu_backward_mask"]
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 31, 32, 33, 64, 1000} {
		act := randomValues(rng, n, 1)
		copy(act, specials[:min(n, len(specials))])
		words64 := make([]uint64, (n+63)/64)
		nn.PositiveMask(words64, act)
		words := (n + 31) / 32
		m := &machine{}
		ma, aa := m.alloc(4*words+4), m.alloc(4*n)
		m.putU32(ma+4*uint64(words), []uint32{0xdeadbeef})
		m.putF32(aa, act)
		mask.launch(t, m, launchFor(words), 64, map[string]any{"mask": ma, "act": aa, "n": uint64(n)})
		got := m.getU32(ma, words+1)
		for w := 0; w < words; w++ {
			want := uint32(words64[w/2] >> (32 * (w % 2)))
			if got[w] != want {
				t.Errorf("n=%d: mask word %d = %#08x, want %#08x", n, w, got[w], want)
			}
		}
		if got[words] != 0xdeadbeef {
			t.Errorf("n=%d: word after the mask written", n)
		}

		d := randomValues(rng, n, 3)
		want := append([]float32(nil), d...)
		nn.ReLUBackwardMask(want, words64)
		da := m.alloc(4*n + 4)
		m.putF32(da, append(d, sentinel))
		backward.launch(t, m, launchFor(n), 64, map[string]any{"d": da, "mask": ma, "n": uint64(n)})
		sameBits(t, "d", m.getF32(da, n), want)
		if v := m.getF32(da+4*uint64(n), 1)[0]; v != sentinel {
			t.Errorf("n=%d: element n written: %v", n, v)
		}
	}
}

// tvGradScatter is package native's tvGrad loop (native.go), which
// scatters each difference to its two pixels, row by row: the kernel
// gathers them per element and must add them in the same order.
func tvGradScatter(grad, x []float32, h, w int, cy, cx float32) {
	for y := 0; y < h; y++ {
		row := x[y*w*3:][:w*3]
		grow := grad[y*w*3:][:w*3]
		if y+1 < h {
			next := x[(y+1)*w*3:][:w*3]
			gnext := grad[(y+1)*w*3:][:w*3]
			for i, v := range row {
				d := cy * (next[i] - v)
				gnext[i] += d
				grow[i] -= d
			}
		}
		for i := 3; i < len(row); i++ {
			d := cx * (row[i] - row[i-3])
			grow[i] += d
			grow[i-3] -= d
		}
	}
}

func runTVGrad(t *testing.T, grad, x []float32, h, w int, cy, cx float32) []float32 {
	e := entries(t)["tv_grad"]
	n := h * w * 3
	m := &machine{}
	ga, xa := m.alloc(4*n+4), m.alloc(4*n)
	m.putF32(ga, append(append([]float32(nil), grad...), sentinel))
	m.putF32(xa, x)
	e.launch(t, m, launchFor(n), 64, map[string]any{
		"grad": ga, "x": xa, "h": uint64(h), "w": uint64(w), "cy": cy, "cx": cx})
	if v := m.getF32(ga+4*uint64(n), 1)[0]; v != sentinel {
		t.Errorf("%dx%d: element n written: %v", h, w, v)
	}
	return m.getF32(ga, n)
}

func TestTVGradOrderOfAdditions(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][2]int{{1, 1}, {1, 5}, {6, 1}, {2, 2}, {7, 9}, {16, 13}} {
		h, w := s[0], s[1]
		n := h * w * 3
		x := randomValues(rng, n, 150)
		g0 := randomValues(rng, n, 1)
		cy, cx := float32(0.37), float32(1.3e-3)
		want := append([]float32(nil), g0...)
		tvGradScatter(want, x, h, w, cy, cx)
		sameBits(t, "grad", runTVGrad(t, g0, x, h, w, cy, cx), want)
	}
}

// TestTVGradMatchesNative asks package native itself: with the content and
// style weights 0 its gradient is the TV loss's alone.
func TestTVGradMatchesNative(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const h, w = 13, 11
	spec := &engine.Spec{
		Content:           vggtest.RandomImage(rng, h, w),
		Styles:            []engine.Image{vggtest.RandomImage(rng, 9, 14)},
		ContentLayers:     []engine.LayerWeight{{Layer: "relu4_2", Weight: 1}},
		StyleBlendWeights: []float64{1},
		StyleLayers:       []engine.LayerWeight{{Layer: "relu1_1", Weight: 1}},
		TVWeight:          100,
	}
	eng := native.New(vggtest.RandomWeights(rng, vggtest.TinyWidths), native.DefaultKernels())
	p, err := eng.NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := vggtest.RandomImage(rng, h, w)
	want := make([]float32, h*w*3)
	if _, err := p.Eval(&x, want); err != nil {
		t.Fatal(err)
	}
	// The host's constants, as native computes them.
	ny, nx := float32((h-1)*w*3), float32(h*(w-1)*3)
	cy, cx := 2*float32(spec.TVWeight)/ny, 2*float32(spec.TVWeight)/nx
	got := runTVGrad(t, make([]float32, h*w*3), x.Pix, h, w, cy, cx)
	nonzero := 0
	for _, v := range want {
		if v != 0 {
			nonzero++
		}
	}
	if nonzero < len(want)/2 {
		t.Fatalf("native's gradient has only %d nonzero values of %d", nonzero, len(want))
	}
	// Both start from zero: native's network gradient is +0 or -0 with no
	// loss weight, and 0 + d and -0 + d are both d.
	sameBits(t, "grad", got, want)
}

package stylize

import (
	"math"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// Adam is TensorFlow 1's AdamOptimizer in its epsilon-hat form, in float32
// like the reference's ResourceApplyAdam kernel:
//
//	lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//	m += (g - m) * (1 - beta1)
//	v += (g*g - v) * (1 - beta2)
//	x -= m * lr_t / (sqrt(v) + eps)
type Adam struct {
	settings              engine.AdamSettings
	lr, beta1, beta2, eps float32
	// beta1Power and beta2Power are beta^t, accumulated in float32 as
	// TensorFlow's slot variables are.
	beta1Power, beta2Power float32
	m, v                   []float32
}

// NewAdam returns the optimiser for n values with zero moments.
func NewAdam(n int, p engine.AdamSettings) *Adam {
	return &Adam{
		settings: p,
		lr:       float32(p.LearningRate), beta1: float32(p.Beta1), beta2: float32(p.Beta2), eps: float32(p.Epsilon),
		beta1Power: float32(p.Beta1), beta2Power: float32(p.Beta2),
		m: make([]float32, n), v: make([]float32, n),
	}
}

// Step applies one update to x with gradient g.
func (a *Adam) Step(x, g []float32) {
	if len(x) != len(a.m) || len(g) != len(a.m) {
		panic("stylize: adam step with mismatched lengths")
	}
	lrT := a.lr * float32(math.Sqrt(float64(1-a.beta2Power))) / (1 - a.beta1Power)
	oneMinusB1, oneMinusB2 := 1-a.beta1, 1-a.beta2
	m, v := a.m, a.v
	// The explicit float32 conversions round every product as TensorFlow's
	// kernel does: without them Go may fuse multiply-adds (arm64,
	// GOAMD64=v3) and the results would depend on the build target.
	for i, gi := range g {
		m[i] += float32((gi - m[i]) * oneMinusB1)
		v[i] += float32((float32(gi*gi) - v[i]) * oneMinusB2)
		x[i] -= float32(m[i]*lrT) / (float32(math.Sqrt(float64(v[i]))) + a.eps)
	}
	a.beta1Power *= a.beta1
	a.beta2Power *= a.beta2
}

// carryAdamMoments makes a coarse-to-fine run carry Adam's moments and
// step count to the next scale, resampled, instead of starting a fresh
// Adam. Off: measure_test.go measures both (see the README).
var carryAdamMoments = false

// resampled is a copy of a for an image of w1 x h1 pixels, its moments
// resized bilinearly from w0 x h0 and its step count kept.
func (a *Adam) resampled(w0, h0, w1, h1 int) *Adam {
	b := NewAdam(w1*h1*3, a.settings)
	b.beta1Power, b.beta2Power = a.beta1Power, a.beta2Power
	bilinear(b.m, a.m, w0, h0, w1, h1)
	bilinear(b.v, a.v, w0, h0, w1, h1)
	return b
}

// bilinear resizes the HWC image src (w0 x h0 x 3) into dst (w1 x h1 x 3),
// pixel centres aligned.
func bilinear(dst, src []float32, w0, h0, w1, h1 int) {
	coord := func(i, n0, n1 int) (int, int, float32) {
		f := (float64(i)+0.5)*float64(n0)/float64(n1) - 0.5
		f = math.Max(0, math.Min(f, float64(n0-1)))
		lo := int(f)
		hi := min(lo+1, n0-1)
		return lo, hi, float32(f - float64(lo))
	}
	for y := range h1 {
		y0, y1, fy := coord(y, h0, h1)
		for x := range w1 {
			x0, x1, fx := coord(x, w0, w1)
			for c := range 3 {
				at := func(yy, xx int) float32 { return src[(yy*w0+xx)*3+c] }
				top := at(y0, x0)*(1-fx) + at(y0, x1)*fx
				bot := at(y1, x0)*(1-fx) + at(y1, x1)*fx
				dst[(y*w1+x)*3+c] = top*(1-fy) + bot*fy
			}
		}
	}
}

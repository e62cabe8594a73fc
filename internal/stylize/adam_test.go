package stylize

import (
	"math"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// TestAdamMatchesFormula checks the update against the TF1 formula computed
// in float64 (differences are float32 rounding only), including the bias
// correction over several steps.
func TestAdamMatchesFormula(t *testing.T) {
	p := engine.AdamSettings{LearningRate: 10, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
	x := []float32{1, -2, 0.5, 100}
	x64 := []float64{1, -2, 0.5, 100}
	m64, v64 := make([]float64, 4), make([]float64, 4)
	a := NewAdam(4, p)
	for step := 1; step <= 5; step++ {
		g := []float32{0.3 * float32(step), -1, 1e-3, 50}
		a.Step(x, g)
		lrT := p.LearningRate * math.Sqrt(1-math.Pow(p.Beta2, float64(step))) / (1 - math.Pow(p.Beta1, float64(step)))
		for i := range x64 {
			gi := float64(g[i])
			m64[i] = p.Beta1*m64[i] + (1-p.Beta1)*gi
			v64[i] = p.Beta2*v64[i] + (1-p.Beta2)*gi*gi
			x64[i] -= lrT * m64[i] / (math.Sqrt(v64[i]) + p.Epsilon)
		}
		for i := range x {
			if d := math.Abs(float64(x[i]) - x64[i]); d > 1e-4*math.Max(1, math.Abs(x64[i])) {
				t.Fatalf("step %d: x[%d] = %v, want %v", step, i, x[i], x64[i])
			}
		}
	}
	// The first step of Adam moves each coordinate by about lr.
	b := NewAdam(1, p)
	y := []float32{0}
	b.Step(y, []float32{123})
	if math.Abs(float64(y[0])+10) > 1e-3 {
		t.Errorf("first step moved 0 to %v, want about -10", y[0])
	}
}

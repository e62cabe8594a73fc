package optim

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkStep is one L-BFGS iteration with a full history on a 256x256
// image: 4 passes over every pair (two dots, two updates), memory-bound.
// It reports the bytes of history read per second.
func BenchmarkStep(b *testing.B) {
	for _, history := range []int{5, 20} {
		b.Run(fmt.Sprintf("256x256/history%d", history), func(b *testing.B) {
			n := 3 * 256 * 256
			o, err := NewLBFGS(n, LBFGSOptions{History: history, LearningRate: 1})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			x, g := make([]float32, n), make([]float32, n)
			scale := make([]float32, n) // a diagonal quadratic, so pairs are kept
			for i := range x {
				x[i], scale[i] = float32(rng.NormFloat64()), float32(1+rng.Float64())
			}
			grad := func() {
				for i := range g {
					g[i] = scale[i] * x[i]
				}
			}
			for range history + 1 {
				grad()
				o.Step(x, g)
			}
			b.SetBytes(int64(4 * 4 * n * o.Pairs()))
			b.ResetTimer()
			for b.Loop() {
				grad()
				o.Step(x, g)
			}
		})
	}
}

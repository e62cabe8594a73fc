package optim

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkStep is one L-BFGS iteration with a full history: 2 passes
// over every pair (each update fused with the next dot product). It
// reports the bytes of history read per second.
func BenchmarkStep(b *testing.B) {
	for _, c := range []struct{ size, history int }{{256, 5}, {256, 20}, {512, 100}} {
		history := c.history
		b.Run(fmt.Sprintf("%dx%d/history%d", c.size, c.size, history), func(b *testing.B) {
			n := 3 * c.size * c.size
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
			b.SetBytes(int64(2 * 2 * 4 * n * o.Pairs()))
			b.ResetTimer()
			for b.Loop() {
				grad()
				o.Step(x, g)
			}
		})
	}
}

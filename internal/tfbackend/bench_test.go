//go:build tensorflow

package tfbackend

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// benchProblem builds the problem the native engine's benchmarks use:
// full-size random weights, one style, content and style of size x size.
func benchProblem(b *testing.B, size int) (*problem, engine.Image) {
	rng := rand.New(rand.NewPCG(1, 2))
	wt := vggtest.RandomWeights(rng, vggtest.FullWidths)
	spec := vggtest.BenchSpec(rng, size)
	e, err := New(wt)
	if err != nil {
		b.Fatal(err)
	}
	p, err := e.NewProblem(spec)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p.(*problem), vggtest.RandomImage(rng, size, size)
}

// BenchmarkStep measures one iteration of the loop as this backend runs it:
// Step (forward and backward through relu5_2, ResourceApplyAdam, the image
// copied in and out).
func BenchmarkStep(b *testing.B) {
	for _, size := range []int{256, 512} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p, x := benchProblem(b, size)
			opt := engine.AdamSettings{LearningRate: 10, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
			if err := p.Step(&x, opt); err != nil { // TensorFlow prepares the step's graph at its first run
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if err := p.Step(&x, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/iter")
		})
	}
}

// BenchmarkEval measures Eval with the gradient, what the native engine's
// BenchmarkIteration measures.
func BenchmarkEval(b *testing.B) {
	for _, size := range []int{256, 512} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p, x := benchProblem(b, size)
			grad := make([]float32, len(x.Pix))
			if _, err := p.Eval(&x, grad); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := p.Eval(&x, grad); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/iter")
		})
	}
}

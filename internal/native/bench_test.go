package native

import (
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// benchIteration measures one Eval with gradient (forward and backward
// through relu5_2, five Grams) with full-size random weights.
func benchIteration(b *testing.B, k nn.Kernels, size int) {
	rng := rand.New(rand.NewPCG(1, 2))
	wt := vggtest.RandomWeights(rng, vggtest.FullWidths)
	spec := vggtest.BenchSpec(rng, size)
	prob, err := New(wt, k).NewProblem(spec)
	if err != nil {
		b.Fatal(err)
	}
	defer prob.Close()
	x := vggtest.RandomImage(rng, size, size)
	grad := make([]float32, len(x.Pix))
	if _, err := prob.Eval(&x, grad); err != nil { // sizes the lazy buffers
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := prob.Eval(&x, grad); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/iter")
	b.ReportMetric((processCPU()-cpu0)/float64(b.N), "cpu-s/iter")
	b.ReportMetric(vggtest.IterationFLOPs(wt, size, size)/sec/1e9, "GFLOP/s")
}

// benchKernels runs the iteration benchmark on the portable kernels and,
// where they differ, on the default ones.
func benchKernels(b *testing.B, size int) {
	ks := []nn.Kernels{nn.Portable()}
	if d := DefaultKernels(); d.Name() != ks[0].Name() {
		ks = append(ks, d)
	}
	for _, k := range ks {
		b.Run(k.Name(), func(b *testing.B) { benchIteration(b, k, size) })
	}
}

func BenchmarkIteration256(b *testing.B) { benchKernels(b, 256) }
func BenchmarkIteration512(b *testing.B) { benchKernels(b, 512) }

// benchTiled measures one Eval of BenchSpec at size with full-size random
// weights on the default kernels, under opt.
func benchTiled(b *testing.B, size int, opt Options) {
	rng := rand.New(rand.NewPCG(1, 2))
	wt := vggtest.RandomWeights(rng, vggtest.FullWidths)
	prob, err := NewWithOptions(wt, DefaultKernels(), opt).NewProblem(vggtest.BenchSpec(rng, size))
	if err != nil {
		b.Fatal(err)
	}
	defer prob.Close()
	x := vggtest.RandomImage(rng, size, size)
	grad := make([]float32, len(x.Pix))
	if _, err := prob.Eval(&x, grad); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := prob.Eval(&x, grad); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/iter")
}

// BenchmarkTiled512 compares an untiled iteration at 512x512 with ones
// tiled through pool2 in 2x2 and 4x4 tiles.
func BenchmarkTiled512(b *testing.B) {
	for _, c := range []struct {
		name string
		opt  Options
	}{{"untiled", Options{}}, {"pool2-2x2", Options{Depth: 4, Tile: 64}}, {"pool2-4x4", Options{Depth: 4, Tile: 32}}} {
		b.Run(c.name, func(b *testing.B) { benchTiled(b, 512, c.opt) })
	}
}

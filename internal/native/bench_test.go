package native

import (
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// vggWidths are the real VGG-19's block widths.
var vggWidths = [5]int{64, 128, 256, 512, 512}

// convFLOPs counts 2 FLOPs per multiply-add of the convolutions of one
// iteration through relu5_2: forward, and backward to the input.
func convFLOPs(wt *vgg.Weights, h, w int) float64 {
	var f float64
	for i := 0; i <= 13; i++ {
		if i == 2 || i == 4 || i == 8 || i == 12 {
			h, w = nn.PoolSize(h), nn.PoolSize(w)
		}
		f += 2 * 2 * 9 * float64(wt.Conv[i].In*wt.Conv[i].Out*h*w)
	}
	return f
}

// benchIteration measures one Eval with gradient (forward and backward
// through relu5_2, five Grams) with full-size random weights.
func benchIteration(b *testing.B, k nn.Kernels, size int) {
	rng := rand.New(rand.NewPCG(1, 2))
	wt := randomWeights(rng, vggWidths)
	spec := &engine.Spec{
		Content:             randomImage(rng, size, size),
		Styles:              []engine.Image{randomImage(rng, size, size)},
		ContentWeight:       5,
		ContentLayerWeights: [2]float64{0.5, 0.5},
		StyleWeight:         500,
		StyleBlendWeights:   []float64{1},
		StyleLayerWeights:   [5]float64{0.2, 0.2, 0.2, 0.2, 0.2},
		TVWeight:            100,
	}
	prob, err := New(wt, k).NewProblem(spec)
	if err != nil {
		b.Fatal(err)
	}
	defer prob.Close()
	x := randomImage(rng, size, size)
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
	b.ReportMetric(convFLOPs(wt, size, size)/sec/1e9, "GFLOP/s")
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

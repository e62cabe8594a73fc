package fast

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// layers are VGG-19's distinct convolution shapes at a 256x256 input and a
// few at 512x512.
var layers = append(append([]nntest.LayerShape(nil), nntest.VGGLayers...),
	nntest.LayerShape{Name: "conv1_2@512", In: 64, Out: 64, Size: 512},
	nntest.LayerShape{Name: "conv3_2@512", In: 256, Out: 256, Size: 128},
	nntest.LayerShape{Name: "conv4_2@512", In: 512, Out: 512, Size: 64},
)

// gramShapes are the Gram matrices' (channels, pixels) at 256x256.
var gramShapes = [][2]int{{64, 256 * 256}, {128, 128 * 128}, {256, 64 * 64}, {512, 32 * 32}, {512, 16 * 16}}

// best returns the shortest of reps timings of f: the machine is shared,
// and the fastest run is the one least disturbed.
func best(reps int, f func()) time.Duration {
	f()
	d := time.Duration(1 << 62)
	for range reps {
		t := time.Now()
		f()
		d = min(d, time.Since(t))
	}
	return d
}

// reps is the number of timed calls per measurement.
const reps = 8

// benchShapes reports, per variant, layer and Gram shape, the GFLOP rate
// (metrics fwd<unit> and bwd<unit>) of the fastest of several calls, timed
// by seconds: wall time (BenchmarkBest) or process CPU time (BenchmarkCPU).
func benchShapes(b *testing.B, seconds func(reps int, f func()) float64, unit string) {
	rng := rand.New(rand.NewPCG(9, 10))
	report := func(b *testing.B, flops float64, fwd, bwd func()) {
		var tf, tb float64
		for b.Loop() {
			tf, tb = seconds(reps, fwd), seconds(reps, bwd)
		}
		b.ReportMetric(flops/tf/1e9, "fwd"+unit)
		b.ReportMetric(flops/tb/1e9, "bwd"+unit)
	}
	for _, k := range Variants() {
		for _, l := range layers {
			b.Run(fmt.Sprintf("%s/%s", k.Name(), l.Name), func(b *testing.B) {
				n := l.Size * l.Size
				conv := k.NewConv(nntest.RandomConv(rng, l.In, l.Out), l.Size, l.Size)
				in := nntest.RandomSlice(rng, l.In*n, 1)
				out := make([]float32, l.Out*n)
				report(b, 2*9*float64(l.In*l.Out)*float64(n),
					func() { conv.Forward(out, in) }, func() { conv.BackwardInput(in, out) })
			})
		}
		for _, s := range gramShapes {
			c, n := s[0], s[1]
			b.Run(fmt.Sprintf("%s/gram%dx%d", k.Name(), c, n), func(b *testing.B) {
				f := nntest.RandomSlice(rng, c*n, 1)
				g := make([]float32, c*c)
				df := make([]float32, c*n)
				report(b, 2*float64(c*c)*float64(n),
					func() { k.Gram(g, f, c, n, 1) }, func() { k.GramBackward(df, g, f, c, n, 1) })
			})
		}
	}
}

// BenchmarkBest reports the GFLOP/s of the fastest of several calls by wall
// time, which is steadier than the mean on a loaded machine.
func BenchmarkBest(b *testing.B) {
	benchShapes(b, func(reps int, f func()) float64 { return best(reps, f).Seconds() }, "GFLOP/s")
}

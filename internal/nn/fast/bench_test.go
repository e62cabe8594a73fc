package fast

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// layers are VGG-19's distinct convolution shapes at a 256x256 input
// (size s) and a few at 512x512.
var layers = []struct {
	name      string
	ci, co, s int
}{
	{"conv1_1", 3, 64, 256},
	{"conv1_2", 64, 64, 256},
	{"conv2_1", 64, 128, 128},
	{"conv2_2", 128, 128, 128},
	{"conv3_1", 128, 256, 64},
	{"conv3_2", 256, 256, 64},
	{"conv4_1", 256, 512, 32},
	{"conv4_2", 512, 512, 32},
	{"conv5_1", 512, 512, 16},
	{"conv1_2@512", 64, 64, 512},
	{"conv3_2@512", 256, 256, 128},
	{"conv4_2@512", 512, 512, 64},
}

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

// BenchmarkBest reports, per variant and layer, the GFLOP/s of the fastest
// of several calls (metric fwd and bwd), which is steadier than the mean on
// a loaded machine.
func BenchmarkBest(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range Variants() {
		for _, l := range layers {
			b.Run(fmt.Sprintf("%s/%s", k.Name(), l.name), func(b *testing.B) {
				n := l.s * l.s
				conv := k.NewConv(nntest.RandomConv(rng, l.ci, l.co), l.s, l.s)
				in := nntest.RandomSlice(rng, l.ci*n, 1)
				out := make([]float32, l.co*n)
				flops := 2 * 9 * float64(l.ci*l.co) * float64(n)
				var fwd, bwd time.Duration
				for b.Loop() {
					fwd = best(reps, func() { conv.Forward(out, in) })
					bwd = best(reps, func() { conv.BackwardInput(in, out) })
				}
				b.ReportMetric(flops/fwd.Seconds()/1e9, "fwdGFLOP/s")
				b.ReportMetric(flops/bwd.Seconds()/1e9, "bwdGFLOP/s")
			})
		}
		for _, s := range [][2]int{{64, 256 * 256}, {128, 128 * 128}, {256, 64 * 64}, {512, 32 * 32}, {512, 16 * 16}} {
			c, n := s[0], s[1]
			b.Run(fmt.Sprintf("%s/gram%dx%d", k.Name(), c, n), func(b *testing.B) {
				f := nntest.RandomSlice(rng, c*n, 1)
				g := make([]float32, c*c)
				df := make([]float32, c*n)
				flops := 2 * float64(c*c) * float64(n)
				var fwd, bwd time.Duration
				for b.Loop() {
					fwd = best(reps, func() { k.Gram(g, f, c, n, 1) })
					bwd = best(reps, func() { k.GramBackward(df, g, f, c, n, 1) })
				}
				b.ReportMetric(flops/fwd.Seconds()/1e9, "fwdGFLOP/s")
				b.ReportMetric(flops/bwd.Seconds()/1e9, "bwdGFLOP/s")
			})
		}
	}
}

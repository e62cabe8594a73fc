//go:build linux && amd64 && !purego

package fast

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

func BenchmarkWinoSweep(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	k := Variants()[0]
	for _, l := range []nntest.LayerShape{layers[1], layers[3], layers[10], layers[11]} {
		n := l.Size * l.Size
		wt := nntest.RandomConv(rng, l.In, l.Out)
		in := nntest.RandomSlice(rng, l.In*n, 1)
		out := make([]float32, l.Out*n)
		flops := 2 * 9 * float64(l.In*l.Out) * float64(n)
		for _, bb := range []int{256 << 10, 512 << 10, 1 << 20, 2 << 20} {
			wv := *k.(*kernels).v
			wv.winoBandBytes = bb
			c := newKernels(&wv).NewConv(wt, l.Size, l.Size)
			b.Run(fmt.Sprintf("%s/%dk", l.Name, bb>>10), func(b *testing.B) {
				var f, g float64
				for b.Loop() {
					f = bestCPU(3, func() { c.Forward(out, in) })
					g = bestCPU(3, func() { c.BackwardInput(in, out) })
				}
				b.ReportMetric(flops/f/1e9, "fwd")
				b.ReportMetric(flops/g/1e9, "bwd")
			})
		}
	}
}

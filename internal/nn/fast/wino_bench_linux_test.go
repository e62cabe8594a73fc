//go:build linux && amd64 && !purego

package fast

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// BenchmarkWinoBands compares Winograd's band sizes (V and M bytes per
// worker) on a few layers, GFLOP (direct-equivalent) per CPU-second.
func BenchmarkWinoBands(b *testing.B) {
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

// BenchmarkWinograd compares, per VGG layer shape and direction, the
// direct kernels with Winograd's (direct-equivalent GFLOP/s, best of
// several timings by process CPU time, per core), alternating the two.
func BenchmarkWinograd(b *testing.B) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, k := range Variants() {
		wv := *k.(*kernels).v
		wv.winoMinChan, wv.winoMinWidth = 1, 1
		dv := wv
		dv.winoIn = nil
		kw, kd := newKernels(&wv), newKernels(&dv)
		for _, l := range layers {
			n := l.Size * l.Size
			wt := nntest.RandomConv(rng, l.In, l.Out)
			in := nntest.RandomSlice(rng, l.In*n, 1)
			out := make([]float32, l.Out*n)
			flops := 2 * 9 * float64(l.In*l.Out) * float64(n)
			cw, cd := kw.NewConv(wt, l.Size, l.Size), kd.NewConv(wt, l.Size, l.Size)
			b.Run(fmt.Sprintf("%s/%s", k.Name(), l.Name), func(b *testing.B) {
				r := [4]float64{1e9, 1e9, 1e9, 1e9}
				for b.Loop() {
					for range 3 {
						r[0] = min(r[0], bestCPU(1, func() { cd.Forward(out, in) }))
						r[1] = min(r[1], bestCPU(1, func() { cw.Forward(out, in) }))
						r[2] = min(r[2], bestCPU(1, func() { cd.BackwardInput(in, out) }))
						r[3] = min(r[3], bestCPU(1, func() { cw.BackwardInput(in, out) }))
					}
				}
				for i, name := range []string{"fwdDirect", "fwdWino", "bwdDirect", "bwdWino"} {
					b.ReportMetric(flops/r[i]/1e9, name)
				}
			})
		}
	}
}

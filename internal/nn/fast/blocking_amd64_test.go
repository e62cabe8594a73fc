//go:build amd64 && !purego

package fast

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// TestBlockings runs the conformance suite on the alternative AVX-512
// register blockings that BenchmarkBlocking compares.
func TestBlockings(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no AVX-512")
	}
	for _, kc := range []struct {
		c, p  int
		f, g  func(*convArgs)
		group int
		chunk int
	}{{8, 3, zconv8x3t9, zconv8x3t1, 3, 5}, {8, 2, zconv8x2t9, zconv8x2t1, 1 << 20, 0}, {12, 2, zconv12x2t9, zconv12x2t1, 2, 2}, {4, 6, zconv4x6t9, zconv4x6t1, 1, 0}} {
		v := *avx512Variant
		v.convC, v.convP, v.conv, v.gemm, v.tileGroup, v.inChunk = kc.c, kc.p, kc.f, kc.g, kc.group, kc.chunk
		v.winoIn = nil  // the Winograd GEMM has its own blocking
		v.bandBytes = 1 // the fewest rows per band: many band edges
		t.Run(fmt.Sprintf("%dx%d", kc.c, kc.p), func(t *testing.T) { nntest.TestKernels(t, newKernels(&v)) })
	}
}

// BenchmarkBlocking compares AVX-512 register blockings (output channels x
// vectors) and tile groupings on the forward convolution.
func BenchmarkBlocking(b *testing.B) {
	if !hasAVX512() {
		b.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, l := range layers[1:] {
		n := l.Size * l.Size
		wt := nntest.RandomConv(rng, l.In, l.Out)
		in := nntest.RandomSlice(rng, l.In*n, 1)
		out := make([]float32, l.Out*n)
		flops := 2 * 9 * float64(l.In*l.Out) * float64(n)
		for _, gc := range [][3]int{{1, 0, 1 << 20}, {4, 0, 1 << 20}, {4, 64, 1 << 20}, {4, 0, 256 << 10}, {4, 0, 4 << 20}, {4, 0, 1 << 40}} {
			g, ch, bb := gc[0], gc[1], gc[2]
			v := *avx512Variant
			v.tileGroup, v.inChunk, v.bandBytes = g, ch, bb
			k := newKernels(&v)
			b.Run(fmt.Sprintf("%s/g%d/ic%d/band%dk", l.Name, g, ch, bb>>10), func(b *testing.B) {
				conv := k.NewConv(wt, l.Size, l.Size)
				var d time.Duration
				for b.Loop() {
					d = best(reps, func() { conv.Forward(out, in) })
				}
				b.ReportMetric(flops/d.Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// TestPackedGram runs the conformance suite with GramBackward packing F's
// tiles at every size (the default packs only from 129 rows on, above the
// suite's shapes).
func TestPackedGram(t *testing.T) {
	for _, k := range Variants() {
		v := *k.(*kernels).v
		v.gemmPackRows = 1
		t.Run(k.Name(), func(t *testing.T) { nntest.TestKernels(t, newKernels(&v)) })
	}
}

// TestGramChunks checks Gram on a shape the conformance suite leaves out:
// many rows (not a multiple of the block) and several column chunks, the
// last one partial.
func TestGramChunks(t *testing.T) {
	const c, n = 203, 2100
	rng := rand.New(rand.NewPCG(5, 6))
	f := nntest.RandomSlice(rng, c*n, 1)
	want := make([]float32, c*c)
	gramGo(want, f, c, n, 0.5)
	for _, k := range Variants() {
		t.Run(k.Name(), func(t *testing.T) {
			kk := k.(*kernels)
			v := *kk.v
			v.gramChunkCols = 512 // several chunks at this size
			k2 := newKernels(&v)
			for _, k := range []*kernels{kk, k2} {
				g := make([]float32, c*c)
				k.Gram(g, f, c, n, 0.5)
				for i := range g {
					if d := math.Abs(float64(g[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("g[%d][%d] = %g, want %g", i/c, i%c, g[i], want[i])
					}
				}
			}
		})
	}
}

//go:build linux && amd64 && !purego

package fast

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// cpuSeconds is the CPU time of the whole process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// bestCPU returns the least process CPU time of reps calls of f. On a
// shared machine the CPU time a call consumes varies much less than its
// wall time, so this compares kernels even when other jobs compete for the
// cores (it does not see load imbalance between the workers).
func bestCPU(reps int, f func()) float64 {
	// Batches of calls of at least 50 ms: the kernel's CPU-time accounting
	// of the other threads lags by up to a scheduler tick.
	t := cpuSeconds()
	f()
	n := max(1, int(0.05/max(cpuSeconds()-t, 1e-6)))
	d := 1e9
	for range reps {
		t := cpuSeconds()
		for range n {
			f()
		}
		d = min(d, (cpuSeconds()-t)/float64(n))
	}
	return d
}

// BenchmarkCPU reports GFLOP per CPU-second per core (fwd, bwd) of each
// variant on VGG-19's layer shapes and the Gram shapes.
func BenchmarkCPU(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range Variants() {
		for _, l := range layers {
			b.Run(fmt.Sprintf("%s/%s", k.Name(), l.name), func(b *testing.B) {
				n := l.s * l.s
				conv := k.NewConv(nntest.RandomConv(rng, l.ci, l.co), l.s, l.s)
				in := nntest.RandomSlice(rng, l.ci*n, 1)
				out := make([]float32, l.co*n)
				flops := 2 * 9 * float64(l.ci*l.co) * float64(n)
				var fwd, bwd float64
				for b.Loop() {
					fwd = bestCPU(reps, func() { conv.Forward(out, in) })
					bwd = bestCPU(reps, func() { conv.BackwardInput(in, out) })
				}
				b.ReportMetric(flops/fwd/1e9, "fwdGF/cpus")
				b.ReportMetric(flops/bwd/1e9, "bwdGF/cpus")
			})
		}
		for _, s := range [][2]int{{64, 256 * 256}, {128, 128 * 128}, {256, 64 * 64}, {512, 32 * 32}, {512, 16 * 16}} {
			c, n := s[0], s[1]
			b.Run(fmt.Sprintf("%s/gram%dx%d", k.Name(), c, n), func(b *testing.B) {
				f := nntest.RandomSlice(rng, c*n, 1)
				g := make([]float32, c*c)
				df := make([]float32, c*n)
				flops := 2 * float64(c*c) * float64(n)
				var fwd, bwd float64
				for b.Loop() {
					fwd = bestCPU(reps, func() { k.Gram(g, f, c, n, 1) })
					bwd = bestCPU(reps, func() { k.GramBackward(df, g, f, c, n, 1) })
				}
				b.ReportMetric(flops/fwd/1e9, "fwdGF/cpus")
				b.ReportMetric(flops/bwd/1e9, "bwdGF/cpus")
			})
		}
	}
}

// cpuKernels are the micro-kernels BenchmarkCPUKernels compares.
var cpuKernels = []struct {
	name string
	c, p int
	f, g func(*convArgs)
}{
	{"6x4", 6, 4, zconv6x4t9, zconv6x4t1},
}

// BenchmarkCPUKernels compares AVX-512 micro-kernels on the forward and
// backward convolutions by CPU time (GFLOP per CPU-second per core).
func BenchmarkCPUKernels(b *testing.B) {
	if !hasAVX512() {
		b.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, l := range layers {
		n := l.s * l.s
		wt := nntest.RandomConv(rng, l.ci, l.co)
		in := nntest.RandomSlice(rng, l.ci*n, 1)
		out := make([]float32, l.co*n)
		flops := 2 * 9 * float64(l.ci*l.co) * float64(n)
		for _, kc := range cpuKernels {
			v := *avx512Variant
			v.convC, v.convP, v.conv, v.gemm = kc.c, kc.p, kc.f, kc.g
			k := newKernels(&v)
			b.Run(fmt.Sprintf("%s/%s", l.name, kc.name), func(b *testing.B) {
				conv := k.NewConv(wt, l.s, l.s)
				var fwd, bwd float64
				for b.Loop() {
					fwd = bestCPU(reps, func() { conv.Forward(out, in) })
					bwd = bestCPU(reps, func() { conv.BackwardInput(in, out) })
				}
				b.ReportMetric(flops/fwd/1e9, "fwdGF/cpus")
				b.ReportMetric(flops/bwd/1e9, "bwdGF/cpus")
			})
		}
	}
}

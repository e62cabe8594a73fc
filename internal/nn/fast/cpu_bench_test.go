//go:build linux && amd64 && !purego

package fast

import (
	"syscall"
	"testing"
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
// variant on VGG-19's layer shapes and the Gram shapes: on a shared machine
// CPU time compares kernels where wall time cannot.
func BenchmarkCPU(b *testing.B) {
	benchShapes(b, bestCPU, "GF/cpus")
}

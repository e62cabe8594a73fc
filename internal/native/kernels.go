package native

import (
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/fast"
)

// DefaultKernels returns the fastest kernels this CPU supports: the SIMD
// assembly kernels where the CPU has them (and the build is not purego),
// else the portable Go kernels.
func DefaultKernels() nn.Kernels {
	if k, ok := fast.New(); ok {
		return k
	}
	return nn.Portable()
}

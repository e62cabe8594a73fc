package native

import "github.com/neuralstyle/neuralstyle/internal/nn"

// DefaultKernels returns the fastest kernels this CPU supports.
func DefaultKernels() nn.Kernels {
	return nn.Portable()
}

//go:build !amd64 || purego

package fast

import "github.com/neuralstyle/neuralstyle/internal/nn"

// New reports that no SIMD kernels exist for this build.
func New() (nn.Kernels, bool) { return nil, false }

// Variants returns no kernels for this build.
func Variants() []nn.Kernels { return nil }

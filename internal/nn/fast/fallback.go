//go:build !amd64 || purego

package fast

import "github.com/neuralstyle/neuralstyle/internal/nn"

// Variants returns no kernels for this build.
func Variants() []nn.Kernels { return nil }

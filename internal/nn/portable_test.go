package nn_test

import (
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

func TestPortableConforms(t *testing.T) { nntest.TestKernels(t, nn.Portable()) }

func TestPortableDirectConforms(t *testing.T) { nntest.TestKernels(t, nn.PortableDirect()) }

func BenchmarkPortable(b *testing.B) { nntest.BenchmarkKernels(b, nn.Portable()) }

func BenchmarkPortableDirect(b *testing.B) { nntest.BenchmarkKernels(b, nn.PortableDirect()) }

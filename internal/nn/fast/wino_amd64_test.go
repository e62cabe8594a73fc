//go:build amd64 && !purego

package fast

import (
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// TestWinogradEverywhere runs the conformance suite with every direction
// as Winograd, whatever its size and channels, and bands of the fewest tile
// rows: one-pixel images, single tile rows, odd heights and widths,
// partial vectors, partial channel blocks and many band edges.
func TestWinogradEverywhere(t *testing.T) {
	for _, k := range Variants() {
		v := *k.(*kernels).v
		v.winoMinChan, v.winoMinWidth, v.winoBandBytes = 1, 1, 1
		t.Run(k.Name(), func(t *testing.T) { nntest.TestKernels(t, newKernels(&v)) })
	}
}

package vgg

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/matfile/mattest"
)

// Files of a few megabytes that declare gigabytes of zeros, which zlib
// really inflates to, are refused from their declared shapes before any of
// the data is inflated: quickly and allocating little.
func TestLoadZlibBombs(t *testing.T) {
	tests := []struct {
		name   string
		change func(n *ldNet)
		want   string
	}{
		{"averageImage 65536x21845x3 doubles stored as bytes", func(n *ldNet) {
			// 4.3e9 one-byte zeros, 4 MB compressed: 34 GB as float64.
			n.mean = &mattest.Zeros{Dims: []int{65536, 21845, 3}, Double: true, Uint8: true}
		}, "meta.normalization.averageImage is a 65536x21845x3 double array, want an HxWx3 image of at most 1024x1024 pixels"},
		{"conv1_1 3x3x3x19884107", func(n *ldNet) {
			// 2.1 GB of single zeros, 2 MB compressed.
			n.kernelValue = map[string]mattest.Value{"conv1_1": &mattest.Zeros{Dims: []int{3, 3, 3, 19884107}}}
		}, "layer conv1_1 (layers{1}.weights): kernel is 3x3x3x19884107: 19884107 output channels, more than 4096"},
		{"relu1_1 weights 1x1x1x500000000", func(n *ldNet) {
			// 2 GB of zeros in a layer VGG-19 has no weights in, which the
			// loader would inflate to skip it.
			n.kernels["relu1_1"], n.bias["relu1_1"] = [4]int{1, 1, 1, 500000000}, 1
			n.kernelValue = map[string]mattest.Value{"relu1_1": &mattest.Zeros{Dims: []int{1, 1, 1, 500000000}}}
		}, "layer conv1_2 (layers{2}.weights{1}): a 1x1x1x500000000 array in a layer before it, larger than any VGG-19 weights"},
		{"conv2_1 3x3x4x7000000, in from conv1_2", func(n *ldNet) {
			n.kernelValue = map[string]mattest.Value{"conv2_1": &mattest.Zeros{Dims: []int{3, 3, 4, 7000000}}}
		}, "layer conv2_1 (layers{6}.weights): kernel is 3x3x4x7000000: 7000000 output channels, more than 4096"},
		{"conv1_2 3x3x5000000x4, in not conv1_1's out", func(n *ldNet) {
			n.kernelValue = map[string]mattest.Value{"conv1_2": &mattest.Zeros{Dims: []int{3, 3, 5000000, 4}}}
		}, "layer conv1_2 (layers{3}.weights): kernel is 3x3x5000000x4: 5000000 input channels, want the 4 outputs of conv1_1"},
	}
	for _, tt := range tests {
		for _, old := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/old=%v", tt.name, old), func(t *testing.T) {
				n := newLdNet(ldWidths, ldSmallFC)
				n.old = old
				tt.change(n)
				b := n.bytes(t, true)
				if len(b) > 5<<20 {
					t.Fatalf("bomb file of %d bytes", len(b))
				}
				want := tt.want
				if old && n.mean != nil {
					want = "normalization.averageImage" + want[len("meta.normalization.averageImage"):]
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				start := time.Now()
				_, err := ldLoadBytes(b)
				took := time.Since(start)
				runtime.ReadMemStats(&after)
				if err == nil || err.Error() != want {
					t.Fatalf("error %v, want %q", err, want)
				}
				var le *LayerError
				if n.kernelValue != nil && !errors.As(err, &le) {
					t.Errorf("error %T is not a *LayerError", err)
				}
				// The tiny network around the bomb takes well under 1 MB.
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
					t.Errorf("allocated %d bytes before refusing", alloc)
				}
				if took > time.Second {
					t.Errorf("took %v to refuse", took)
				}
			})
		}
	}
}

package vgg

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/matfile/mattest"
)

// A NaN or an infinity among the weights is an error naming the layer and
// the index of the value in the file's (column-major) array.
func TestLoadNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tests := []struct {
		layer string
		bias  bool
		index int
		value float32
		want  string
	}{
		{"conv3_2", false, 123, nan, "layer conv3_2 (layers{13}.weights): weights: NaN at index 123"},
		{"conv1_1", false, 0, -inf, "layer conv1_1 (layers{1}.weights): weights: -Inf at index 0"},
		{"conv5_4", false, 9*12*12 - 1, inf, "layer conv5_4 (layers{35}.weights): weights: +Inf at index 1295"},
		{"conv2_2", true, 5, nan, "layer conv2_2 (layers{8}.weights): bias: NaN at index 5"},
	}
	for _, tt := range tests {
		for _, old := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/bias=%v/old=%v", tt.layer, tt.bias, old), func(t *testing.T) {
				n := newLdNet(ldWidths, ldSmallFC)
				n.old = old
				li := slices.Index(n.names, tt.layer)
				gen := n.gen
				n.gen = func(layer int) func([]float32, int) {
					g := gen(layer)
					if layer != li && !(tt.bias && layer == -li) || (tt.bias && layer == li) {
						return g
					}
					return func(dst []float32, first int) {
						g(dst, first)
						if i := tt.index - first; i >= 0 && i < len(dst) {
							dst[i] = tt.value
						}
					}
				}
				_, err := ldLoadBytes(n.bytes(t, true))
				var le *LayerError
				if !errors.As(err, &le) || err.Error() != tt.want {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
			})
		}
	}
	for _, old := range []bool{false, true} {
		n := newLdNet(ldWidths, ldSmallFC)
		n.old = old
		n.mean = &mattest.Single{Dims: []int{1, 1, 3}, Data: []float32{1, nan, 3}}
		want := "meta.normalization.averageImage: NaN at index 1"
		if old {
			want = want[len("meta."):]
		}
		if _, err := ldLoadBytes(n.bytes(t, true)); err == nil || err.Error() != want {
			t.Errorf("old=%v: error %v, want %q", old, err, want)
		}
	}
}

package jpeg

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkIDCT runs the inverse DCT alone on blocks shaped like a photo's:
// most with a few low-frequency coefficients, some DC-only, some dense, so
// that both the shortcut and the full path of each pass are timed.
func BenchmarkIDCT(b *testing.B) {
	const n = 1024
	rng := rand.New(rand.NewPCG(3, 4))
	blocks := make([][64]int16, n)
	for i := range blocks {
		nonzero := []int{1, 6, 15, 64}[i%4]
		for k := 0; k < nonzero; k++ {
			blocks[i][zigzag[k]] = int16(rng.IntN(256) - 128)
		}
	}
	var q [64]int32
	for i := range q {
		q[i] = int32(2 + i/4)
	}
	dst := make([]uint8, 8*8*n)
	b.SetBytes(64 * n)
	for b.Loop() {
		for i := range blocks {
			idctISLOW(&blocks[i], &q, dst[i*8:], 8*n)
		}
	}
}

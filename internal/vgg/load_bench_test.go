//go:build unix

package vgg

import (
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/matfile/mattest"
)

// writeFullVGG writes a VGG-19 of the real shapes (conv1_1..conv5_4, fc6
// 7x7x512x4096, fc7 and fc8: 548 MB of float32) with random weights,
// zlib-compressed, in the new layout.
func writeFullVGG(tb testing.TB, path string) {
	tb.Helper()
	n := newLdNet([5]int{64, 128, 256, 512, 512}, [3][4]int{{7, 7, 512, 4096}, {1, 1, 4096, 4096}, {1, 1, 4096, 1000}})
	n.gen = func(layer int) func([]float32, int) {
		// Uniform values of the scale of trained weights: their mantissas
		// are as random, so they compress as poorly.
		return func(dst []float32, first int) {
			x := uint64(first)*0x9e3779b97f4a7c15 + uint64(layer+100)*0xbf58476d1ce4e5b9 | 1
			for i := range dst {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				dst[i] = float32(int32(x>>32)) * (0.02 / (1 << 31))
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	// The level hardly changes how fast the result inflates; level 1 writes
	// the file several times faster than zlib's default.
	if err := mattest.Write(f, mattest.Options{Compress: true, Level: 1}, n.vars()...); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkLoadFull loads a full-size VGG-19 file (about 500 MB). It
// reports the peak resident memory of the process (writing the file
// included, which streams and takes little).
func BenchmarkLoadFull(b *testing.B) {
	path := os.Getenv("VGG19_MAT") // to time a real file instead
	if path == "" {
		path = filepath.Join(b.TempDir(), "vgg19-full.mat")
		start := time.Now()
		writeFullVGG(b, path)
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("wrote %s: %d bytes in %v", path, st.Size(), time.Since(start))
	}
	var w *Weights
	for b.Loop() {
		var err error
		if w, err = Load(path); err != nil {
			b.Fatal(err)
		}
	}
	var convBytes int64
	for _, c := range w.Conv {
		convBytes += 4 * int64(len(c.Kernel)+len(c.Bias))
	}
	b.SetBytes(convBytes)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
	}
	if math.IsNaN(float64(w.MeanPixel[0])) {
		b.Fatal("bad mean pixel")
	}
}

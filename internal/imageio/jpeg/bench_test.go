package jpeg

import (
	"bytes"
	"image"
	stdjpeg "image/jpeg"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

var bigJPEG = sync.OnceValue(func() []byte {
	// A 4000 x 3000 (12 megapixel) photo-like picture: smooth shading,
	// edges and noise, so that the entropy decoder works as on a photo.
	const w, h = 4000, 3000
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x), float64(y)
			r := 128 + 100*math.Sin(fx/37)*math.Cos(fy/53) + rng.NormFloat64()*6
			g := 128 + 90*math.Cos(fx/71+fy/29) + rng.NormFloat64()*6
			b := (fx+fy)*255/(w+h) + rng.NormFloat64()*6
			if (x/200+y/150)%7 == 0 {
				r, g, b = 240, 30, 20
			}
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = clip(r), clip(g), clip(b), 255
		}
	}
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, m, &stdjpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

func clip(v float64) uint8 { return uint8(min(max(math.Round(v), 0), 255)) }

// BenchmarkDecode12MP compares this decoder (to RGB) with image/jpeg (to
// YCbCr planes, no colour conversion) on the same 12-megapixel 4:2:0 file.
func BenchmarkDecode12MP(b *testing.B) {
	data := bigJPEG()
	b.Run("jpeg", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Decode(bytes.NewReader(data), nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := stdjpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecode12MPRatio alternates the two decoders on the file and
// reports the best time of each and their ratio (image/jpeg's time over
// this decoder's: above 1 means this one is faster), which holds up on a
// shared machine better than two separate benchmarks.
func BenchmarkDecode12MPRatio(b *testing.B) {
	data := bigJPEG()
	best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
	for b.Loop() {
		runtime.GC() // each decoder pays for its own garbage only
		t0 := time.Now()
		if _, err := Decode(bytes.NewReader(data), nil); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		runtime.GC()
		t1 = time.Now()
		if _, err := stdjpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		best[0], best[1] = min(best[0], t1.Sub(t0)), min(best[1], t2.Sub(t1))
	}
	b.ReportMetric(float64(best[0].Milliseconds()), "ms-jpeg")
	b.ReportMetric(float64(best[1].Milliseconds()), "ms-image/jpeg")
	b.ReportMetric(float64(best[1])/float64(best[0]), "speedup")
}

package imageio

import (
	"bytes"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func randomImage(r *rand.Rand, w, h int) *Image {
	img := New(w, h)
	for i := range img.Pix {
		img.Pix[i] = float32(r.IntN(256))
	}
	return img
}

func TestResizeSameSizeCopies(t *testing.T) {
	in := &Image{W: 2, H: 1, Pix: []float32{-3, 0.99, 254.99, 255.5, 1e9, 17}}
	orig := slices.Clone(in.Pix)
	out := Resize(in, 2, 1)
	if want := []float32{0, 0, 254, 255, 255, 17}; !slices.Equal(out.Pix, want) {
		t.Errorf("Resize to the same size = %v, want %v", out.Pix, want)
	}
	out.Pix[0] = 99
	if !slices.Equal(in.Pix, orig) {
		t.Error("Resize changed or aliased its input")
	}
}

// Pillow's two passes round to uint8 in between, so resizing one axis and
// then the other gives exactly the one-call result; this pins the
// single-axis paths, the row window of the horizontal pass and the order.
func TestResizeSeparable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ w, h, ow, oh int }{
		{61, 47, 37, 28}, {20, 30, 50, 7}, {7, 90, 3, 300}, {1, 1, 5, 3}, {300, 2, 1, 1}, {40, 40, 13, 80},
	} {
		img := randomImage(r, tc.w, tc.h)
		both := Resize(img, tc.ow, tc.oh)
		twice := Resize(Resize(img, tc.ow, tc.h), tc.ow, tc.oh)
		if both.W != tc.ow || both.H != tc.oh || !slices.Equal(both.Pix, twice.Pix) {
			t.Errorf("%v: horizontal-then-vertical calls differ from one call", tc)
		}
	}
}

// A flat image stays flat at any scale: the coefficients are normalised and
// the 22-bit rounding never moves a level.
func TestResizeFlat(t *testing.T) {
	for _, v := range []float32{0, 1, 128, 254, 255} {
		img := New(23, 17)
		for i := range img.Pix {
			img.Pix[i] = v
		}
		for _, sz := range [][2]int{{1, 1}, {5, 3}, {23, 100}, {211, 17}, {2, 170}} {
			out := Resize(img, sz[0], sz[1])
			for i, got := range out.Pix {
				if got != v {
					t.Fatalf("flat %v resized to %v: value %v at %d", v, sz, got, i)
				}
			}
		}
	}
}

func TestResizePanicsOnEmptySize(t *testing.T) {
	for _, sz := range [][2]int{{0, 5}, {5, 0}, {-1, 3}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Resize to %v did not panic", sz)
				}
			}()
			Resize(New(4, 4), sz[0], sz[1])
		}()
	}
}

// photoJPEG writes a 4000 x 3000 JPEG with photo-like detail.
func photoJPEG(b *testing.B) string {
	b.Helper()
	m := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range m.Y {
		m.Y[i] = uint8(i%4000/16 + r.IntN(8))
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = uint8(100+i%77), uint8(140-i%51)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "photo.jpg")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkReadResize4000x3000 is the CLI's content path: decode a 12 MP
// camera JPEG and resize it to --width 1024.
func BenchmarkReadResize4000x3000(b *testing.B) {
	p := photoJPEG(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		img, err := Read(p, ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		w, h := WidthSize(img.W, img.H, 1024)
		Resize(img, w, h)
	}
}

func BenchmarkRead4000x3000(b *testing.B) {
	p := photoJPEG(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Read(p, ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResize4000x3000To1024(b *testing.B) {
	img := randomImage(rand.New(rand.NewPCG(5, 6)), 4000, 3000)
	b.ReportAllocs()
	for b.Loop() {
		Resize(img, 1024, 768)
	}
}

func BenchmarkPreserveColors1024(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	c, s := randomImage(r, 1024, 768), randomImage(r, 1024, 768)
	b.ReportAllocs()
	for b.Loop() {
		PreserveColors(c, s)
	}
}

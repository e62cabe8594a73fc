package imageio

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead: whatever the bytes, Read returns either a well-formed image with
// values in 0..255 or an *Error of a known kind; it never panics.
func FuzzRead(f *testing.F) {
	g := image.NewGray(image.Rect(0, 0, 5, 3))
	f.Add(encodePNG(f, g))
	f.Add(encodeJPEGBytes(f, g, 80))
	f.Add(rawPNG(2, 1, 8, 4, [][]byte{{7, 255, 250, 0}}))
	for _, name := range []string{"pattern.webp", "cmyk.jpg", "rotated.tif", "rotated.webp", "photo420.jpg", "photo422.jpg"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)*2/3])
	}
	f.Add([]byte("GIF89a\x01\x00\x01\x00"))
	f.Add([]byte("BM"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := Read(p, ReadOptions{MaxPixels: 1 << 20})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Path != p {
				t.Fatalf("error %v is not an *Error for the file", err)
			}
			return
		}
		if img.W < 1 || img.H < 1 || len(img.Pix) != img.W*img.H*3 || img.W*img.H > 1<<20 {
			t.Fatalf("image %d x %d with %d values", img.W, img.H, len(img.Pix))
		}
		for _, v := range img.Pix {
			if !(v >= 0 && v <= 255) {
				t.Fatalf("value %v out of range", v)
			}
		}
	})
}

package imageio

import (
	"context"
	"encoding/binary"
	"image"
	"runtime"
	"testing"
)

// TestHeaderSize: OpenContext gives the size Decode will give, EXIF
// orientation applied (5..8 swap the sides), for JPEG and PNG.
func TestHeaderSize(t *testing.T) {
	jpg := encodeJPEGBytes(t, image.NewGray(image.Rect(0, 0, 48, 32)), 90)
	rows := make([][]byte, 32)
	for y := range rows {
		rows[y] = make([]byte, 48)
	}
	for o := 1; o <= 8; o++ {
		w, h := 48, 32
		if o >= 5 {
			w, h = 32, 48
		}
		for name, data := range map[string][]byte{
			"o.jpg": withJPEGExif(jpg, exifOrientation(uint16(o), binary.LittleEndian)),
			"o.png": rawPNG(48, 32, 8, 0, rows, pngChunk("eXIf", exifOrientation(uint16(o), binary.BigEndian))),
		} {
			hd, err := OpenContext(context.Background(), writeTemp(t, name, data), ReadOptions{})
			if err != nil {
				t.Fatalf("%s orientation %d: %v", name, o, err)
			}
			img, err := hd.Decode()
			hd.Close()
			if err != nil {
				t.Fatalf("%s orientation %d: %v", name, o, err)
			}
			if hd.W != w || hd.H != h || img.W != w || img.H != h {
				t.Errorf("%s orientation %d: header %d x %d, decoded %d x %d, want %d x %d", name, o, hd.W, hd.H, img.W, img.H, w, h)
			}
		}
	}
}

// TestHeaderAllocatesLittle: the header of a large image is read without
// its pixels: a caller can refuse what the size leads to first.
func TestHeaderAllocatesLittle(t *testing.T) {
	p := writeTemp(t, "big.png", rawPNG(20000, 20000, 8, 2, nil)) // 4.8 GB as float32 RGB
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	hd, err := OpenContext(context.Background(), p, ReadOptions{MaxPixels: -1})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer hd.Close()
	if hd.W != 20000 || hd.H != 20000 || hd.Format != "png" {
		t.Errorf("header %d x %d %s, want 20000 x 20000 png", hd.W, hd.H, hd.Format)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("reading the header allocated %d bytes", d)
	}
}

package imageio

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/image/tiff"
)

// TestSaveTIFFIsRGB: .tif output is 8-bit RGB without an alpha sample, as
// Pillow writes an RGB image, and reads back exactly.
func TestSaveTIFFIsRGB(t *testing.T) {
	dir := t.TempDir()
	for _, size := range [][2]int{{7, 5}, {1, 1}, {6, 3}} {
		img := smooth(size[0], size[1])
		p := filepath.Join(dir, "out.tif")
		if err := Save(p, img); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		tags := tiffTags(t, data)
		if tags[277] != 3 || tags[262] != 2 || tags[259] != 1 {
			t.Errorf("%v: SamplesPerPixel %d, Photometric %d, Compression %d; want 3, 2 (RGB), 1 (none)", size, tags[277], tags[262], tags[259])
		}
		if _, ok := tags[338]; ok {
			t.Errorf("%v: ExtraSamples present: the file has an alpha sample", size)
		}
		m, err := tiff.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got := fromImage(m, size[0], size[1])
		if !slices.Equal(got.Pix, truncated(img).Pix) {
			t.Errorf("%v: pixels read back differ", size)
		}
	}
}

// tiffTags returns the first IFD's single-valued tags of a little-endian
// TIFF file.
func tiffTags(t *testing.T, data []byte) map[uint16]uint32 {
	t.Helper()
	le := binary.LittleEndian
	if len(data) < 8 || string(data[:4]) != "II*\x00" {
		t.Fatalf("not a little-endian TIFF: % x", data[:min(8, len(data))])
	}
	off := int(le.Uint32(data[4:]))
	n := int(le.Uint16(data[off:]))
	tags := map[uint16]uint32{}
	for i := 0; i < n; i++ {
		e := data[off+2+12*i:]
		tag, typ := le.Uint16(e), le.Uint16(e[2:])
		if typ == 3 {
			tags[tag] = uint32(le.Uint16(e[8:]))
		} else {
			tags[tag] = le.Uint32(e[8:])
		}
	}
	return tags
}

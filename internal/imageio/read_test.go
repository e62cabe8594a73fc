package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEGBytes(t testing.TB, m image.Image, q int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// rawPNG writes a PNG of any colour type from unfiltered scanlines, for the
// types Go's encoder never produces (gray+alpha) and for crafted headers.
func rawPNG(w, h int, depth, colorType byte, rows [][]byte, extra ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, colorType
	b.Write(pngChunk("IHDR", ihdr))
	for _, c := range extra {
		b.Write(c)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	for _, r := range rows {
		zw.Write([]byte{0}) // filter: none
		zw.Write(r)
	}
	zw.Close()
	b.Write(pngChunk("IDAT", z.Bytes()))
	b.Write(pngChunk("IEND", nil))
	return b.Bytes()
}

func mustRead(t *testing.T, path string) *Image {
	t.Helper()
	img, err := Read(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func wantPixel(t *testing.T, img *Image, x, y int, want [3]float32, tol float32) {
	t.Helper()
	for c := 0; c < 3; c++ {
		if d := img.At(x, y, c) - want[c]; d > tol || d < -tol {
			t.Errorf("pixel (%d,%d) = %v %v %v, want %v (tolerance %v)", x, y,
				img.At(x, y, 0), img.At(x, y, 1), img.At(x, y, 2), want, tol)
			return
		}
	}
}

func TestReadPaletted(t *testing.T) {
	pal := color.Palette{
		color.NRGBA{10, 20, 30, 255},
		color.NRGBA{200, 100, 50, 0}, // fully transparent: colour kept, not blackened
		color.NRGBA{255, 255, 0, 128},
	}
	m := image.NewPaletted(image.Rect(0, 0, 3, 2), pal)
	for i := range m.Pix {
		m.Pix[i] = uint8(i % 3)
	}
	img := mustRead(t, writeTemp(t, "pal.png", encodePNG(t, m)))
	if img.W != 3 || img.H != 2 {
		t.Fatalf("size %d x %d", img.W, img.H)
	}
	wantPixel(t, img, 0, 0, [3]float32{10, 20, 30}, 0)
	wantPixel(t, img, 1, 0, [3]float32{200, 100, 50}, 0)
	wantPixel(t, img, 2, 0, [3]float32{255, 255, 0}, 0)
	wantPixel(t, img, 0, 1, [3]float32{10, 20, 30}, 0)
}

func TestReadGrayAndSixteenBit(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 2, 1))
	g.Pix = []uint8{7, 250}
	g16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	g16.SetGray16(0, 0, color.Gray16{0x12ff})
	g16.SetGray16(1, 0, color.Gray16{0xfe01})
	n64 := image.NewNRGBA64(image.Rect(0, 0, 2, 1))
	n64.SetNRGBA64(0, 0, color.NRGBA64{0x1234, 0xabcd, 0xff00, 0xffff})
	n64.SetNRGBA64(1, 0, color.NRGBA64{0x8080, 0x0101, 0x7fff, 0}) // transparent: colour kept
	r64 := image.NewRGBA64(image.Rect(0, 0, 2, 1))
	r64.SetRGBA64(0, 0, color.RGBA64{0x1234, 0xabcd, 0xff00, 0xffff})
	r64.SetRGBA64(1, 0, color.RGBA64{0x8080, 0x0101, 0x7fff, 0xffff})
	tests := []struct {
		name string
		data []byte
		want [2][3]float32
	}{
		{"gray8", encodePNG(t, g), [2][3]float32{{7, 7, 7}, {250, 250, 250}}},
		{"gray16", encodePNG(t, g16), [2][3]float32{{0x12, 0x12, 0x12}, {0xfe, 0xfe, 0xfe}}},
		{"rgba16", encodePNG(t, n64), [2][3]float32{{0x12, 0xab, 0xff}, {0x80, 0x01, 0x7f}}},
		{"rgb16", encodePNG(t, r64), [2][3]float32{{0x12, 0xab, 0xff}, {0x80, 0x01, 0x7f}}},
		{"gray+alpha8", rawPNG(2, 1, 8, 4, [][]byte{{7, 255, 250, 0}}), [2][3]float32{{7, 7, 7}, {250, 250, 250}}},
		{"gray+alpha16", rawPNG(2, 1, 16, 4, [][]byte{{0x12, 0xff, 0xff, 0xff, 0xfe, 0x01, 0, 0}}),
			[2][3]float32{{0x12, 0x12, 0x12}, {0xfe, 0xfe, 0xfe}}},
		{"rgba8 transparent", rawPNG(2, 1, 8, 6, [][]byte{{1, 2, 3, 255, 200, 150, 100, 0}}), [2][3]float32{{1, 2, 3}, {200, 150, 100}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := mustRead(t, writeTemp(t, "x.png", tc.data))
			if img.W != 2 || img.H != 1 {
				t.Fatalf("size %d x %d", img.W, img.H)
			}
			wantPixel(t, img, 0, 0, tc.want[0], 0)
			wantPixel(t, img, 1, 0, tc.want[1], 0)
		})
	}
}

func TestReadCMYKJPEG(t *testing.T) {
	// Adobe CMYK JPEG made by testdata/make_fixtures.py; the wanted RGB is
	// Pillow's convert("RGB") of the same file.
	img := mustRead(t, "testdata/cmyk.jpg")
	if img.W != 16 || img.H != 16 {
		t.Fatalf("size %d x %d", img.W, img.H)
	}
	wantPixel(t, img, 3, 3, [3]float32{255, 255, 255}, 0) // C M Y K = 0 0 0 0
	wantPixel(t, img, 11, 3, [3]float32{0, 255, 255}, 0)  // full cyan
	wantPixel(t, img, 3, 11, [3]float32{255, 127, 0}, 0)  // half magenta, full yellow
	wantPixel(t, img, 11, 11, [3]float32{55, 55, 55}, 0)  // K = 200
}

func TestReadWebP(t *testing.T) {
	img := mustRead(t, "testdata/pattern.webp")
	if img.W != 6 || img.H != 4 {
		t.Fatalf("size %d x %d", img.W, img.H)
	}
	for y := 0; y < 4; y++ {
		for x := 0; x < 6; x++ { // lossless, and x == 5 is transparent with its colour kept
			wantPixel(t, img, x, y, [3]float32{float32(40*x + 5), float32(60*y + 10), float32(255 - 30*x - 20*y)}, 0)
		}
	}
	lossy := mustRead(t, "testdata/lossy.webp")
	if lossy.W != 16 || lossy.H != 16 {
		t.Fatalf("lossy size %d x %d", lossy.W, lossy.H)
	}
	wantPixel(t, lossy, 8, 8, [3]float32{128, 128, 128}, 3)
}

func TestReadGIFFirstFrame(t *testing.T) {
	pal := color.Palette{color.RGBA{0, 0, 0, 255}, color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}}
	f1 := image.NewPaletted(image.Rect(1, 1, 3, 2), pal) // a sub-rectangle of the 4 x 3 screen
	f1.Pix = []uint8{1, 2}
	f2 := image.NewPaletted(image.Rect(0, 0, 4, 3), pal)
	for i := range f2.Pix {
		f2.Pix[i] = 2
	}
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{f1, f2}, Delay: []int{10, 10},
		Config: image.Config{ColorModel: pal, Width: 4, Height: 3}})
	if err != nil {
		t.Fatal(err)
	}
	img := mustRead(t, writeTemp(t, "anim.gif", buf.Bytes()))
	if img.W != 4 || img.H != 3 {
		t.Fatalf("size %d x %d, want the 4 x 3 screen", img.W, img.H)
	}
	wantPixel(t, img, 1, 1, [3]float32{255, 0, 0}, 0)
	wantPixel(t, img, 2, 1, [3]float32{0, 0, 255}, 0)
	wantPixel(t, img, 0, 0, [3]float32{0, 0, 0}, 0)
	wantPixel(t, img, 3, 2, [3]float32{0, 0, 0}, 0)
}

// exifOrientation builds the TIFF structure of an EXIF block holding only an orientation.
func exifOrientation(o uint16, bo binary.ByteOrder) []byte {
	var b bytes.Buffer
	if bo == binary.LittleEndian {
		b.WriteString("II")
	} else {
		b.WriteString("MM")
	}
	binary.Write(&b, bo, uint16(42))
	binary.Write(&b, bo, uint32(8))
	binary.Write(&b, bo, uint16(2))
	// An unrelated tag first (ImageDescription, ASCII), then the orientation.
	binary.Write(&b, bo, []uint16{0x010e, 2})
	binary.Write(&b, bo, []uint32{1, 0})
	binary.Write(&b, bo, []uint16{tagOrientation, 3})
	binary.Write(&b, bo, uint32(1))
	binary.Write(&b, bo, []uint16{o, 0})
	binary.Write(&b, bo, uint32(0))
	return b.Bytes()
}

// withJPEGExif inserts an APP1 Exif segment after the JPEG's SOI (and a
// comment segment before it, so the scan has to skip one).
func withJPEGExif(jpg []byte, tiffData []byte) []byte {
	var b bytes.Buffer
	b.Write(jpg[:2])
	com := []byte("made by a test")
	b.Write([]byte{0xff, 0xfe})
	binary.Write(&b, binary.BigEndian, uint16(len(com)+2))
	b.Write(com)
	payload := append([]byte("Exif\x00\x00"), tiffData...)
	b.Write([]byte{0xff, 0xe1})
	binary.Write(&b, binary.BigEndian, uint16(len(payload)+2))
	b.Write(payload)
	b.Write(jpg[2:])
	return b.Bytes()
}

// grid transforms, written independently of orient: what a viewer shows for
// each EXIF orientation of a stored grid.
func transformGrid(g [][]int, o int) [][]int {
	transpose := func(g [][]int) [][]int {
		out := make([][]int, len(g[0]))
		for c := range out {
			out[c] = make([]int, len(g))
			for r := range g {
				out[c][r] = g[r][c]
			}
		}
		return out
	}
	fliplr := func(g [][]int) [][]int {
		out := make([][]int, len(g))
		for r := range g {
			for c := len(g[r]) - 1; c >= 0; c-- {
				out[r] = append(out[r], g[r][c])
			}
		}
		return out
	}
	flipud := func(g [][]int) [][]int {
		out := make([][]int, 0, len(g))
		for r := len(g) - 1; r >= 0; r-- {
			out = append(out, g[r])
		}
		return out
	}
	switch o {
	case 2:
		return fliplr(g)
	case 3:
		return flipud(fliplr(g))
	case 4:
		return flipud(g)
	case 5:
		return transpose(g)
	case 6: // rotate clockwise
		return fliplr(transpose(g))
	case 7:
		return flipud(fliplr(transpose(g)))
	case 8: // rotate anticlockwise
		return flipud(transpose(g))
	}
	return g
}

func TestReadEXIFOrientation(t *testing.T) {
	// A 3 x 2 grid of 16 x 16 blocks of distinct flat colours: JPEG-safe.
	colors := [][3]uint8{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 0}, {0, 255, 255}, {255, 0, 255}}
	grid := [][]int{{0, 1, 2}, {3, 4, 5}}
	m := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 48; x++ {
			c := colors[grid[y/16][x/16]]
			m.SetRGBA(x, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	jpg := encodeJPEGBytes(t, m, 100)
	check := func(t *testing.T, img *Image, o int) {
		want := transformGrid(grid, o)
		if img.H != 16*len(want) || img.W != 16*len(want[0]) {
			t.Fatalf("size %d x %d, want %d x %d", img.W, img.H, 16*len(want[0]), 16*len(want))
		}
		for r := range want {
			for c := range want[r] {
				k := colors[want[r][c]]
				wantPixel(t, img, 16*c+8, 16*r+8, [3]float32{float32(k[0]), float32(k[1]), float32(k[2])}, 8)
			}
		}
	}
	for o := 1; o <= 8; o++ {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run("jpeg/"+bo.String()+"/"+string(rune('0'+o)), func(t *testing.T) {
				check(t, mustRead(t, writeTemp(t, "o.jpg", withJPEGExif(jpg, exifOrientation(uint16(o), bo)))), o)
			})
		}
		t.Run("png/"+string(rune('0'+o)), func(t *testing.T) {
			rows := make([][]byte, 32)
			for y := range rows {
				rows[y] = make([]byte, 48*3)
				for x := 0; x < 48; x++ {
					copy(rows[y][3*x:], colors[grid[y/16][x/16]][:])
				}
			}
			p := rawPNG(48, 32, 8, 2, rows, pngChunk("eXIf", exifOrientation(uint16(o), binary.BigEndian)))
			check(t, mustRead(t, writeTemp(t, "o.png", p)), o)
		})
	}
	// Malformed or out-of-range metadata leaves the image as stored.
	for name, tiffData := range map[string][]byte{
		"orientation 9": exifOrientation(9, binary.LittleEndian),
		"bad magic":     append([]byte("II\x2b\x00"), exifOrientation(6, binary.LittleEndian)[4:]...),
		"cut short":     exifOrientation(6, binary.LittleEndian)[:20],
		"bad ifd":       append([]byte("MM\x00\x2a\xff\xff\xff\x00"), exifOrientation(6, binary.BigEndian)[8:]...),
	} {
		t.Run(name, func(t *testing.T) {
			check(t, mustRead(t, writeTemp(t, "o.jpg", withJPEGExif(jpg, tiffData))), 1)
		})
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	good := encodePNG(t, image.NewGray(image.Rect(0, 0, 64, 64)))
	jpg := encodeJPEGBytes(t, image.NewGray(image.Rect(0, 0, 64, 64)), 90)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-20] ^= 0xff // inside IDAT: checksum fails
	huge := rawPNG(50000, 50000, 8, 2, nil)
	tests := []struct {
		name    string
		path    string
		data    []byte // written to path when not nil
		opts    ReadOptions
		kind    error
		message string
	}{
		{"missing", filepath.Join(dir, "nope.jpg"), nil, ReadOptions{}, fs.ErrNotExist, "no such file"},
		{"folder", dir, nil, ReadOptions{}, ErrUnsupported, "is a directory"},
		{"empty", filepath.Join(dir, "empty.png"), []byte{}, ReadOptions{}, ErrUnsupported, "empty file"},
		{"text", filepath.Join(dir, "notes.jpg"), []byte("hello, this is not an image\n"), ReadOptions{}, ErrUnsupported, "not an image"},
		{"heic", filepath.Join(dir, "photo.heic"), []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), ReadOptions{}, ErrUnsupported, "HEIC"},
		{"truncated jpeg", filepath.Join(dir, "cut.jpg"), jpg[:len(jpg)/2], ReadOptions{}, ErrTruncated, "truncated"},
		{"truncated png", filepath.Join(dir, "cut.png"), good[:len(good)-30], ReadOptions{}, ErrTruncated, "truncated"},
		{"header only png", filepath.Join(dir, "head.png"), good[:40], ReadOptions{}, ErrTruncated, "truncated"},
		{"corrupt png", filepath.Join(dir, "bad.png"), corrupt, ReadOptions{}, ErrCorrupt, "corrupt"},
		{"over default limit", filepath.Join(dir, "huge.png"), huge, ReadOptions{}, ErrTooLarge,
			"50000 x 50000 pixels exceeds the limit of 100000000"},
		{"over set limit", filepath.Join(dir, "small.png"), good, ReadOptions{MaxPixels: 4095}, ErrTooLarge,
			"64 x 64 pixels exceeds the limit of 4095"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.data != nil {
				if err := os.WriteFile(tc.path, tc.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			img, err := Read(tc.path, tc.opts)
			if err == nil {
				t.Fatalf("Read succeeded with a %d x %d image", img.W, img.H)
			}
			msg := err.Error()
			if !errors.Is(err, tc.kind) || !strings.Contains(msg, tc.message) || !strings.Contains(msg, tc.path) {
				t.Errorf("error %q: want errors.Is %v, text %q and the path", msg, tc.kind, tc.message)
			}
			if strings.Contains(msg, "\n") || strings.Count(msg, tc.path) != 1 {
				t.Errorf("error %q: want one line naming the file once", msg)
			}
			var e *Error
			if !errors.As(err, &e) || e.Path != tc.path || e.Op != "read" {
				t.Errorf("error %#v is not an *Error for %s", err, tc.path)
			}
		})
	}
	// The limit is inclusive, and a negative one disables it.
	p := filepath.Join(dir, "small.png")
	for _, lim := range []int{4096, -1} {
		if _, err := Read(p, ReadOptions{MaxPixels: lim}); err != nil {
			t.Errorf("MaxPixels %d: %v", lim, err)
		}
	}
}

func TestReadOverLimitAllocatesLittle(t *testing.T) {
	p := writeTemp(t, "bomb.png", rawPNG(60000, 60000, 16, 6, nil)) // 28.8 GB of pixels if decoded
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Read(p, ReadOptions{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("refusing the image allocated %d bytes", d)
	}
}

// TestReadOrientationWebPTIFF covers the EXIF chunk of WebP and the
// Orientation tag of TIFF, with fixtures from testdata/make_fixtures.py:
// stored pixels rgb(x, y) = (100x+7, 200y+3, 50+10x+100y), 3 x 2.
func TestReadOrientationWebPTIFF(t *testing.T) {
	tests := []struct {
		file string
		want [][][3]float32 // displayed rows
	}{
		// Orientation 6, as Pillow's ImageOps.exif_transpose shows it.
		{"testdata/rotated.webp", [][][3]float32{
			{{7, 203, 150}, {7, 3, 50}},
			{{107, 203, 160}, {107, 3, 60}},
			{{207, 203, 170}, {207, 3, 70}},
		}},
		// Orientation 8: turned anticlockwise, the stored right column on top.
		{"testdata/rotated.tif", [][][3]float32{
			{{207, 3, 70}, {207, 203, 170}},
			{{107, 3, 60}, {107, 203, 160}},
			{{7, 3, 50}, {7, 203, 150}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			img := mustRead(t, tc.file)
			if img.W != 2 || img.H != 3 {
				t.Fatalf("size %d x %d, want 2 x 3", img.W, img.H)
			}
			for y, row := range tc.want {
				for x, px := range row {
					wantPixel(t, img, x, y, px, 0)
				}
			}
		})
	}
}

// TestReadPNGWithoutEnd reads PNGs cut after their pixel data (no IEND, an
// IEND or the last CRC cut short), as Pillow reads them, and still refuses
// one cut inside the pixel data.
func TestReadPNGWithoutEnd(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	for i := range src.Pix {
		src.Pix[i] = uint8(i*7 + i/5)
	}
	for i := 3; i < len(src.Pix); i += 4 {
		src.Pix[i] = 255
	}
	whole := encodePNG(t, src)
	want := mustRead(t, writeTemp(t, "whole.png", whole))
	for _, tc := range []struct {
		name string
		cut  int // bytes cut from the end
	}{{"no IEND", 12}, {"IEND cut", 6}, {"IEND length only", 8}, {"IDAT CRC cut", 14}, {"no IDAT CRC", 16}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(writeTemp(t, "cut.png", whole[:len(whole)-tc.cut]), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.W != want.W || got.H != want.H || !slices.Equal(got.Pix, want.Pix) {
				t.Errorf("pixels differ from the whole file's")
			}
		})
	}
	// Cut inside the pixel data: Pillow says "image file is truncated".
	if _, err := Read(writeTemp(t, "half.png", whole[:len(whole)-40]), ReadOptions{}); !errors.Is(err, ErrTruncated) {
		t.Errorf("PNG cut inside IDAT: %v, want ErrTruncated", err)
	}
}

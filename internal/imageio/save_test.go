package imageio

import (
	"bufio"
	"bytes"
	"errors"
	"image"
	"image/gif"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// smooth is a test image with gentle gradients (fair to lossy codecs) plus
// values outside 0..255 and fractions, which every writer must clip and truncate.
func smooth(w, h int) *Image {
	img := New(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			img.Pix[i] = float32(x*255/max(w-1, 1)) + 0.7
			img.Pix[i+1] = float32(y*300/max(h-1, 1)) - 20.5 // runs from -20.5 to 279.5
			img.Pix[i+2] = 128 + 60*float32(math.Sin(float64(x+y)/9))
		}
	}
	return img
}

func truncated(img *Image) *Image {
	out := New(img.W, img.H)
	for i, v := range img.Pix {
		out.Pix[i] = float32(clip8(v))
	}
	return out
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// jpegLumaQ0 returns the first entry of the first quantisation table: 2 for
// the standard luminance table scaled to quality 95 (16 * 10% rounded).
func jpegLumaQ0(b []byte) int {
	i := bytes.Index(b, []byte{0xff, 0xdb})
	if i < 0 || i+5 >= len(b) {
		return -1
	}
	return int(b[i+5])
}

func TestSaveRoundTrip(t *testing.T) {
	src := smooth(67, 45)
	want := truncated(src)
	tests := []struct {
		name    string
		format  string  // as image.DecodeConfig names it
		meanTol float64 // mean absolute error allowed; 0 = lossless
		maxTol  float32
	}{
		{"out.png", "png", 0, 0},
		{"out.bmp", "bmp", 0, 0},
		{"out.tif", "tiff", 0, 0},
		{"OUT.TIFF", "tiff", 0, 0},
		// Quality 95 with 4:2:0 chroma (as Pillow's default): the red ramp of
		// 4 levels a pixel costs about 2 levels on average; the quality
		// itself is checked exactly through the quantisation table.
		{"out.jpg", "jpeg", 3, 24},
		{"out.JPEG", "jpeg", 3, 24},
		// 256 median-cut colours over this 2-D colour surface: cells of about
		// 16 levels, 4.3 levels off on average (Plan 9 with dithering: 15.5).
		{"out.gif", "gif", 5, 40},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := Save(p, src); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil || format != tc.format || cfg.Width != src.W || cfg.Height != src.H {
				t.Fatalf("wrote %s %d x %d (%v), want %s %d x %d", format, cfg.Width, cfg.Height, err, tc.format, src.W, src.H)
			}
			if format == "jpeg" && jpegLumaQ0(data) != 2 {
				t.Errorf("JPEG luminance quantiser %d, want 2 (quality 95)", jpegLumaQ0(data))
			}
			got := mustRead(t, p)
			var sum float64
			var worst float32
			for i := range got.Pix {
				d := float32(math.Abs(float64(got.Pix[i] - want.Pix[i])))
				sum += float64(d)
				worst = max(worst, d)
			}
			if mean := sum / float64(len(got.Pix)); mean > tc.meanTol || worst > tc.maxTol {
				t.Errorf("mean error %.3f (allowed %v), worst %v (allowed %v)", mean, tc.meanTol, worst, tc.maxTol)
			}
		})
	}
	// Nothing but the outputs: no temporary files left.
	names := listDir(t, dir)
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			t.Errorf("left behind %s", n)
		}
	}
}

func TestSaveReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.png")
	if err := os.WriteFile(p, []byte("old contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	img := smooth(5, 4)
	if err := Save(p, img); err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, p)
	if !slices.Equal(got.Pix, truncated(img).Pix) {
		t.Error("replaced file does not hold the new image")
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"out.png"}) {
		t.Errorf("folder holds %v", names)
	}
}

func TestSaveFailuresLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "taken.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		img  *Image
		kind error // nil: any error
		text string
	}{
		{"unknown extension", filepath.Join(dir, "out.webp"), smooth(4, 4), ErrUnsupported, `unknown output extension ".webp"`},
		{"no extension", filepath.Join(dir, "out"), smooth(4, 4), ErrUnsupported, "no file extension"},
		{"missing folder", filepath.Join(dir, "nope", "out.png"), smooth(4, 4), fs.ErrNotExist, "folder " + filepath.Join(dir, "nope") + " does not exist"},
		{"encoder fails (empty PNG)", filepath.Join(dir, "empty.png"), New(0, 0), nil, "encoding"},
		{"too wide for JPEG", filepath.Join(dir, "wide.jpg"), New(70000, 1), ErrTooLarge, "too large for .jpg"},
		{"path is a folder", filepath.Join(dir, "taken.png"), smooth(4, 4), nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Save(tc.path, tc.img)
			if err == nil {
				t.Fatal("Save succeeded")
			}
			if (tc.kind != nil && !errors.Is(err, tc.kind)) || !strings.Contains(err.Error(), tc.text) ||
				!strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q: want kind %v, text %q and the path", err, tc.kind, tc.text)
			}
			if names := listDir(t, dir); !slices.Equal(names, []string{"taken.png"}) {
				t.Errorf("folder holds %v after the failure", names)
			}
		})
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.jpg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old.png"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listDir(t, dir)
	tests := []struct {
		name string
		path string
		ok   bool
		kind error
		text string
	}{
		{"new jpg", filepath.Join(dir, "out.jpg"), true, nil, ""},
		{"upper-case tiff", filepath.Join(dir, "OUT.TIFF"), true, nil, ""},
		{"existing file", filepath.Join(dir, "old.png"), true, nil, ""},
		{"unknown extension", filepath.Join(dir, "out.webp"), false, ErrUnsupported, "unknown output extension"},
		{"no extension", filepath.Join(dir, "out"), false, ErrUnsupported, "no file extension"},
		{"missing folder", filepath.Join(dir, "missing", "out.png"), false, fs.ErrNotExist, "does not exist"},
		{"parent is a file", filepath.Join(file, "out.png"), false, nil, "not a folder"},
		{"path is a folder", filepath.Join(dir, "sub.jpg"), false, nil, "is a folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckWritable(tc.path)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil {
				t.Fatal("CheckWritable accepted it")
			} else if (tc.kind != nil && !errors.Is(err, tc.kind)) || !strings.Contains(err.Error(), tc.text) ||
				!strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q: want kind %v, text %q and the path", err, tc.kind, tc.text)
			}
			if after := listDir(t, dir); !slices.Equal(after, before) {
				t.Errorf("folder holds %v, had %v", after, before)
			}
		})
	}
}

// An image of at most 256 colours survives GIF exactly; more colours are
// reduced to 256 with a small error.
func TestSaveGIFPalette(t *testing.T) {
	dir := t.TempDir()
	few := New(40, 30)
	for i := 0; i < len(few.Pix); i += 3 {
		k := i / 3 % 256
		few.Pix[i], few.Pix[i+1], few.Pix[i+2] = float32(k), float32(255-k), float32(k*7%256)
	}
	p := filepath.Join(dir, "few.gif")
	if err := Save(p, few); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, p); !slices.Equal(got.Pix, few.Pix) {
		t.Error("a 256-colour image changed through GIF")
	}
	many := smooth(120, 90)
	p = filepath.Join(dir, "many.gif")
	if err := Save(p, many); err != nil {
		t.Fatal(err)
	}
	want := truncated(many)
	meanErr := func(got *Image) float64 {
		var sum float64
		for i := range got.Pix {
			sum += math.Abs(float64(got.Pix[i] - want.Pix[i]))
		}
		return sum / float64(len(got.Pix))
	}
	got := mustRead(t, p)
	colors := map[[3]float32]bool{}
	for i := 0; i < len(got.Pix); i += 3 {
		colors[[3]float32{got.Pix[i], got.Pix[i+1], got.Pix[i+2]}] = true
	}
	// Go's default GIF palette (Plan 9, dithered), for comparison.
	var buf bytes.Buffer
	if err := gif.Encode(&buf, toRGBA(many), nil); err != nil {
		t.Fatal(err)
	}
	plan9, err := gif.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	mean, fixed := meanErr(got), meanErr(fromImage(plan9, many.W, many.H))
	if len(colors) > 256 || len(colors) < 200 || mean > fixed/2 {
		t.Errorf("%d colours, mean error %.2f (fixed palette %.2f): want 200..256 colours, under half the error", len(colors), mean, fixed)
	}
}

// TestSaveJPEGMatchesEncoder guards the quality setting from the other side:
// the bytes equal Go's encoder at quality 95 on the clipped image.
func TestSaveJPEGMatchesEncoder(t *testing.T) {
	img := smooth(33, 17)
	p := filepath.Join(t.TempDir(), "q.jpg")
	if err := Save(p, img); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	bw := bufio.NewWriter(&want)
	if err := encodeJPEG(bw, toRGBA(img)); err != nil {
		t.Fatal(err)
	}
	bw.Flush()
	if !bytes.Equal(got, want.Bytes()) || jpegLumaQ0(got) != 2 {
		t.Error("saved JPEG differs from a quality-95 encoding")
	}
}

// BenchmarkSave1024 writes a 1024 x 768 photo-like image (the size of a
// typical output) in each format.
func BenchmarkSave1024(b *testing.B) {
	img := smooth(1024, 768)
	for i := range img.Pix { // add grain so that the palette and codecs have work
		img.Pix[i] += float32((i * 7919) % 23)
	}
	dir := b.TempDir()
	for _, ext := range []string{".jpg", ".png", ".gif", ".bmp", ".tif"} {
		b.Run(ext, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Save(filepath.Join(dir, "out"+ext), img); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRemovePartial interrupts a Save in the middle of encoding, as a signal
// handler would, and checks that nothing is left and the Save fails.
func TestRemovePartial(t *testing.T) {
	const ext = ".test-blocking"
	started, release := make(chan struct{}), make(chan struct{})
	encoders[ext] = func(w io.Writer, m image.Image) error {
		w.Write([]byte("half an image"))
		close(started)
		<-release
		return nil
	}
	defer delete(encoders, ext)
	dir := t.TempDir()
	done := make(chan error)
	go func() { done <- Save(filepath.Join(dir, "out"+ext), smooth(4, 4)) }()
	<-started
	if names := listDir(t, dir); len(names) != 1 || !strings.HasSuffix(names[0], ".tmp") {
		t.Fatalf("while saving the folder holds %v, want one temporary file", names)
	}
	RemovePartial()
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("after RemovePartial the folder holds %v", names)
	}
	close(release)
	if err := <-done; err == nil {
		t.Error("the interrupted Save reported success")
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("after the Save the folder holds %v", names)
	}
}

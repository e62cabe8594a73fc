package jpeg

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoldensConcurrent decodes the goldens again with the sequential IDCT
// on its own goroutine (the large-image path) and wants the same pixels.
func TestGoldensConcurrent(t *testing.T) {
	saved := concurrentMinMCUs
	concurrentMinMCUs = 0
	defer func() { concurrentMinMCUs = saved }()
	for _, name := range goldenNames(t) {
		data := readGoldenJPEG(t, name)
		got, err := Decode(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := readPNG(t, filepath.Join(goldenDir, name+".png"))
		for y := 0; y < got.H; y++ {
			for x := 0; x < got.W; x++ {
				for c := 0; c < 3; c++ {
					if g, w := got.Pix[3*(y*got.W+x)+c], want.Pix[want.PixOffset(x, y)+c]; g != w {
						t.Fatalf("%s: %s", name, fmtPixel(x, y, c, int(g), int(w)))
					}
				}
			}
		}
	}
}

func readGoldenJPEG(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(goldenDir, name+".jpg"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeConfig(t *testing.T) {
	tests := []struct {
		name string
		want Config
	}{
		{"pil_420_q90_67x45", Config{67, 45, 3, false, YCbCr}},
		{"pil_420_prog_17x13", Config{17, 13, 3, true, YCbCr}},
		{"pil_gray_31x23", Config{31, 23, 1, false, Gray}},
		{"cjpeg_rgb_45x29", Config{45, 29, 3, false, RGB}},
		{"pil_cmyk_q90_45x29", Config{45, 29, 4, false, CMYK}},
		{"ycck_q90_45x29", Config{45, 29, 4, false, YCCK}},
		{"rgb_ids_no_adobe_45x29", Config{45, 29, 3, false, RGB}},
		{"ycc_ids789_no_jfif_45x29", Config{45, 29, 3, false, YCbCr}},
	}
	for _, tc := range tests {
		got, err := DecodeConfig(bytes.NewReader(readGoldenJPEG(t, tc.name)))
		if err != nil || got != tc.want {
			t.Errorf("%s: DecodeConfig = %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}

// patchSOF rewrites the frame header of a golden: its marker and precision.
func patchSOF(t *testing.T, data []byte, marker, precision byte) []byte {
	t.Helper()
	out := bytes.Clone(data)
	for i := 2; i+4 < len(out); {
		m, n := out[i+1], int(out[i+2])<<8|int(out[i+3])
		if m >= 0xc0 && m <= 0xc2 {
			out[i+1], out[i+4] = marker, precision
			return out
		}
		i += 2 + n
	}
	t.Fatal("no SOF")
	return nil
}

func TestDecodeErrors(t *testing.T) {
	base := readGoldenJPEG(t, "pil_420_q90_67x45")
	prog := readGoldenJPEG(t, "pil_420_prog_67x45")
	sosAt := bytes.Index(base, []byte{0xff, 0xda})
	var unsupported UnsupportedError
	var format FormatError
	tests := []struct {
		name string
		data []byte
		kind any // io.ErrUnexpectedEOF, &unsupported or &format
		msg  string
	}{
		{"empty", nil, &format, "missing SOI"},
		{"not jpeg", []byte("GIF89a...."), &format, "missing SOI"},
		{"soi only", base[:2], io.ErrUnexpectedEOF, ""},
		{"cut in headers", base[:sosAt-10], io.ErrUnexpectedEOF, ""},
		{"cut in scan", base[:len(base)/2], io.ErrUnexpectedEOF, ""},
		{"no EOI", base[:len(base)-2], io.ErrUnexpectedEOF, ""},
		{"progressive cut", prog[:len(prog)*2/3], io.ErrUnexpectedEOF, ""},
		{"12-bit", patchSOF(t, base, 0xc1, 12), &unsupported, "12-bit"},
		{"arithmetic", patchSOF(t, base, 0xc9, 8), &unsupported, "arithmetic"},
		{"arithmetic progressive", patchSOF(t, base, 0xca, 8), &unsupported, "arithmetic"},
		{"lossless", patchSOF(t, base, 0xc3, 8), &unsupported, "lossless"},
		{"hierarchical", patchSOF(t, base, 0xc5, 8), &unsupported, "hierarchical"},
		{"arithmetic (cjpeg)", readFile(t, "testdata/arithmetic.jpg"), &unsupported, "arithmetic coding (SOF9)"},
		{"arithmetic progressive (cjpeg)", readFile(t, "testdata/arithmetic_prog.jpg"), &unsupported, "arithmetic coding (SOF10)"},
		{"no SOF", append(bytes.Clone(base[:2]), base[sosAt:]...), &format, "SOS before SOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(bytes.NewReader(tc.data), nil)
			if err == nil {
				t.Fatalf("decoded %dx%d, want an error", m.W, m.H)
			}
			switch k := tc.kind.(type) {
			case *UnsupportedError, *FormatError:
				if !errors.As(err, k) || errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %v (%T), want %T", err, err, k)
				}
			case error:
				if !errors.Is(err, k) {
					t.Fatalf("error %v, want %v", err, k)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

// TestCheckSize: the limit is asked before pixel memory exists, and its
// error comes back as is.
func TestCheckSize(t *testing.T) {
	limit := errors.New("too big")
	var asked [2]int
	_, err := Decode(bytes.NewReader(readGoldenJPEG(t, "pil_420_q90_67x45")), &Options{CheckSize: func(w, h int) error {
		asked = [2]int{w, h}
		return limit
	}})
	if !errors.Is(err, limit) || asked != [2]int{67, 45} {
		t.Fatalf("error %v after asking about %v", err, asked)
	}
	// A frame header claiming 65535 x 65535 is refused before allocating.
	huge := bytes.Clone(readGoldenJPEG(t, "pil_gray_31x23"))
	i := bytes.Index(huge, []byte{0xff, 0xc0})
	copy(huge[i+5:], []byte{0xff, 0xff, 0xff, 0xff})
	_, err = Decode(bytes.NewReader(huge), &Options{CheckSize: func(w, h int) error {
		if int64(w)*int64(h) > 1e8 {
			return limit
		}
		return nil
	}})
	if !errors.Is(err, limit) {
		t.Fatalf("65535 x 65535: error %v", err)
	}
}

// FuzzDecode: no input makes the decoder panic or hang, and what decodes
// has the size the header gave.
func FuzzDecode(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(goldenDir, "index.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for i, name := range strings.Fields(string(b)) {
		if i%4 == 0 || strings.Contains(name, "prog") || strings.Contains(name, "restart") || strings.Contains(name, "scans") {
			data, err := os.ReadFile(filepath.Join(goldenDir, name+".jpg"))
			if err != nil {
				f.Fatal(err)
			}
			if len(data) < 8<<10 {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(w, h int) error {
			if int64(w)*int64(h) > 1<<20 {
				return errors.New("over the fuzz limit")
			}
			return nil
		}
		cfg, cerr := DecodeConfig(bytes.NewReader(data))
		m, err := Decode(bytes.NewReader(data), &Options{CheckSize: check})
		if err != nil {
			return
		}
		if cerr != nil {
			t.Fatalf("Decode succeeded where DecodeConfig failed: %v", cerr)
		}
		if m.W != cfg.Width || m.H != cfg.Height || len(m.Pix) != 3*m.W*m.H {
			t.Fatalf("decoded %dx%d (%d bytes), header says %dx%d", m.W, m.H, len(m.Pix), cfg.Width, cfg.Height)
		}
	})
}

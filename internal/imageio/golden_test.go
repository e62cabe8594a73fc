package imageio

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The goldens were made with Pillow 9.4 / NumPy 1.24 by testdata/pillow/make_pillow_golden.py.
const goldenDir = "../../testdata/pillow"

type golden struct {
	Source     string `json:"source"`
	SourceSize [2]int `json:"source_size"`
	Resize     []struct {
		Width, Height int
		File          string
	} `json:"resize"`
	ScaleResize []struct {
		StyleScale   float64 `json:"style_scale"`
		ContentWidth int     `json:"content_width"`
		Factor       float64 `json:"factor"`
		Width        int     `json:"width"`
		Height       int     `json:"height"`
	} `json:"scale_resize"`
	WidthPath []struct {
		ContentSize [2]int `json:"content_size"`
		Width       int    `json:"width"`
		Height      int    `json:"height"`
	} `json:"width_path"`
	Preserve struct {
		Content    string `json:"content"`
		StyledRaw  string `json:"styled_float32_raw"`
		StyledHWC  [3]int `json:"styled_shape_hwc"`
		StyledClip string `json:"styled_clipped_uint8"`
		Result     string `json:"result"`
	} `json:"preserve"`
}

func loadGolden(t testing.TB) golden {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Resize) == 0 || len(g.ScaleResize) == 0 || len(g.WidthPath) == 0 {
		t.Fatalf("golden.json incomplete: %+v", g)
	}
	return g
}

func readGolden(t testing.TB, name string) *Image {
	t.Helper()
	img, err := Read(filepath.Join(goldenDir, name), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// compareLevels checks the tolerance (at most 1 level off on 99% of
// channel values, never more than maxDiff) and reports how many differ at all.
func compareLevels(t *testing.T, name string, got, want *Image, maxDiff float32) {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("%s: size %d x %d, want %d x %d", name, got.W, got.H, want.W, want.H)
	}
	off, over1 := 0, 0
	var worst float32
	for i := range got.Pix {
		d := float32(math.Abs(float64(got.Pix[i] - want.Pix[i])))
		if d > 0 {
			off++
		}
		if d > 1 {
			over1++
		}
		worst = max(worst, d)
	}
	if worst > maxDiff || float64(over1) > 0.01*float64(len(got.Pix)) {
		t.Errorf("%s: %d of %d values differ, %d by more than 1, worst %v", name, off, len(got.Pix), over1, worst)
	}
	if off > 0 {
		t.Logf("%s: %d of %d values differ (worst %v)", name, off, len(got.Pix), worst)
	}
}

func TestResizeGolden(t *testing.T) {
	g := loadGolden(t)
	src := readGolden(t, g.Source)
	if src.W != g.SourceSize[0] || src.H != g.SourceSize[1] {
		t.Fatalf("source %d x %d, golden says %v", src.W, src.H, g.SourceSize)
	}
	for _, r := range g.Resize {
		t.Run(r.File, func(t *testing.T) {
			want := readGolden(t, r.File)
			// The reference resizes float images; values in between and outside
			// 0..255 must be clipped and truncated first, as it does.
			in := New(src.W, src.H)
			for i, v := range src.Pix {
				switch i % 7 {
				case 0:
					in.Pix[i] = v + 0.99
				case 1:
					if v == 0 {
						in.Pix[i] = -37
					} else {
						in.Pix[i] = v
					}
				case 2:
					if v == 255 {
						in.Pix[i] = 300
					} else {
						in.Pix[i] = v
					}
				default:
					in.Pix[i] = v
				}
			}
			compareLevels(t, r.File, Resize(in, r.Width, r.Height), want, 0)
		})
	}
}

func TestScaleArithmeticGolden(t *testing.T) {
	g := loadGolden(t)
	for _, s := range g.ScaleResize {
		f := StyleScaleFactor(s.StyleScale, s.ContentWidth, g.SourceSize[0])
		if f != s.Factor {
			t.Errorf("StyleScaleFactor(%v, %d, %d) = %v, want %v", s.StyleScale, s.ContentWidth, g.SourceSize[0], f, s.Factor)
		}
		w, h := ScaledSize(g.SourceSize[0], g.SourceSize[1], s.Factor)
		if w != s.Width || h != s.Height {
			t.Errorf("ScaledSize(%v, factor %v) = %d x %d, want %d x %d", g.SourceSize, s.Factor, w, h, s.Width, s.Height)
		}
	}
	for _, p := range g.WidthPath {
		w, h := WidthSize(p.ContentSize[0], p.ContentSize[1], p.Width)
		if w != p.Width || h != p.Height {
			t.Errorf("WidthSize(%v, %d) = %d x %d, want %d x %d", p.ContentSize, p.Width, w, h, p.Width, p.Height)
		}
	}
}

func TestSizeArithmeticQuirks(t *testing.T) {
	// Cases where exact arithmetic gives another size than the reference's
	// float64 Python (values checked with CPython 3.11).
	f := StyleScaleFactor(0.1, 10, 49) // Python: 0.1 * 10 / 49
	if f != 0.02040816326530612 {
		t.Errorf("StyleScaleFactor(0.1, 10, 49) = %v, want 0.02040816326530612 (not 0.1*(10/49) = 0.020408163265306124)", f)
	}
	tests := []struct {
		name         string
		w, h         int
		wantW, wantH int
	}{
		// int(49 * 0.02040816326530612) = int(0.9999999999999999) = 0: a zero width the caller must reject.
		{"ScaledSize(49, 98, f)", 0, 0, 0, 1},
		// floor(23.0 / 5 * 100) = floor(459.99999999999994) = 459, not 460.
		{"WidthSize(5, 23, 100)", 0, 0, 100, 459},
		// int(10 * 0.29) = int(2.9000000000000004) = 2.
		{"ScaledSize(10, 100, 0.29)", 0, 0, 2, 28},
	}
	tests = append(tests, []struct {
		name         string
		w, h         int
		wantW, wantH int
	}{
		// Out of range: saturated or 0, never a wrapped value.
		{"ScaledSize(10, 10, 1e300)", 0, 0, math.MaxInt32, math.MaxInt32},
		{"ScaledSize(10, 10, NaN)", 0, 0, 0, 0},
		{"ScaledSize(10, 10, -Inf)", 0, 0, math.MinInt32, math.MinInt32},
	}...)
	tests[3].w, tests[3].h = ScaledSize(10, 10, 1e300)
	tests[4].w, tests[4].h = ScaledSize(10, 10, math.NaN())
	tests[5].w, tests[5].h = ScaledSize(10, 10, math.Inf(-1))
	tests[0].w, tests[0].h = ScaledSize(49, 98, f)
	tests[1].w, tests[1].h = WidthSize(5, 23, 100)
	tests[2].w, tests[2].h = ScaledSize(10, 100, 0.29)
	for _, tc := range tests {
		if tc.w != tc.wantW || tc.h != tc.wantH {
			t.Errorf("%s = %d x %d, want %d x %d", tc.name, tc.w, tc.h, tc.wantW, tc.wantH)
		}
	}
}

func TestYCbCrGolden(t *testing.T) {
	g := loadGolden(t)
	src := readGolden(t, g.Source)
	ycc := RGBToYCbCr(src)
	compareLevels(t, "ycbcr.png", ycc, readGolden(t, "ycbcr.png"), 0)
	compareLevels(t, "ycbcr_roundtrip.png", YCbCrToRGB(ycc), readGolden(t, "ycbcr_roundtrip.png"), 0)
}

// TestYCbCrTables spot-checks the rebuilt fixed-point tables against entries
// of Pillow's libImaging/ConvertYCbCr.c, including ones where C truncation of
// a negative value differs from rounding.
func TestYCbCrTables(t *testing.T) {
	tests := []struct {
		name  string
		table *[256]int32
		i     int
		want  int32
	}{
		{"Y_R", &tYR, 4, 77}, {"Y_R", &tYR, 255, 4880},
		{"Y_G", &tYG, 1, 38}, {"Y_G", &tYG, 255, 9580},
		{"Y_B", &tYB, 2, 15}, {"Y_B", &tYB, 255, 1860},
		{"Cb_R", &tCbR, 4, -42}, {"Cb_R", &tCbR, 13, -139}, {"Cb_R", &tCbR, 255, -2753},
		{"Cb_G", &tCbG, 1, -20}, {"Cb_G", &tCbG, 255, -5405},
		{"Cb_B", &tCbB, 255, 8160},
		{"Cr_G", &tCrG, 1, -26}, {"Cr_G", &tCrG, 255, -6832},
		{"Cr_B", &tCrB, 1, -4}, {"Cr_B", &tCrB, 3, -15}, {"Cr_B", &tCrB, 255, -1326},
		{"R_Cr", &tRCr, 0, -11484}, {"R_Cr", &tRCr, 127, -89}, {"R_Cr", &tRCr, 255, 11395},
		{"G_Cb", &tGCb, 0, 2819}, {"G_Cb", &tGCb, 129, -21}, {"G_Cb", &tGCb, 255, -2796},
		{"G_Cr", &tGCr, 0, 5850}, {"G_Cr", &tGCr, 129, -45}, {"G_Cr", &tGCr, 255, -5804},
		{"B_Cb", &tBCb, 0, -14515}, {"B_Cb", &tBCb, 129, 113}, {"B_Cb", &tBCb, 255, 14403},
	}
	for _, tc := range tests {
		if got := tc.table[tc.i]; got != tc.want {
			t.Errorf("%s[%d] = %d, want %d", tc.name, tc.i, got, tc.want)
		}
	}
}

func TestPreserveColorsGolden(t *testing.T) {
	g := loadGolden(t)
	p := g.Preserve
	content := readGolden(t, p.Content)
	raw, err := os.ReadFile(filepath.Join(goldenDir, p.StyledRaw))
	if err != nil {
		t.Fatal(err)
	}
	h, w := p.StyledHWC[0], p.StyledHWC[1]
	if len(raw) != 4*h*w*3 || p.StyledHWC[2] != 3 {
		t.Fatalf("%s: %d bytes for shape %v", p.StyledRaw, len(raw), p.StyledHWC)
	}
	styled := New(w, h)
	outside := 0
	for i := range styled.Pix {
		styled.Pix[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if styled.Pix[i] < 0 || styled.Pix[i] > 255 {
			outside++
		}
	}
	if outside == 0 {
		t.Fatal("styled.f32 has no values outside 0..255: the clipping is not exercised")
	}
	// The saved clipped styled image checks the clip+truncate step on its own.
	clipped := New(w, h)
	for i, v := range styled.Pix {
		clipped.Pix[i] = float32(clip8(v))
	}
	compareLevels(t, p.StyledClip, clipped, readGolden(t, p.StyledClip), 0)
	compareLevels(t, p.Result, PreserveColors(content, styled), readGolden(t, p.Result), 0)
}

package jpeg

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goldenDir = "testdata/golden"

func goldenNames(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "index.txt"))
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Fields(string(b))
	if len(names) < 100 {
		t.Fatalf("index.txt lists %d goldens", len(names))
	}
	return names
}

func readPNG(t testing.TB, path string) *image.NRGBA {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := m.Bounds()
	out := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(x, y, m.At(x, y))
		}
	}
	return out
}

// TestGoldens decodes every golden JPEG and requires Pillow's values
// exactly: 0 levels of difference anywhere.
func TestGoldens(t *testing.T) {
	for _, name := range goldenNames(t) {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(goldenDir, name+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(bytes.NewReader(data), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := readPNG(t, filepath.Join(goldenDir, name+".png"))
			if got.W != want.Rect.Dx() || got.H != want.Rect.Dy() {
				t.Fatalf("size %d x %d, want %v", got.W, got.H, want.Rect.Size())
			}
			off, worst, first := 0, 0, ""
			for y := 0; y < got.H; y++ {
				for x := 0; x < got.W; x++ {
					for c := 0; c < 3; c++ {
						g, w := int(got.Pix[3*(y*got.W+x)+c]), int(want.Pix[want.PixOffset(x, y)+c])
						if g != w {
							if off == 0 {
								first = fmtPixel(x, y, c, g, w)
							}
							off++
							worst = max(worst, abs(g-w))
						}
					}
				}
			}
			if off > 0 {
				t.Errorf("%d of %d values differ (worst %d levels); first %s", off, 3*got.W*got.H, worst, first)
			}
		})
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func fmtPixel(x, y, c, got, want int) string {
	return "(" + itoa(x) + "," + itoa(y) + ")[" + itoa(c) + "] = " + itoa(got) + ", want " + itoa(want)
}

func itoa(v int) string {
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

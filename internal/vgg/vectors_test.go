package vgg

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
)

const vecDir = "../../testdata/vgg19-tiny"

type vecArray struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type vecCase struct {
	Network         string                `json:"network"`
	Name            string                `json:"name"`
	Pooling         string                `json:"pooling"`
	Content         string                `json:"content"`
	Styles          []string              `json:"styles"`
	ContentFeatures map[string]vecArray   `json:"content_features"`
	StyleGrams      []map[string]vecArray `json:"style_grams"`
}

type vectors struct {
	MeanPixel map[string][3]float32 `json:"mean_pixel"`
	Cases     []vecCase             `json:"cases"`
}

func readVectors(t *testing.T) *vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vecDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("vectors.json has no cases")
	}
	return &v
}

// readCHW decodes a PNG and returns it preprocessed (minus mean), 3 x h x w.
func readCHW(t *testing.T, name string, mean [3]float32) ([]float32, int, int) {
	t.Helper()
	f, err := os.Open(filepath.Join(vecDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b := img.Bounds()
	h, w := b.Dy(), b.Dx()
	out := make([]float32, 3*h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var px [3]uint8
			switch m := img.(type) {
			case *image.RGBA:
				c := m.RGBAAt(b.Min.X+x, b.Min.Y+y)
				px = [3]uint8{c.R, c.G, c.B}
			case *image.NRGBA:
				c := m.NRGBAAt(b.Min.X+x, b.Min.Y+y)
				px = [3]uint8{c.R, c.G, c.B}
			default:
				t.Fatalf("%s: unexpected image type %T", name, img)
			}
			for c := 0; c < 3; c++ {
				out[(c*h+y)*w+x] = float32(px[c]) - mean[c]
			}
		}
	}
	return out, h, w
}

// relErrHWC compares a CHW tensor with an HWC reference, relative to the
// reference's largest magnitude.
func relErrHWC(t *testing.T, got []float32, c, h, w int, want vecArray) float64 {
	t.Helper()
	if fmt.Sprint(want.Shape) != fmt.Sprint([]int{h, w, c}) {
		t.Fatalf("shape %v, want %v", []int{h, w, c}, want.Shape)
	}
	var maxErr, maxRef float64
	for ch := 0; ch < c; ch++ {
		for p := 0; p < h*w; p++ {
			ref := want.Data[p*c+ch]
			maxErr = math.Max(maxErr, math.Abs(float64(got[ch*h*w+p])-ref))
			maxRef = math.Max(maxRef, math.Abs(ref))
		}
	}
	return maxErr / maxRef
}

func relErr(got []float32, want []float64) float64 {
	var maxErr, maxRef float64
	for i, v := range want {
		maxErr = math.Max(maxErr, math.Abs(float64(got[i])-v))
		maxRef = math.Max(maxRef, math.Abs(v))
	}
	return maxErr / maxRef
}

// TestVectors checks the content features and style Grams of the
// reference (nsref.py) for both network files and both poolings.
func TestVectors(t *testing.T) {
	v := readVectors(t)
	k := nn.Portable()
	for _, tc := range v.Cases {
		t.Run(tc.Network+"/"+tc.Name, func(t *testing.T) {
			wt, err := Load(filepath.Join(vecDir, tc.Network))
			if err != nil {
				t.Fatal(err)
			}
			mean, ok := v.MeanPixel[tc.Network]
			if !ok {
				t.Fatalf("no mean pixel for %s", tc.Network)
			}
			pooling := engine.MaxPool
			if tc.Pooling == "avg" {
				pooling = engine.AvgPool
			}
			img, h, w := readCHW(t, tc.Content, mean)
			net, err := NewNetwork(wt, k, h, w, pooling, []Layer{0, 4, 9, 12, 13})
			if err != nil {
				t.Fatal(err)
			}
			net.Forward(img)
			if len(tc.ContentFeatures) != 5 {
				t.Fatalf("%d content features, want 5", len(tc.ContentFeatures))
			}
			for name, want := range tc.ContentFeatures {
				l, err := LayerIndex(name)
				if err != nil {
					t.Fatal(err)
				}
				c, lh, lw := net.Shape(l)
				if e := relErrHWC(t, net.Features(l), c, lh, lw, want); e > 1e-4 {
					t.Errorf("content %s: relative error %.3g", name, e)
				}
			}

			if len(tc.StyleGrams) != len(tc.Styles) {
				t.Fatalf("%d style Gram sets for %d styles", len(tc.StyleGrams), len(tc.Styles))
			}
			for i, s := range tc.Styles {
				img, h, w := readCHW(t, s, mean)
				snet, err := NewNetwork(wt, k, h, w, pooling, []Layer{0, 2, 4, 8, 12})
				if err != nil {
					t.Fatal(err)
				}
				snet.Forward(img)
				for _, name := range engine.StyleLayers {
					want, ok := tc.StyleGrams[i][name]
					if !ok {
						t.Fatalf("style %d: no %s Gram", i, name)
					}
					l, _ := LayerIndex(name)
					c, lh, lw := snet.Shape(l)
					g := make([]float32, c*c)
					k.Gram(g, snet.Features(l), c, lh*lw, float32(1/float64(c*lh*lw)))
					if fmt.Sprint(want.Shape) != fmt.Sprint([]int{c, c}) {
						t.Fatalf("style %d %s: shape %v, want %dx%d", i, name, want.Shape, c, c)
					}
					if e := relErr(g, want.Data); e > 1e-4 {
						t.Errorf("style %d %s: relative error %.3g", i, name, e)
					}
				}
			}
		})
	}
}

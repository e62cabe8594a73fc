package vgg_test

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

const vecDir = "../../testdata/vgg19-tiny"

// chw is im (HWC, as the vectors' images load) as the network takes it.
func chw(im engine.Image) []float32 {
	out := make([]float32, len(im.Pix))
	for p := 0; p < im.H*im.W; p++ {
		for c := 0; c < 3; c++ {
			out[c*im.H*im.W+p] = im.Pix[p*3+c]
		}
	}
	return out
}

// readCHW reads a case image of the vectors preprocessed (minus mean), 3 x h x w.
func readCHW(t *testing.T, v *vggtest.Vectors, name string, mean [3]float32) ([]float32, int, int) {
	t.Helper()
	im, err := v.Image(name, mean)
	if err != nil {
		t.Fatal(err)
	}
	return chw(im), im.H, im.W
}

// relErrHWC compares a CHW tensor with an HWC reference, relative to the
// reference's largest magnitude.
func relErrHWC(t *testing.T, got []float32, c, h, w int, want vggtest.Array) float64 {
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
// reference (scripts/torch/nsref.py) for both network files and both poolings.
func TestVectors(t *testing.T) {
	v, err := vggtest.LoadVectors(vecDir)
	if err != nil {
		t.Fatal(err)
	}
	k := nn.Portable()
	for _, tc := range v.Cases {
		t.Run(tc.Network+"/"+tc.Name, func(t *testing.T) {
			wt, err := vgg.Load(filepath.Join(vecDir, tc.Network))
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
			img, h, w := readCHW(t, v, tc.Content, mean)
			net, err := vgg.NewNetwork(wt, k, h, w, pooling, []vgg.Layer{0, 4, 9, 12, 13})
			if err != nil {
				t.Fatal(err)
			}
			net.Forward(img)
			if len(tc.ContentFeatures) != 5 {
				t.Fatalf("%d content features, want 5", len(tc.ContentFeatures))
			}
			for name, want := range tc.ContentFeatures {
				l, err := vgg.LayerIndex(name)
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
				img, h, w := readCHW(t, v, s, mean)
				snet, err := vgg.NewNetwork(wt, k, h, w, pooling, []vgg.Layer{0, 2, 4, 8, 12})
				if err != nil {
					t.Fatal(err)
				}
				snet.Forward(img)
				for _, name := range vgg.ReferenceStyleLayers {
					want, ok := tc.StyleGrams[i][name]
					if !ok {
						t.Fatalf("style %d: no %s Gram", i, name)
					}
					l, _ := vgg.LayerIndex(name)
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

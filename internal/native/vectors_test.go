package native

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
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

const tinyDir = "../../testdata/vgg19-tiny"

type vecArray struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

type vecCase struct {
	Network             string             `json:"network"`
	Name                string             `json:"name"`
	Pooling             string             `json:"pooling"`
	Content             string             `json:"content"`
	Initial             string             `json:"initial"`
	Styles              []string           `json:"styles"`
	ContentWeight       float64            `json:"content_weight"`
	ContentWeightBlend  float64            `json:"content_weight_blend"`
	StyleWeight         float64            `json:"style_weight"`
	StyleLayerWeightExp float64            `json:"style_layer_weight_exp"`
	StyleBlendWeights   []float64          `json:"style_blend_weights"`
	TVWeight            float64            `json:"tv_weight"`
	InitialLosses       map[string]float64 `json:"initial_losses"`
	InitialGradient     vecArray           `json:"initial_gradient"`
}

type vectors struct {
	MeanPixel map[string][3]float32 `json:"mean_pixel"`
	Cases     []vecCase             `json:"cases"`
}

// readHWC decodes a PNG and returns it preprocessed (minus mean), HWC.
func readHWC(t *testing.T, name string, mean [3]float32) engine.Image {
	t.Helper()
	f, err := os.Open(filepath.Join(tinyDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b := img.Bounds()
	im := engine.Image{H: b.Dy(), W: b.Dx(), Pix: make([]float32, 3*b.Dx()*b.Dy())}
	for y := 0; y < im.H; y++ {
		for x := 0; x < im.W; x++ {
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
				im.Pix[(y*im.W+x)*3+c] = float32(px[c]) - mean[c]
			}
		}
	}
	return im
}

// specFor resolves a case's options as the reference does.
func specFor(t *testing.T, tc *vecCase, mean [3]float32) *engine.Spec {
	sp := &engine.Spec{
		Content:             readHWC(t, tc.Content, mean),
		ContentWeight:       tc.ContentWeight,
		ContentLayerWeights: [2]float64{tc.ContentWeightBlend, 1 - tc.ContentWeightBlend},
		StyleWeight:         tc.StyleWeight,
		TVWeight:            tc.TVWeight,
	}
	if tc.Pooling == "avg" {
		sp.Pooling = engine.AvgPool
	}
	var sum float64
	for i, lw := 0, 1.0; i < 5; i, lw = i+1, lw*tc.StyleLayerWeightExp {
		sp.StyleLayerWeights[i] = lw
		sum += lw
	}
	for i := range sp.StyleLayerWeights {
		sp.StyleLayerWeights[i] /= sum
	}
	blend := tc.StyleBlendWeights
	if blend == nil {
		blend = make([]float64, len(tc.Styles))
		for i := range blend {
			blend[i] = 1
		}
	}
	sum = 0
	for _, b := range blend {
		sum += b
	}
	for i, s := range tc.Styles {
		sp.Styles = append(sp.Styles, readHWC(t, s, mean))
		sp.StyleBlendWeights = append(sp.StyleBlendWeights, blend[i]/sum)
	}
	return sp
}

// TestVectors checks the initial losses and gradient of the reference
// (nsref.py) through Problem.Eval.
func TestVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(tinyDir, "vectors.json"))
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
	for _, tc := range v.Cases {
		t.Run(tc.Network+"/"+tc.Name, func(t *testing.T) {
			wt, err := vgg.Load(filepath.Join(tinyDir, tc.Network))
			if err != nil {
				t.Fatal(err)
			}
			mean := v.MeanPixel[tc.Network]
			prob, err := New(wt, nn.Portable()).NewProblem(specFor(t, &tc, mean))
			if err != nil {
				t.Fatal(err)
			}
			defer prob.Close()
			x := readHWC(t, tc.Initial, mean)
			grad := make([]float32, len(x.Pix))
			got, err := prob.Eval(&x, grad)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				got  float64
			}{{"content", got.Content}, {"style", got.Style}, {"tv", got.TV}, {"total", got.Total}} {
				want, ok := tc.InitialLosses[c.name]
				if !ok {
					t.Fatalf("no initial %s loss", c.name)
				}
				if math.Abs(c.got-want) > 1e-4*math.Abs(want) {
					t.Errorf("%s loss = %.8g, want %.8g", c.name, c.got, want)
				}
			}
			if fmt.Sprint(tc.InitialGradient.Shape) != fmt.Sprint([]int{x.H, x.W, 3}) {
				t.Fatalf("gradient shape %v, image %dx%d", tc.InitialGradient.Shape, x.H, x.W)
			}
			var maxErr, maxRef float64
			for i, w := range tc.InitialGradient.Data {
				maxErr = math.Max(maxErr, math.Abs(float64(grad[i])-w))
				maxRef = math.Max(maxRef, math.Abs(w))
			}
			t.Logf("losses %+v; gradient error %.3g of the largest magnitude", got, maxErr/maxRef)
			if maxErr > 1e-3*maxRef {
				t.Errorf("gradient: largest error %g, %.3g of the largest magnitude %g", maxErr, maxErr/maxRef, maxRef)
			}
		})
	}
}

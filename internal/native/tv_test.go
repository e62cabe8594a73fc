package native

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// tv64 is the total variation term in float64 with a dimension that has no
// neighbours contributing 0 (the reference's 0/0 would make it NaN).
func tv64(x []float64, h, w int, weight float64) float64 {
	var sy, sx float64
	for y := 0; y < h; y++ {
		for q := 0; q < w*3; q++ {
			if y+1 < h {
				d := x[(y+1)*w*3+q] - x[y*w*3+q]
				sy += d * d
			}
			if q >= 3 {
				d := x[y*w*3+q] - x[y*w*3+q-3]
				sx += d * d
			}
		}
	}
	var tv float64
	if h > 1 {
		tv += sy / float64((h-1)*w*3)
	}
	if w > 1 {
		tv += sx / float64(h*(w-1)*3)
	}
	return weight * tv
}

// TestTVOnePixelWide checks the tv loss and its gradient on images one
// pixel high or wide: finite, the other dimension's term alone, and the
// gradient that of that term (central differences).
func TestTVOnePixelWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	for _, size := range [][2]int{{1, 9}, {7, 1}, {1, 1}, {2, 5}} {
		h, w := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", h, w), func(t *testing.T) {
			spec := &engine.Spec{
				Content:           vggtest.RandomImage(rng, h, w),
				Styles:            []engine.Image{vggtest.RandomImage(rng, 6, 6)},
				ContentLayers:     []engine.LayerWeight{{Layer: "relu4_2", Weight: 1}},
				StyleBlendWeights: []float64{1},
				StyleLayers:       []engine.LayerWeight{{Layer: "relu1_1", Weight: 1}},
				TVWeight:          100,
			}
			prob, err := New(wt, nn.Portable()).NewProblem(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer prob.Close()
			x := vggtest.RandomImage(rng, h, w)
			grad := make([]float32, len(x.Pix))
			got, err := prob.Eval(&x, grad)
			if err != nil {
				t.Fatal(err)
			}
			x64 := nntest.To64(x.Pix)
			want := tv64(x64, h, w, spec.TVWeight)
			if math.IsNaN(got.TV) || math.Abs(got.TV-want) > 1e-5*math.Abs(want) || (want == 0) != (got.TV == 0) {
				t.Errorf("tv loss = %g, want %g", got.TV, want)
			}
			if math.IsNaN(got.Total) {
				t.Errorf("total loss is NaN")
			}
			for j := range x64 {
				const e = 1e-3
				old := x64[j]
				x64[j] = old + e
				up := tv64(x64, h, w, spec.TVWeight)
				x64[j] = old - e
				down := tv64(x64, h, w, spec.TVWeight)
				x64[j] = old
				fd := (up - down) / (2 * e)
				if g := float64(grad[j]); math.IsNaN(g) || math.Abs(fd-g) > 1e-3*math.Max(1, math.Abs(fd)) {
					t.Errorf("d/dx[%d] = %g, finite differences %g", j, g, fd)
				}
			}
		})
	}
}

package native

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

const tinyDir = "../../testdata/vgg19-tiny"

// TestVectors checks the initial losses and gradient of the reference
// (scripts/torch/nsref.py) through Problem.Eval.
func TestVectors(t *testing.T) {
	v, err := vggtest.LoadVectors(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range v.Cases {
		t.Run(tc.Network+"/"+tc.Name, func(t *testing.T) {
			wt, err := vgg.Load(filepath.Join(tinyDir, tc.Network))
			if err != nil {
				t.Fatal(err)
			}
			mean := v.MeanPixel[tc.Network]
			spec, err := v.Spec(&tc, mean)
			if err != nil {
				t.Fatal(err)
			}
			prob, err := New(wt, nn.Portable()).NewProblem(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer prob.Close()
			x, err := v.Image(tc.Initial, mean)
			if err != nil {
				t.Fatal(err)
			}
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

//go:build tensorflow

package tfbackend

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// TestMatchesNative evaluates the same objectives with this engine and the
// native one: odd sizes (uneven pooling windows), both poolings, several
// styles of other sizes, and the content weights that drop relu5_2 or the
// whole content loss.
func TestMatchesNative(t *testing.T) {
	tests := []struct {
		pooling       engine.Pooling
		h, w          int
		contentWeight float64
		blend         float64
		styles        int
	}{
		{engine.MaxPool, 37, 29, 5, 1, 1},
		{engine.AvgPool, 37, 29, 5, 1, 1},
		{engine.MaxPool, 45, 50, 20, 0.3, 2},
		{engine.AvgPool, 33, 41, 20, 0.3, 3},
		{engine.MaxPool, 30, 34, 0, 0.5, 1},
	}
	rng := rand.New(rand.NewPCG(7, 11))
	w := vggtest.RandomWeights(rng, [5]int{8, 16, 24, 32, 40})
	tfe, err := New(w)
	if err != nil {
		t.Fatal(err)
	}
	ne := native.New(w, native.DefaultKernels())
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%v/%dx%d/cw%g/b%g/%dstyles", tc.pooling, tc.h, tc.w, tc.contentWeight, tc.blend, tc.styles), func(t *testing.T) {
			spec := &engine.Spec{
				Content:       vggtest.RandomImage(rng, tc.h, tc.w),
				Pooling:       tc.pooling,
				ContentWeight: tc.contentWeight,
				ContentLayers: vggtest.Weighted(vgg.ReferenceContentLayers, tc.blend, 1-tc.blend),
				StyleWeight:   500,
				StyleLayers:   vggtest.Weighted(vgg.ReferenceStyleLayers, 0.1, 0.15, 0.2, 0.25, 0.3),
				TVWeight:      100,
			}
			for i := 0; i < tc.styles; i++ {
				spec.Styles = append(spec.Styles, vggtest.RandomImage(rng, tc.h-3+5*i, tc.w+4-3*i))
				spec.StyleBlendWeights = append(spec.StyleBlendWeights, float64(i+1)/float64(tc.styles*(tc.styles+1)/2))
			}
			tp, err := tfe.NewProblem(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer tp.Close()
			np, err := ne.NewProblem(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer np.Close()
			for k := 0; k < 2; k++ {
				x := vggtest.RandomImage(rng, tc.h, tc.w)
				tg, ng := make([]float32, len(x.Pix)), make([]float32, len(x.Pix))
				tl, err := tp.Eval(&x, tg)
				if err != nil {
					t.Fatal(err)
				}
				nl, err := np.Eval(&x, ng)
				if err != nil {
					t.Fatal(err)
				}
				if tc.contentWeight == 0 && (tl.Content != 0 || nl.Content != 0) {
					t.Errorf("content loss %g (tensorflow), %g (native) with a zero content weight", tl.Content, nl.Content)
				}
				want := vggtest.Losses{"content": nl.Content, "style": nl.Style, "tv": nl.TV, "total": nl.Total}
				if tc.contentWeight == 0 {
					want["content"] = 1 // lossesClose divides by it; checked above
					tl.Content = 1
				}
				lossesClose(t, fmt.Sprintf("image %d", k), tl, want, tolEval)
				ng64 := make([]float64, len(ng))
				for i, v := range ng {
					ng64[i] = float64(v)
				}
				closeTo(t, fmt.Sprintf("image %d gradient", k), tg, ng64, tolEval)
			}
		})
	}
}

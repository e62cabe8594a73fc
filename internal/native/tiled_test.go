package native

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// tiledSpec is a problem of content size h x w with one style of its size
// and one of another, relu5_2 weighted when blend < 1. The styles' pixels
// are spread less and more than the images', as a style's statistics
// differ from the image's: with the same spread, the Grams of two random
// images agree to within 1%, and the style loss, the square of their
// difference, would magnify the Grams' float32 rounding a hundredfold.
func tiledSpec(rng *rand.Rand, h, w int, pooling engine.Pooling, blend float64) *engine.Spec {
	s := tinySpec(rng, pooling, blend)
	s.Content = vggtest.RandomImage(rng, h, w)
	s.Styles = []engine.Image{vggtest.RandomImage(rng, h, w), vggtest.RandomImage(rng, h*2/3, w+5)}
	for i, f := range []float32{0.5, 1.5} {
		for q := range s.Styles[i].Pix {
			s.Styles[i].Pix[q] *= f
		}
	}
	return s
}

// shallowStyle reads the style at relu1_1 alone and the content at
// relu4_2.
var shallowStyle = layerLists{
	content: vggtest.Weighted([]string{"relu4_2"}, 1),
	style:   vggtest.Weighted([]string{"relu1_1"}, 1),
}

// referenceStyleTaps are the reference's style layers, relu1_1 .. relu5_1.
var referenceStyleTaps = []vgg.Layer{0, 2, 4, 8, 12}

func relDiff(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = math.Max(m, math.Abs(float64(want[i])))
	}
	return d / m
}

// evalBoth evaluates spec at x untiled and with opt, returning both.
func evalBoth(t *testing.T, wt *vgg.Weights, spec *engine.Spec, opt Options, x *engine.Image) (engine.Losses, engine.Losses, []float32, []float32) {
	t.Helper()
	k := nn.Portable()
	ref, err := New(wt, k).NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	if _, ok := ref.(*problem); !ok {
		t.Fatalf("untiled engine made a %T", ref)
	}
	prob, err := NewWithOptions(wt, k, opt).NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer prob.Close()
	tp, ok := prob.(*tiledProblem)
	if !ok {
		t.Fatalf("options %+v made a %T, not tiled", opt, prob)
	}
	if pl := tp.Plan(); pl.TilesY*pl.TilesX < 2 {
		t.Fatalf("plan %v has one tile", pl)
	}
	want := make([]float32, len(x.Pix))
	got := make([]float32, len(x.Pix))
	lw, err := ref.Eval(x, want)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := prob.Eval(x, got)
	if err != nil {
		t.Fatal(err)
	}
	// A second evaluation gives the same: the accumulators start afresh.
	again := make([]float32, len(x.Pix))
	if l2, err := prob.Eval(x, again); err != nil || l2 != lg {
		t.Errorf("second Eval: %+v, %v; first %+v", l2, err, lg)
	}
	if relDiff(again, got) != 0 {
		t.Errorf("second Eval's gradient differs")
	}
	if l3, err := prob.Eval(x, nil); err != nil || l3 != lg {
		t.Errorf("Eval without gradient: %+v, %v; with %+v", l3, err, lg)
	}
	return lg, lw, got, want
}

func checkLosses(t *testing.T, got, want engine.Losses) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"content", got.Content, want.Content}, {"style", got.Style, want.Style}, {"tv", got.TV, want.TV}, {"total", got.Total, want.Total}} {
		if math.Abs(c.got-c.want) > 1e-5*math.Abs(c.want) || (c.want == 0) != (c.got == 0) {
			t.Errorf("%s loss = %.9g, untiled %.9g", c.name, c.got, c.want)
		}
	}
}

// TestTiledEval checks that a tiled problem's losses and gradient are the
// untiled one's: tiny and full widths, both poolings, each segment depth,
// relu5_2 weighted or not, tiles down to one cell.
func TestTiledEval(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	tiny := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	full := vggtest.RandomWeights(rng, vggtest.FullWidths)
	for _, tc := range []struct {
		name        string
		wt          *vgg.Weights
		h, w        int
		pooling     engine.Pooling
		blend       float64
		depth, tile int
		layers      *layerLists // nil: the reference's
	}{
		{"tiny", tiny, 37, 29, engine.MaxPool, 0.5, 2, 1, nil},
		{"tiny", tiny, 37, 29, engine.AvgPool, 1, 2, 3, nil},
		{"tiny", tiny, 65, 97, engine.MaxPool, 0.5, 4, 1, nil},
		{"tiny", tiny, 65, 97, engine.AvgPool, 0.5, 4, 6, nil},
		{"tiny", tiny, 150, 131, engine.MaxPool, 1, 8, 2, nil},
		// Through pool4 the halo is 128 pixels: a thin image tiles one
		// axis in many windows, a larger one both in few.
		{"tiny", tiny, 600, 37, engine.AvgPool, 0.5, 12, 1, nil},
		{"tiny", tiny, 410, 400, engine.MaxPool, 0.5, 12, 8, nil},
		{"full", full, 53, 45, engine.AvgPool, 0.5, 4, 3, nil},
		// Other layer lists: some inside the tiled segment, some deeper.
		{"tiny", tiny, 65, 97, engine.MaxPool, 0.5, 4, 3, &otherLayers},
		{"tiny", tiny, 150, 131, engine.AvgPool, 0.5, 8, 2, &otherLayers},
		// Style layers shallower than the segment: the style images'
		// networks are not tiled as the content's is.
		{"tiny", tiny, 150, 131, engine.MaxPool, 0.5, 8, 2, &shallowStyle},
	} {
		t.Run(fmt.Sprintf("%s/%dx%d/%v/blend=%g/depth%d/tile%d", tc.name, tc.h, tc.w, tc.pooling, tc.blend, tc.depth, tc.tile), func(t *testing.T) {
			spec := tiledSpec(rng, tc.h, tc.w, tc.pooling, tc.blend)
			if tc.layers != nil {
				spec.ContentLayers, spec.StyleLayers = tc.layers.content, tc.layers.style
			}
			x := vggtest.RandomImage(rng, tc.h, tc.w)
			got, want, g, gw := evalBoth(t, tc.wt, spec, Options{Depth: tc.depth, Tile: tc.tile}, &x)
			checkLosses(t, got, want)
			if e := relDiff(g, gw); e > 1e-4 || math.IsNaN(e) {
				t.Errorf("gradient differs by %g of its largest magnitude", e)
			}
		})
	}
}

// TestTiledVectors checks the reference's initial losses and gradient
// (nsref.py) through a tiled problem, as TestVectors does untiled.
func TestTiledVectors(t *testing.T) {
	v, err := vggtest.LoadVectors(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range v.Cases {
		for _, tile := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%s/tile%d", tc.Network, tc.Name, tile), func(t *testing.T) {
				wt, err := vgg.Load(filepath.Join(tinyDir, tc.Network))
				if err != nil {
					t.Fatal(err)
				}
				mean := v.MeanPixel[tc.Network]
				spec, err := v.Spec(&tc, mean)
				if err != nil {
					t.Fatal(err)
				}
				x, err := v.Image(tc.Initial, mean)
				if err != nil {
					t.Fatal(err)
				}
				got, untiled, grad, gw := evalBoth(t, wt, spec, Options{Depth: 2, Tile: tile}, &x)
				checkLosses(t, got, untiled)
				if e := relDiff(grad, gw); e > 1e-4 {
					t.Errorf("gradient differs from the untiled one by %g of its largest magnitude", e)
				}
				for _, c := range []struct {
					name string
					got  float64
				}{{"content", got.Content}, {"style", got.Style}, {"tv", got.TV}, {"total", got.Total}} {
					if want := tc.InitialLosses[c.name]; math.Abs(c.got-want) > 1e-4*math.Abs(want) {
						t.Errorf("%s loss = %.8g, reference %.8g", c.name, c.got, want)
					}
				}
				var maxErr, maxRef float64
				for i, w := range tc.InitialGradient.Data {
					maxErr = math.Max(maxErr, math.Abs(float64(grad[i])-w))
					maxRef = math.Max(maxRef, math.Abs(w))
				}
				if maxErr > 1e-3*maxRef {
					t.Errorf("gradient: largest error %.3g of the largest magnitude", maxErr/maxRef)
				}
			})
		}
	}
}

func TestTiledEvalAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	spec := tiledSpec(rng, 65, 57, engine.MaxPool, 0.5)
	prob, err := NewWithOptions(wt, nn.Portable(), Options{Depth: 4, Tile: 2}).NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	x := vggtest.RandomImage(rng, 65, 57)
	grad := make([]float32, len(x.Pix))
	prob.Eval(&x, grad)
	if a := testing.AllocsPerRun(3, func() { prob.Eval(&x, grad) }); a > 0 {
		t.Errorf("Eval: %v allocations per call, want 0", a)
	}
}

// TestMaxBytes checks the budget: none or a large one leaves the problem
// untiled, a smaller one tiles it within the budget, and one below the
// least plan is refused with that plan's size.
func TestMaxBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	spec := tiledSpec(rng, 200, 180, engine.MaxPool, 0.5)
	untiled, err := PlanFor(spec, vgg.WidthsOf(wt), 0)
	if err != nil || untiled.Tiled() {
		t.Fatalf("no budget: %v, %v", untiled, err)
	}
	for _, budget := range []int64{0, untiled.Bytes} {
		prob, err := NewWithOptions(wt, nn.Portable(), Options{MaxBytes: budget}).NewProblem(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := prob.(*problem); !ok {
			t.Errorf("budget %d: %T, want untiled", budget, prob)
		}
	}
	budget := untiled.Bytes / 3
	prob, err := NewWithOptions(wt, nn.Portable(), Options{MaxBytes: budget}).NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	tp, ok := prob.(*tiledProblem)
	if !ok {
		t.Fatalf("budget %d: %T, want tiled", budget, prob)
	}
	if pl := tp.Plan(); pl.Bytes > budget || !pl.Tiled() {
		t.Errorf("plan %v for a budget of %d bytes", pl, budget)
	}
	// The spec's own budget drives the engine without options alike.
	withBudget := *spec
	withBudget.MaxBytes = budget
	prob, err = New(wt, nn.Portable()).NewProblem(&withBudget)
	if err != nil {
		t.Fatal(err)
	}
	if sp, ok := prob.(*tiledProblem); !ok || sp.Plan().String() != tp.Plan().String() {
		t.Errorf("spec.MaxBytes %d: %T, want the plan %v", budget, prob, tp.Plan())
	}
	least, err := PlanFor(spec, vgg.WidthsOf(wt), 1)
	if !errors.Is(err, vgg.ErrBudget) || !least.Tiled() {
		t.Fatalf("1-byte budget: %v, %v", least, err)
	}
	if _, err := NewWithOptions(wt, nn.Portable(), Options{MaxBytes: least.Bytes - 1}).NewProblem(spec); !errors.Is(err, vgg.ErrBudget) {
		t.Errorf("budget below the least plan: %v", err)
	}
	if _, err := NewWithOptions(wt, nn.Portable(), Options{MaxBytes: least.Bytes}).NewProblem(spec); err != nil {
		t.Errorf("budget of the least plan: %v", err)
	}
}

// TestProblemBytes checks the accounting of a problem's buffers, its
// network's and its own, against what NewProblem allocates: tiny widths,
// so that the packed weights are small beside the activations, and a
// second problem on the same kernels, so that their scratch (not the
// network's, and kernel-specific) is the first one's, already allocated.
func TestProblemBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	for _, c := range []struct {
		blend float64
		opt   Options
	}{{0.5, Options{}}, {1, Options{}}, {0.5, Options{Depth: 4, Tile: 20}}, {0.5, Options{Depth: 12, Tile: 8}}} {
		spec := tiledSpec(rng, 400, 360, engine.MaxPool, c.blend)
		spec.Styles[1] = vggtest.RandomImage(rng, 40, 30) // its network is dropped before
		e := NewWithOptions(wt, nn.Portable(), c.opt).(*nativeEngine)
		_, taps, err := resolved(spec)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := e.contentPlan(spec, taps)
		if err != nil {
			t.Fatal(err)
		}
		own, err := ProblemBytes(spec, vgg.WidthsOf(wt), plan)
		if err != nil {
			t.Fatal(err)
		}
		want := plan.Bytes + own
		first, err := e.NewProblem(spec)
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		prob, err := e.NewProblem(spec)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		got := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		runtime.KeepAlive(prob)
		runtime.KeepAlive(spec) // its images, which the problem does not keep
		if r := float64(got) / float64(want); r < 0.9 || r > 1.1 {
			t.Errorf("%+v, blend %g (%v): allocated %d bytes, accounted %d", c.opt, c.blend, plan, got, want)
		}
	}
}

// TestMaxBytesStyle checks that a style image whose network would not fit
// the budget is tiled even when the content's fits untiled, with the same
// losses.
func TestMaxBytesStyle(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	spec := tiledSpec(rng, 40, 30, engine.MaxPool, 0.5)
	spec.Styles[1] = vggtest.RandomImage(rng, 300, 280)
	content, err := PlanFor(spec, vgg.WidthsOf(wt), 0)
	if err != nil {
		t.Fatal(err)
	}
	style, _ := vgg.NewPlan(vgg.PlanSpec{H: 300, W: 280, Pooling: engine.MaxPool, Taps: referenceStyleTaps, Widths: vgg.WidthsOf(wt)}, 0, 0)
	budget := style.Bytes / 2
	if content.Bytes > budget {
		t.Fatalf("content network %d bytes, budget %d", content.Bytes, budget)
	}
	x := vggtest.RandomImage(rng, 40, 30)
	var losses [2]engine.Losses
	for i, opt := range []Options{{}, {MaxBytes: budget}} {
		prob, err := NewWithOptions(wt, nn.Portable(), opt).NewProblem(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := prob.(*problem); !ok {
			t.Fatalf("%+v: %T, want untiled", opt, prob)
		}
		if losses[i], err = prob.Eval(&x, nil); err != nil {
			t.Fatal(err)
		}
	}
	checkLosses(t, losses[1], losses[0])
	if _, err := NewWithOptions(wt, nn.Portable(), Options{MaxBytes: content.Bytes}).NewProblem(spec); err != nil {
		least, _ := vgg.PlanTiles(style.Spec, 1)
		if least.Bytes <= content.Bytes || !errors.Is(err, vgg.ErrBudget) {
			t.Errorf("budget of the content's network: %v", err)
		}
	}
}

package vgg_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// quadTap's loss at each tapped layer l is r_l . act_l + s/2 |act_l|^2, so
// that its gradient, r_l + s act_l, depends on the features as the style
// and content losses' do. It runs on a Network (whole layers) or a
// TiledNetwork (tiles too), in which case it assembles the tiles'
// features and counts how often each cell was passed.
type quadTap struct {
	r     map[vgg.Layer][]float32
	s     float32
	shape func(vgg.Layer) (c, h, w int)
	feat  func(vgg.Layer) []float32 // whole layers
	seen  map[vgg.Layer][]float32   // tiles' features, assembled
	count map[vgg.Layer][]int
}

func (q *quadTap) AddGrad(l vgg.Layer, g, scratch []float32) {
	f := q.feat(l)
	for i, r := range q.r[l] {
		g[i] += r + q.s*f[i]
	}
}

func (q *quadTap) TileFeatures(l vgg.Layer, r vgg.Rect, f []float32) {
	c, h, w := q.shape(l)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < r.H; y++ {
			for x := 0; x < r.W; x++ {
				i := (ch*h+r.Y+y)*w + r.X + x
				q.seen[l][i] = f[(ch*r.H+y)*r.W+x]
				q.count[l][i]++
			}
		}
	}
}

func (q *quadTap) AddTileGrad(l vgg.Layer, r vgg.Rect, f, g, scratch []float32) {
	c, h, w := q.shape(l)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < r.H; y++ {
			for x := 0; x < r.W; x++ {
				i := (ch*r.H+y)*r.W + x
				g[i] += q.r[l][(ch*h+r.Y+y)*w+r.X+x] + q.s*f[i]
			}
		}
	}
}

var tiledCases = []struct {
	h, w    int
	pooling engine.Pooling
	taps    []vgg.Layer
	depth   int
	tiles   []int
}{
	{37, 29, engine.MaxPool, lossTaps, 2, []int{1, 2, 5}},
	{53, 45, engine.AvgPool, lossTaps, 4, []int{1, 2, 3}},
	{65, 97, engine.MaxPool, lossTaps, 4, []int{1, 4, 7}},
	{65, 97, engine.AvgPool, styleTaps, 4, []int{2, 5}},
	{64, 64, engine.MaxPool, []vgg.Layer{1, 3, 5}, 4, []int{1, 3}},
	{150, 131, engine.MaxPool, lossTaps, 8, []int{1, 3}},
	{150, 131, engine.AvgPool, allTaps, 8, []int{2}},
	{600, 37, engine.MaxPool, lossTaps, 12, []int{1}},
	{410, 400, engine.AvgPool, lossTaps, 12, []int{8}},
}

func maxAbs(s []float32) float64 {
	var m float64
	for _, v := range s {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestTiledMatchesNetwork checks that a tiled network's features and
// gradient are the untiled Network's: odd sizes, both poolings, every
// segment depth, tiles down to one cell of the segment's output.
func TestTiledMatchesNetwork(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	for _, tc := range tiledCases {
		net, err := vgg.NewNetwork(wt, nn.Portable(), tc.h, tc.w, tc.pooling, tc.taps)
		if err != nil {
			t.Fatal(err)
		}
		img := nntest.RandomSlice(rng, 3*tc.h*tc.w, 50)
		ref := &quadTap{r: map[vgg.Layer][]float32{}, s: 0.01, shape: net.Shape, feat: net.Features}
		for _, l := range tc.taps {
			c, h, w := net.Shape(l)
			ref.r[l] = nntest.RandomSlice(rng, c*h*w, 1)
		}
		net.Forward(img)
		want := make([]float32, len(img))
		net.Backward(want, ref)
		for _, tile := range tc.tiles {
			t.Run(fmt.Sprintf("%dx%d/%v/%v/depth%d/tile%d", tc.h, tc.w, tc.pooling, tc.taps, tc.depth, tile), func(t *testing.T) {
				ps := vgg.PlanSpec{H: tc.h, W: tc.w, Pooling: tc.pooling, Taps: tc.taps, Widths: vgg.WidthsOf(wt)}
				plan, err := vgg.NewPlan(ps, tc.depth, tile)
				if err != nil {
					t.Fatal(err)
				}
				if plan.TilesY*plan.TilesX < 2 {
					t.Fatalf("plan %v does not tile", plan)
				}
				tn, err := vgg.NewTiledNetwork(wt, nn.Portable(), plan)
				if err != nil {
					t.Fatal(err)
				}
				tap := &quadTap{r: ref.r, s: ref.s, shape: tn.Shape, feat: tn.Features,
					seen: map[vgg.Layer][]float32{}, count: map[vgg.Layer][]int{}}
				for _, l := range tc.taps {
					c, h, w := tn.Shape(l)
					if wc, wh, ww := net.Shape(l); c != wc || h != wh || w != ww {
						t.Fatalf("%s: shape %dx%dx%d, want %dx%dx%d", vgg.ConvNames[l], c, h, w, wc, wh, ww)
					}
					tap.seen[l] = make([]float32, c*h*w)
					tap.count[l] = make([]int, c*h*w)
				}
				for pass := 0; pass < 2; pass++ { // no state leaks between passes
					tn.Forward(img, tap)
					for _, l := range tc.taps {
						var got []float32
						if int(l) < plan.Depth {
							got = tap.seen[l]
							for i, n := range tap.count[l] {
								if n != pass+1 {
									t.Fatalf("%s: cell %d passed %d times in %d passes", vgg.ConvNames[l], i, n, pass+1)
								}
							}
						} else {
							got = tn.Features(l)
						}
						if e := maxDiff(got, net.Features(l)) / maxAbs(net.Features(l)); e > 1e-5 {
							t.Errorf("%s: features differ by %g relative", vgg.ConvNames[l], e)
						}
					}
					grad := make([]float32, len(img))
					tn.Backward(grad, tap)
					if e := maxDiff(grad, want) / maxAbs(want); e > 1e-4 || math.IsNaN(e) {
						t.Errorf("pass %d: gradient differs by %g relative", pass, e)
					}
				}
			})
		}
	}
}

// TestHalo pins the halos that the comment on Halo derives.
func TestHalo(t *testing.T) {
	for _, c := range []struct{ depth, halo int }{{2, 4}, {4, 16}, {8, 48}, {12, 128}} {
		if got := vgg.Halo(c.depth); got != c.halo {
			t.Errorf("Halo(%d) = %d, want %d", c.depth, got, c.halo)
		}
	}
}

// TestPlanBytes checks the plans' accounting against what building the
// networks allocates.
func TestPlanBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	for _, c := range []struct {
		h, w, depth, tile int
		pooling           engine.Pooling
	}{
		{600, 500, 0, 0, engine.MaxPool},
		{600, 500, 4, 20, engine.MaxPool},
		{600, 500, 4, 3, engine.AvgPool},
		{600, 500, 8, 10, engine.MaxPool},
		{700, 650, 12, 4, engine.MaxPool},
	} {
		ps := vgg.PlanSpec{H: c.h, W: c.w, Pooling: c.pooling, Taps: lossTaps, Widths: vgg.WidthsOf(wt)}
		plan, err := vgg.NewPlan(ps, c.depth, c.tile)
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var keep any
		if c.depth == 0 {
			keep, err = vgg.NewNetwork(wt, nn.Portable(), c.h, c.w, c.pooling, lossTaps)
		} else {
			keep, err = vgg.NewTiledNetwork(wt, nn.Portable(), plan)
		}
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		got := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		runtime.KeepAlive(keep)
		if r := float64(got) / float64(plan.Bytes); r < 0.9 || r > 1.1 {
			t.Errorf("%v: allocated %d bytes, plan says %d", plan, got, plan.Bytes)
		}
	}
}

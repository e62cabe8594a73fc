package native

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// ref64 is the whole objective in float64: the network (HWC input), the
// losses as nsref.Problem.losses computes them.
type ref64 struct {
	wt   *vgg.Weights
	spec *engine.Spec
}

type tensor = vggtest.Tensor64

// forward runs the reference network on an HWC image.
func (r *ref64) forward(img []float64, h, w int, last vgg.Layer) []tensor {
	chw := make([]float64, len(img))
	for p := 0; p < h*w; p++ {
		for c := 0; c < 3; c++ {
			chw[c*h*w+p] = img[3*p+c]
		}
	}
	return vggtest.Forward64(r.wt, chw, h, w, r.spec.Pooling, last)
}

func gram64(t tensor) []float64 {
	n := t.H * t.W
	g := make([]float64, t.C*t.C)
	for a := 0; a < t.C; a++ {
		for b := 0; b < t.C; b++ {
			var s float64
			for p := 0; p < n; p++ {
				s += t.D[a*n+p] * t.D[b*n+p]
			}
			g[a*t.C+b] = s / float64(t.C*n)
		}
	}
	return g
}

func (r *ref64) losses(x []float64) engine.Losses {
	sp := r.spec
	h, w := sp.Content.H, sp.Content.W
	last := vgg.Layer(vgg.NumConv - 1)
	cont := r.forward(nntest.To64(sp.Content.Pix), h, w, last)
	net := r.forward(x, h, w, last)
	var l engine.Losses
	for _, cl := range sp.ContentLayers {
		li := layer(cl.Layer)
		var s float64
		for i, v := range net[li].D {
			d := v - cont[li].D[i]
			s += d * d
		}
		l.Content += cl.Weight * sp.ContentWeight * s / float64(len(net[li].D))
	}
	for i, st := range sp.Styles {
		sf := r.forward(nntest.To64(st.Pix), st.H, st.W, last)
		var sl float64
		for _, stl := range sp.StyleLayers {
			li := layer(stl.Layer)
			a, g := gram64(sf[li]), gram64(net[li])
			var s float64
			for q := range a {
				d := g[q] - a[q]
				s += d * d
			}
			sl += stl.Weight * s / float64(len(a))
		}
		l.Style += sp.StyleWeight * sp.StyleBlendWeights[i] * sl
	}
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
	l.TV = sp.TVWeight * (sy/float64((h-1)*w*3) + sx/float64(h*(w-1)*3))
	l.Total = l.Content + l.Style + l.TV
	return l
}

// layer is the index of a ReLU's name, which the tests spell correctly.
func layer(name string) vgg.Layer {
	l, err := vgg.ReLUIndex(name)
	if err != nil {
		panic(err)
	}
	return l
}

func tinySpec(rng *rand.Rand, pooling engine.Pooling, blend float64) *engine.Spec {
	return &engine.Spec{
		Content:           vggtest.RandomImage(rng, 13, 11),
		Styles:            []engine.Image{vggtest.RandomImage(rng, 9, 14), vggtest.RandomImage(rng, 13, 11)},
		Pooling:           pooling,
		ContentWeight:     5,
		ContentLayers:     vggtest.Weighted(vgg.ReferenceContentLayers, blend, 1-blend),
		StyleWeight:       500,
		StyleBlendWeights: []float64{0.7, 0.3},
		StyleLayers:       vggtest.Weighted(vgg.ReferenceStyleLayers, 0.1, 0.15, 0.2, 0.25, 0.3),
		TVWeight:          100,
	}
}

type layerLists struct{ content, style []engine.LayerWeight }

var otherLayers = layerLists{
	content: vggtest.Weighted([]string{"relu5_4", "relu2_2", "relu3_3"}, 0.5, 0.25, 0.25),
	style:   vggtest.Weighted([]string{"relu1_2", "relu4_4", "relu3_1", "relu5_3"}, 0.4, 0.3, 0.2, 0.1),
}

// TestEvalFiniteDifferences checks Eval's losses against the float64
// reference and its gradient against central differences of it.
func TestEvalFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	// Each term alone too, so that a small term's error is not hidden by a
	// large one's gradient.
	for _, tc := range []struct {
		pooling            engine.Pooling
		blend              float64
		content, style, tv float64
		layers             *layerLists // nil: the reference's
	}{
		{engine.MaxPool, 0.3, 5, 500, 100, nil},
		// Layers of every block, the deepest (relu5_4) among them, in an
		// order other than the network's.
		{engine.MaxPool, 0, 5, 500, 100, &otherLayers},
		{engine.AvgPool, 0, 5, 0, 0, &otherLayers},
		{engine.MaxPool, 0, 0, 500, 0, &otherLayers},
		{engine.AvgPool, 0.6, 5, 500, 100, nil},
		{engine.MaxPool, 1, 5, 500, 100, nil},
		{engine.MaxPool, 0.3, 5, 0, 0, nil},
		{engine.AvgPool, 0.3, 5, 0, 0, nil},
		{engine.MaxPool, 0.3, 0, 500, 0, nil},
		{engine.AvgPool, 0.3, 0, 500, 0, nil},
		{engine.MaxPool, 0.3, 0, 0, 100, nil},
	} {
		t.Run(fmt.Sprintf("%v/blend=%g/weights=%g,%g,%g/layers=%v", tc.pooling, tc.blend, tc.content, tc.style, tc.tv, tc.layers != nil), func(t *testing.T) {
			spec := tinySpec(rng, tc.pooling, tc.blend)
			if tc.layers != nil {
				spec.ContentLayers, spec.StyleLayers = tc.layers.content, tc.layers.style
			}
			spec.ContentWeight, spec.StyleWeight, spec.TVWeight = tc.content, tc.style, tc.tv
			prob, err := New(wt, nn.Portable()).NewProblem(spec)
			if err != nil {
				t.Fatal(err)
			}
			defer prob.Close()
			x := vggtest.RandomImage(rng, spec.Content.H, spec.Content.W)
			grad := make([]float32, len(x.Pix))
			got, err := prob.Eval(&x, grad)
			if err != nil {
				t.Fatal(err)
			}
			ref := &ref64{wt, spec}
			x64 := nntest.To64(x.Pix)
			want := ref.losses(x64)
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"content", got.Content, want.Content}, {"style", got.Style, want.Style}, {"tv", got.TV, want.TV}, {"total", got.Total, want.Total}} {
				if math.Abs(c.got-c.want) > 1e-5*math.Abs(c.want) || (c.want == 0) != (c.got == 0) {
					t.Errorf("%s loss = %g, want %g", c.name, c.got, c.want)
				}
			}
			var maxG float64
			for _, v := range grad {
				maxG = math.Max(maxG, math.Abs(float64(v)))
			}
			for _, j := range rng.Perm(len(x64))[:30] {
				const e = 1e-3
				old := x64[j]
				x64[j] = old + e
				up := ref.losses(x64).Total
				x64[j] = old - e
				down := ref.losses(x64).Total
				x64[j] = old
				fd := (up - down) / (2 * e)
				if math.Abs(fd-float64(grad[j])) > 1e-3*maxG {
					t.Errorf("d/dx[%d] = %g, finite differences %g (largest |grad| %g)", j, grad[j], fd, maxG)
				}
			}
			// Without a gradient the losses are the same.
			again, err := prob.Eval(&x, nil)
			if err != nil || again != got {
				t.Errorf("Eval without gradient = %+v, %v; with = %+v", again, err, got)
			}
		})
	}
}

func TestProblemErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	e := New(wt, nn.Portable())
	good := tinySpec(rng, engine.MaxPool, 1)
	bad := []func(s *engine.Spec){
		func(s *engine.Spec) { s.Styles = nil; s.StyleBlendWeights = nil },
		func(s *engine.Spec) { s.StyleBlendWeights = []float64{1} },
		func(s *engine.Spec) { s.Content.Pix = s.Content.Pix[:10] },
		func(s *engine.Spec) { s.Styles[1].H = 0 },
		func(s *engine.Spec) { s.ContentLayers = vggtest.Weighted([]string{"pool4"}, 1) },
		func(s *engine.Spec) { s.StyleLayers = vggtest.Weighted([]string{"conv1_1"}, 1) },
		func(s *engine.Spec) { s.StyleLayers = nil },
	}
	for i, f := range bad {
		s := *good
		s.Styles = append([]engine.Image(nil), good.Styles...)
		f(&s)
		if _, err := e.NewProblem(&s); !errors.Is(err, ErrBadSpec) {
			t.Errorf("case %d: error %v, want ErrBadSpec", i, err)
		}
	}
	prob, err := e.NewProblem(good)
	if err != nil {
		t.Fatal(err)
	}
	x := vggtest.RandomImage(rng, 5, 5)
	if _, err := prob.Eval(&x, nil); !errors.Is(err, ErrBadSpec) {
		t.Errorf("Eval on a wrong size: %v", err)
	}
	prob.Close()
	x = good.Content
	if _, err := prob.Eval(&x, nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Eval after Close: %v", err)
	}
}

func TestEvalAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	wt := vggtest.RandomWeights(rng, [5]int{8, 16, 16, 32, 32})
	prob, err := New(wt, nn.Portable()).NewProblem(tinySpec(rng, engine.MaxPool, 0.5))
	if err != nil {
		t.Fatal(err)
	}
	x := vggtest.RandomImage(rng, 13, 11)
	grad := make([]float32, len(x.Pix))
	prob.Eval(&x, grad)
	if a := testing.AllocsPerRun(5, func() { prob.Eval(&x, grad) }); a > 0 {
		t.Errorf("Eval: %v allocations per call, want 0", a)
	}
}

// TestDepth checks that the network stops at relu5_1 when relu5_2's
// content weight is zero, and goes to relu5_2 otherwise; with other layer
// lists, at the deepest listed layer with a weight.
func TestDepth(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	for _, c := range []struct {
		content, blend float64
		want           vgg.Layer
		layers         *layerLists
	}{{5, 1, 12, nil}, {0, 0.3, 12, nil}, {5, 0.3, 13, nil}, {5, 0, 13, nil}, {5, 0, 15, &otherLayers},
		{0, 0, 14, &otherLayers}, {5, 0, 8, &layerLists{vggtest.Weighted([]string{"relu4_1"}, 1), vggtest.Weighted([]string{"relu2_1"}, 1)}}} {
		spec := tinySpec(rng, engine.MaxPool, c.blend)
		spec.ContentWeight = c.content
		if c.layers != nil {
			spec.ContentLayers, spec.StyleLayers = c.layers.content, c.layers.style
		}
		prob, err := New(wt, nn.Portable()).NewProblem(spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := prob.(*problem).net.Last(); got != c.want {
			t.Errorf("content weight %g, blend %g: network through %s, want %s", c.content, c.blend, vgg.ConvNames[got], vgg.ConvNames[c.want])
		}
		prob.Close()
	}
}

package native

import (
	"fmt"
	"runtime"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// Options tune the native engine.
type Options struct {
	// MaxBytes bounds the buffers of each network a problem builds
	// (vgg.Plan.Bytes): a network that needs more is tiled as
	// vgg.PlanTiles chooses, and NewProblem fails, wrapping vgg.ErrBudget,
	// when no tiling fits. 0 means no bound: nothing is tiled.
	MaxBytes int64
	// Depth and Tile, when Depth > 0, force the content-size network's
	// tiling (vgg.NewPlan's arguments), for tests and measurements.
	Depth, Tile int
}

// NewWithOptions returns the native engine on weights w and kernels k,
// tiling its networks as o says.
func NewWithOptions(w *vgg.Weights, k nn.Kernels, o Options) engine.Engine {
	return &nativeEngine{w: w, k: k, opt: o}
}

// problemTaps returns the layers a problem's content-size network taps and
// the deepest of them, as NewProblem chooses them.
func problemTaps(spec *engine.Spec) ([]vgg.Layer, vgg.Layer) {
	taps := append(styleLayers[:], contentLayers[0])
	last := styleLayers[4]
	if spec.ContentWeight*spec.ContentLayerWeights[1] != 0 {
		last = contentLayers[1]
		taps = append(taps, last)
	}
	return taps, last
}

// PlanFor returns how a native engine with Options{MaxBytes: maxBytes}
// evaluates spec's content-size network, for weights of the given block
// widths (vgg.FullWidths for VGG-19): untiled, or the tiling that
// vgg.PlanTiles chooses. Its error wraps vgg.ErrBudget when nothing fits,
// the plan then being the one that needs the least. The style images'
// networks, built and dropped before it, are planned alike (when the
// content's is tiled).
func PlanFor(spec *engine.Spec, widths [5]int, maxBytes int64) (vgg.Plan, error) {
	taps, _ := problemTaps(spec)
	return vgg.PlanTiles(vgg.PlanSpec{H: spec.Content.H, W: spec.Content.W, Pooling: spec.Pooling, Taps: taps, Widths: widths}, maxBytes)
}

// widthsOf returns the weights' block widths.
func widthsOf(w *vgg.Weights) [5]int {
	return [5]int{w.Conv[0].Out, w.Conv[2].Out, w.Conv[4].Out, w.Conv[8].Out, w.Conv[12].Out}
}

// contentPlan returns the content-size network's plan under e's options.
func (e *nativeEngine) contentPlan(spec *engine.Spec) (vgg.Plan, error) {
	taps, _ := problemTaps(spec)
	ps := vgg.PlanSpec{H: spec.Content.H, W: spec.Content.W, Pooling: spec.Pooling, Taps: taps, Widths: widthsOf(e.w)}
	if e.opt.Depth > 0 {
		p, err := vgg.NewPlan(ps, e.opt.Depth, e.opt.Tile)
		if err != nil {
			return vgg.Plan{}, fmt.Errorf("native: %w", err)
		}
		return p, nil
	}
	p, err := vgg.PlanTiles(ps, e.opt.MaxBytes)
	if err != nil {
		return p, fmt.Errorf("native: content image: %w", err)
	}
	return p, nil
}

// tiledProblem evaluates the objective with a tiled content-size network.
// It keeps problem's state (net unused) and computes the same terms: the
// Grams and content sums of the tiled layers are accumulated over tiles.
type tiledProblem struct {
	problem
	tnet *vgg.TiledNetwork
	tap  tileSums
}

// tileSums accumulates the style and content terms of tiled layers, and
// during the targets' pass collects the content targets.
type tileSums struct {
	k       nn.Kernels
	net     *vgg.TiledNetwork
	grams   *[5][]float32 // accumulated over tiles, when not nil
	content *[2][]float32 // the content targets to fill, when not nil
	targets *[2][]float32 // the targets the sums compare to, when not nil
	sums    [2]float64    // sum of squared differences to targets
	last    vgg.Layer
	scratch []float32 // one tile's Gram

	// during Backward
	p *tiledProblem
}

func (t *tileSums) TileFeatures(l vgg.Layer, r vgg.Rect, f []float32) {
	c, h, w := t.net.Shape(l)
	if t.grams != nil {
		for j, sl := range styleLayers {
			if sl != l {
				continue
			}
			g := t.scratch[:c*c]
			t.k.Gram(g, f, c, r.H*r.W, float32(1/float64(c*h*w)))
			for q, v := range g {
				t.grams[j][q] += v
			}
		}
	}
	for j, cl := range contentLayers {
		if cl != l || cl > t.last {
			continue
		}
		if t.content != nil {
			dst := t.content[j]
			for ch := 0; ch < c; ch++ {
				for y := 0; y < r.H; y++ {
					copy(dst[(ch*h+r.Y+y)*w+r.X:][:r.W], f[(ch*r.H+y)*r.W:][:r.W])
				}
			}
		}
		if t.targets != nil {
			tg := t.targets[j]
			var s float64
			for ch := 0; ch < c; ch++ {
				for y := 0; y < r.H; y++ {
					row := tg[(ch*h+r.Y+y)*w+r.X:][:r.W]
					for x, v := range f[(ch*r.H+y)*r.W:][:r.W] {
						d := float64(v - row[x])
						s += d * d
					}
				}
			}
			t.sums[j] += s
		}
	}
}

func (t *tileSums) AddGrad(l vgg.Layer, g, scratch []float32) {
	c, h, w := t.net.Shape(l)
	t.p.addGrad(l, vgg.Rect{H: h, W: w}, c, t.net.Features(l), g, scratch)
}

func (t *tileSums) AddTileGrad(l vgg.Layer, r vgg.Rect, f, g, scratch []float32) {
	c, _, _ := t.net.Shape(l)
	t.p.addGrad(l, r, c, f, g, scratch)
}

// addGrad adds the content and style losses' gradients at layer l over
// region r of it (f being the features there, c x r.H x r.W).
func (p *tiledProblem) addGrad(l vgg.Layer, r vgg.Rect, c int, f, g, scratch []float32) {
	sp := &p.spec
	_, h, w := p.tnet.Shape(l)
	n := r.H * r.W
	for j, cl := range contentLayers {
		if cl != l {
			continue
		}
		t := p.contentTargets[j]
		coef := float32(2 * sp.ContentLayerWeights[j] * sp.ContentWeight / float64(len(t)))
		for ch := 0; ch < c; ch++ {
			for y := 0; y < r.H; y++ {
				row := t[(ch*h+r.Y+y)*w+r.X:][:r.W]
				o := (ch*r.H + y) * r.W
				gr := g[o:][:r.W]
				for x, v := range f[o:][:r.W] {
					gr[x] += coef * (v - row[x])
				}
			}
		}
	}
	for j, sl := range styleLayers {
		if sl != l || len(p.styleTargets) == 0 {
			continue
		}
		// G = sum over tiles of F_t F_t^T / (c h w), so dF = (dG + dG^T) F
		// / (c h w) cell by cell, over any region.
		s := scratch[:c*n]
		p.k.GramBackward(s, p.dGrams[j], f, c, n, float32(1/float64(c*h*w)))
		for i, v := range s {
			g[i] += v
		}
	}
}

// styleGramsWithin sets grams (allocated) to style image s's Grams
// through a network within e's budget, tiled if it needs to be.
func (e *nativeEngine) styleGramsWithin(s *engine.Image, pooling engine.Pooling, grams *[5][]float32) error {
	plan, err := vgg.PlanTiles(vgg.PlanSpec{H: s.H, W: s.W, Pooling: pooling, Taps: styleLayers[:], Widths: widthsOf(e.w)}, e.opt.MaxBytes)
	if err != nil {
		return err
	}
	return e.styleGrams(plan, s, grams)
}

// styleGrams sets grams (allocated) to style image s's Grams through a
// network built by plan, which it drops and collects before returning.
func (e *nativeEngine) styleGrams(plan vgg.Plan, s *engine.Image, grams *[5][]float32) error {
	for j, l := range styleLayers {
		c := e.w.Conv[l].Out
		grams[j] = make([]float32, c*c)
	}
	img := make([]float32, 3*s.H*s.W)
	toCHW(img, s.Pix, s.H, s.W)
	err := e.networkGrams(plan, img, grams)
	runtime.GC()
	return err
}

// networkGrams sets grams[j] to the normalised Gram of each style layer of
// img (3 x h x w) through a network built by plan, tiled or not.
func (e *nativeEngine) networkGrams(plan vgg.Plan, img []float32, grams *[5][]float32) error {
	ps := plan.Spec
	if !plan.Tiled() {
		net, err := vgg.NewNetwork(e.w, e.k, ps.H, ps.W, ps.Pooling, ps.Taps)
		if err != nil {
			return err
		}
		net.Forward(img)
		for j, l := range styleLayers {
			gram(e.k, grams[j], net, l)
		}
		return nil
	}
	net, err := vgg.NewTiledNetwork(e.w, e.k, plan)
	if err != nil {
		return err
	}
	t := &tileSums{k: e.k, net: net, grams: grams, last: net.Last(), scratch: make([]float32, maxStyleC(e.w)*maxStyleC(e.w))}
	for j := range grams {
		clear(grams[j])
	}
	net.Forward(img, t)
	for j, l := range styleLayers {
		if l >= net.Depth() {
			c, h, w := net.Shape(l)
			e.k.Gram(grams[j], net.Features(l), c, h*w, float32(1/float64(c*h*w)))
		}
	}
	return nil
}

func maxStyleC(w *vgg.Weights) int {
	m := 0
	for _, l := range styleLayers {
		m = max(m, w.Conv[l].Out)
	}
	return m
}

// newTiledProblem is NewProblem for a tiled content-size network.
func (e *nativeEngine) newTiledProblem(spec *engine.Spec, plan vgg.Plan) (engine.Problem, error) {
	p := &tiledProblem{problem: problem{k: e.k, spec: *spec}}
	taps, last := problemTaps(spec)
	p.last = last
	h, w := spec.Content.H, spec.Content.W

	// Style targets, each style image at its own size, its network (tiled
	// under the budget too) dropped before the next is made.
	p.styleTargets = make([][5][]float32, len(spec.Styles))
	for i := range spec.Styles {
		s := &spec.Styles[i]
		if s.H != h || s.W != w {
			if err := e.styleGramsWithin(s, spec.Pooling, &p.styleTargets[i]); err != nil {
				return nil, fmt.Errorf("native: style image %d: %w", i+1, err)
			}
			continue
		}
		// A style image of the content's size is tiled as the content is.
		sps := vgg.PlanSpec{H: s.H, W: s.W, Pooling: spec.Pooling, Taps: styleLayers[:], Widths: widthsOf(e.w)}
		splan, err := vgg.NewPlan(sps, plan.Depth, plan.Tile)
		if err != nil {
			return nil, fmt.Errorf("native: style image %d: %w", i+1, err)
		}
		if err := e.styleGrams(splan, s, &p.styleTargets[i]); err != nil {
			return nil, fmt.Errorf("native: style image %d: %w", i+1, err)
		}
	}

	plan.Spec.Taps = taps
	net, err := vgg.NewTiledNetwork(e.w, e.k, plan)
	if err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	p.tnet, p.h, p.w = net, h, w
	p.x = make([]float32, 3*h*w)
	p.dx = make([]float32, 3*h*w)
	for j, l := range contentLayers {
		if l <= p.last {
			c, lh, lw := net.Shape(l)
			p.contentTargets[j] = make([]float32, c*lh*lw)
		}
	}
	for j, l := range styleLayers {
		c, _, _ := net.Shape(l)
		p.grams[j] = make([]float32, c*c)
		p.dGrams[j] = make([]float32, c*c)
	}
	p.tap = tileSums{k: e.k, net: net, last: p.last, p: p, scratch: make([]float32, maxStyleC(e.w)*maxStyleC(e.w))}

	// The content targets: the tiled layers' collected tile by tile.
	toCHW(p.x, spec.Content.Pix, h, w)
	p.tap.content = &p.contentTargets
	net.Forward(p.x, &p.tap)
	p.tap.content = nil
	for j, l := range contentLayers {
		if l <= p.last && l >= net.Depth() {
			copy(p.contentTargets[j], net.Features(l))
		}
	}
	p.tap.grams, p.tap.targets = &p.grams, &p.contentTargets
	p.spec.Content, p.spec.Styles = engine.Image{}, nil
	p.spec.StyleBlendWeights = append([]float64(nil), spec.StyleBlendWeights...)
	return p, nil
}

// Plan returns the problem's tiling.
func (p *tiledProblem) Plan() vgg.Plan { return p.tnet.Plan() }

func (p *tiledProblem) Close() error {
	*p = tiledProblem{problem: problem{closed: true}}
	return nil
}

// Eval is problem.Eval with the tiled network: the same terms, in float32
// from sums accumulated in float64, the tiled layers' Grams and content
// sums accumulated tile by tile.
func (p *tiledProblem) Eval(x *engine.Image, grad []float32) (engine.Losses, error) {
	if p.closed {
		return engine.Losses{}, engine.ErrClosed
	}
	h, w := p.h, p.w
	if x.H != h || x.W != w || len(x.Pix) != 3*h*w {
		return engine.Losses{}, fmt.Errorf("%w: image is %dx%d with %d values, problem is %dx%d", ErrBadSpec, x.H, x.W, len(x.Pix), h, w)
	}
	if grad != nil && len(grad) != 3*h*w {
		return engine.Losses{}, fmt.Errorf("%w: gradient has %d values, want %d", ErrBadSpec, len(grad), 3*h*w)
	}
	sp := &p.spec
	net := p.tnet
	toCHW(p.x, x.Pix, h, w)
	for j, l := range styleLayers {
		if l < net.Depth() {
			clear(p.grams[j])
		}
	}
	p.tap.sums = [2]float64{}
	net.Forward(p.x, &p.tap)

	var content float32
	for j, l := range contentLayers {
		if l > p.last {
			continue // its weight is zero
		}
		s := p.tap.sums[j]
		if l >= net.Depth() {
			s = 0
			for i, v := range net.Features(l) {
				d := float64(v - p.contentTargets[j][i])
				s += d * d
			}
		}
		content += float32(sp.ContentLayerWeights[j]*sp.ContentWeight) * (float32(s) / float32(len(p.contentTargets[j])))
	}

	for j, l := range styleLayers {
		if l >= net.Depth() {
			c, lh, lw := net.Shape(l)
			p.k.Gram(p.grams[j], net.Features(l), c, lh*lw, float32(1/float64(c*lh*lw)))
		}
	}
	var style float32
	for i := range p.styleTargets {
		var sl float32
		for j := range styleLayers {
			g, a := p.grams[j], p.styleTargets[i][j]
			var s float64
			for q, v := range g {
				d := float64(v - a[q])
				s += d * d
			}
			sl += float32(sp.StyleLayerWeights[j]) * (float32(s) / float32(len(a)))
		}
		style += float32(sp.StyleWeight*sp.StyleBlendWeights[i]) * sl
	}

	tv := p.tvLoss(x.Pix)
	losses := engine.Losses{
		Content: float64(content), Style: float64(style), TV: float64(tv),
		Total: float64(content + style + tv),
	}
	if grad == nil {
		return losses, nil
	}
	for j := range styleLayers {
		g, dg := p.grams[j], p.dGrams[j]
		clear(dg)
		for i := range p.styleTargets {
			a := p.styleTargets[i][j]
			coef := float32(2 * sp.StyleWeight * sp.StyleBlendWeights[i] * sp.StyleLayerWeights[j] / float64(len(a)))
			for q, v := range g {
				dg[q] += coef * (v - a[q])
			}
		}
	}
	net.Backward(p.dx, &p.tap)
	p.tvGrad(grad, x.Pix)
	return losses, nil
}

// ProblemBytes is what NewProblem allocates for a problem's own buffers
// beside its content-size network's (plan.Bytes, for the same spec and
// widths): the image and its gradient in CHW, the content targets, the
// Grams, their gradients and the style targets, and for a tiled problem
// one tile's Gram. The networks of style images of other sizes are built
// and dropped before the content-size network, so a run's peak is the
// larger of theirs and this plus plan.Bytes.
func ProblemBytes(spec *engine.Spec, widths [5]int, plan vgg.Plan) int64 {
	_, last := problemTaps(spec)
	h, w := int64(spec.Content.H), int64(spec.Content.W)
	b := 2 * 4 * 3 * h * w // x, dx
	a := int64(1)
	for i := 0; i <= int(last); i++ {
		if i == 2 || i == 4 || i == 8 || i == 12 {
			a *= 2
		}
		for _, cl := range contentLayers {
			if int(cl) == i {
				b += 4 * int64(widths[blockOfConv(i)]) * ((h + a - 1) / a) * ((w + a - 1) / a)
			}
		}
	}
	var grams int64
	maxC := int64(0)
	for _, l := range styleLayers {
		c := int64(widths[blockOfConv(int(l))])
		grams += 4 * c * c
		maxC = max(maxC, c)
	}
	b += (2 + int64(len(spec.Styles))) * grams
	if plan.Tiled() {
		b += 4 * maxC * maxC
	}
	return b
}

// blockOfConv is the block (0..4) of conv i.
func blockOfConv(i int) int {
	switch {
	case i < 2:
		return 0
	case i < 4:
		return 1
	case i < 8:
		return 2
	case i < 12:
		return 3
	}
	return 4
}

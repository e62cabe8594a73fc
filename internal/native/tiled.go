package native

import (
	"errors"
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
	// when no tiling fits. 0 means no bound: nothing is tiled. A spec's
	// own MaxBytes, when set, replaces it.
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

// resolved returns the problem NewProblem starts from (its loss layers
// resolved) and the content-size network's taps.
func resolved(spec *engine.Spec) (*problem, []vgg.Layer, error) {
	p := &problem{spec: *spec}
	taps, err := p.layers()
	return p, taps, err
}

// PlanFor returns how a native engine with Options{MaxBytes: maxBytes}
// evaluates spec's content-size network, for weights of the given
// convolution widths (vgg.Widths for VGG-19, vgg.WidthsOf for others):
// untiled, or the tiling that vgg.PlanTiles chooses. Its error wraps
// vgg.ErrBudget when nothing fits, the plan then being the one that needs
// the least. The style images' networks, built and dropped before it, are
// planned alike (when the content's is tiled).
func PlanFor(spec *engine.Spec, widths [vgg.NumConv]int, maxBytes int64) (vgg.Plan, error) {
	_, taps, err := resolved(spec)
	if err != nil {
		return vgg.Plan{}, err
	}
	return vgg.PlanTiles(vgg.PlanSpec{H: spec.Content.H, W: spec.Content.W, Pooling: spec.Pooling, Taps: taps, Widths: widths}, maxBytes)
}

// maxBytes is the budget NewProblem plans spec under: the spec's, else
// the engine's.
func (e *nativeEngine) maxBytes(spec *engine.Spec) int64 {
	if spec.MaxBytes > 0 {
		return spec.MaxBytes
	}
	return e.opt.MaxBytes
}

// contentPlan returns the content-size network's plan under e's options.
func (e *nativeEngine) contentPlan(spec *engine.Spec, taps []vgg.Layer) (vgg.Plan, error) {
	ps := vgg.PlanSpec{H: spec.Content.H, W: spec.Content.W, Pooling: spec.Pooling, Taps: taps, Widths: vgg.WidthsOf(e.w)}
	if e.opt.Depth > 0 {
		p, err := vgg.NewPlan(ps, e.opt.Depth, e.opt.Tile)
		if err != nil {
			return vgg.Plan{}, fmt.Errorf("native: %w", err)
		}
		return p, nil
	}
	p, err := vgg.PlanTiles(ps, e.maxBytes(spec))
	if err != nil {
		return p, fmt.Errorf("native: content image: %w", err)
	}
	return p, nil
}

// tiledProblem evaluates the objective with a tiled content-size network.
// It keeps problem's state (net unused) and computes the same terms: the
// Grams and content sums of the tiled layers are accumulated over tiles,
// those of the deeper layers computed on them whole.
type tiledProblem struct {
	problem
	tnet *vgg.TiledNetwork
	tap  tileSums
}

// tileSums accumulates the style and content terms of the tiled layers,
// and during the targets' pass collects the content targets.
type tileSums struct {
	k       nn.Kernels
	net     *vgg.TiledNetwork
	style   []lossLayer
	content []lossLayer
	grams   [][]float32 // per style layer, accumulated over tiles, when not nil
	collect [][]float32 // per content layer, the targets to fill, when not nil
	targets [][]float32 // per content layer, what the sums compare to, when not nil
	sums    []float64   // per content layer, squared differences to targets
	last    vgg.Layer
	scratch []float32 // one tile's Gram

	p *tiledProblem // during Backward
}

func (t *tileSums) TileFeatures(l vgg.Layer, r vgg.Rect, f []float32) {
	c, h, w := t.net.Shape(l)
	for j, sl := range t.style {
		if sl.l != l || t.grams == nil {
			continue
		}
		g := t.scratch[:c*c]
		t.k.Gram(g, f, c, r.H*r.W, float32(1/float64(c*h*w)))
		for q, v := range g {
			t.grams[j][q] += v
		}
	}
	for j, cl := range t.content {
		if cl.l != l || cl.l > t.last {
			continue
		}
		if t.collect != nil {
			dst := t.collect[j]
			for ch := 0; ch < c; ch++ {
				for y := 0; y < r.H; y++ {
					copy(dst[(ch*h+r.Y+y)*w+r.X:][:r.W], f[(ch*r.H+y)*r.W:][:r.W])
				}
			}
		}
		if t.targets != nil {
			t.sums[j] += squaredDiff(t.targets[j], f, r, c, h, w)
		}
	}
}

// squaredDiff is the sum of squares of f (c x r.H x r.W) less region r of
// target (c x h x w).
func squaredDiff(target, f []float32, r vgg.Rect, c, h, w int) float64 {
	var s float64
	for ch := 0; ch < c; ch++ {
		for y := 0; y < r.H; y++ {
			row := target[(ch*h+r.Y+y)*w+r.X:][:r.W]
			for x, v := range f[(ch*r.H+y)*r.W:][:r.W] {
				d := float64(v - row[x])
				s += d * d
			}
		}
	}
	return s
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
func (p *tiledProblem) addGrad(l vgg.Layer, r vgg.Rect, c int, f, g, _ []float32) {
	_, h, w := p.tnet.Shape(l)
	for j, cl := range p.content {
		if cl.l != l || cl.l > p.last {
			continue
		}
		t := p.contentFeats[j]
		coef := float32(2 * cl.weight * p.spec.ContentWeight / float64(len(t)))
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
	n := r.H * r.W
	for j, sl := range p.style {
		if sl.l != l || len(p.styleGrams) == 0 {
			continue
		}
		// G = sum over tiles of F_t F_t^T / (c h w), so dF = (dG + dG^T) F
		// / (c h w) cell by cell, over any region, added to g by the
		// kernel.
		p.k.GramBackwardAdd(g[:c*n], p.dGrams[j], f, c, n, float32(1/float64(c*h*w)))
	}
}

// styleGramsWithin sets p.styleGrams[i] to style image i's Grams at the
// style layers (taps) through a network within e's budget, tiled if it
// needs to be.
func (p *problem) styleGramsWithin(e *nativeEngine, i int, taps []vgg.Layer) error {
	s := &p.spec.Styles[i]
	ps := vgg.PlanSpec{H: s.H, W: s.W, Pooling: p.spec.Pooling, Taps: taps, Widths: vgg.WidthsOf(e.w)}
	plan, err := vgg.PlanTiles(ps, e.maxBytes(&p.spec))
	if err != nil {
		return err
	}
	p.styleGrams[i], err = e.imageGrams(plan, s, p.style)
	return err
}

// imageGrams returns image s's Grams at the style layers through a network
// built by plan, which it drops and collects before returning.
func (e *nativeEngine) imageGrams(plan vgg.Plan, s *engine.Image, style []lossLayer) ([][]float32, error) {
	grams := make([][]float32, len(style))
	for j, sl := range style {
		c := e.w.Conv[sl.l].Out
		grams[j] = make([]float32, c*c)
	}
	img := make([]float32, 3*s.H*s.W)
	toCHW(img, s.Pix, s.H, s.W)
	err := e.networkGrams(plan, img, style, grams)
	runtime.GC()
	return grams, err
}

// networkGrams sets grams[j] to the normalised Gram of each style layer of
// img (3 x h x w) through a network built by plan, tiled or not.
func (e *nativeEngine) networkGrams(plan vgg.Plan, img []float32, style []lossLayer, grams [][]float32) error {
	ps := plan.Spec
	if !plan.Tiled() {
		net, err := vgg.NewNetwork(e.w, e.k, ps.H, ps.W, ps.Pooling, ps.Taps)
		if err != nil {
			return err
		}
		net.Forward(img)
		for j, sl := range style {
			gram(e.k, grams[j], net, sl.l)
		}
		return nil
	}
	net, err := vgg.NewTiledNetwork(e.w, e.k, plan)
	if err != nil {
		return err
	}
	c := maxStyleC(e.w, style)
	t := &tileSums{k: e.k, net: net, style: style, grams: grams, last: net.Last(), scratch: make([]float32, c*c)}
	net.Forward(img, t)
	for j, sl := range style {
		if sl.l >= net.Depth() {
			c, h, w := net.Shape(sl.l)
			e.k.Gram(grams[j], net.Features(sl.l), c, h*w, float32(1/float64(c*h*w)))
		}
	}
	return nil
}

// maxStyleC is the most channels of a style layer.
func maxStyleC(w *vgg.Weights, style []lossLayer) int {
	m := 0
	for _, sl := range style {
		m = max(m, w.Conv[sl.l].Out)
	}
	return m
}

// newTiledProblem is NewProblem for a tiled content-size network, p
// having its loss layers resolved.
func (e *nativeEngine) newTiledProblem(base *problem, plan vgg.Plan) (engine.Problem, error) {
	p := &tiledProblem{problem: *base}
	p.k = e.k
	spec := &p.spec
	if err := p.tiledStyleTargets(e, plan); err != nil {
		return nil, err
	}
	h, w := spec.Content.H, spec.Content.W
	net, err := vgg.NewTiledNetwork(e.w, e.k, plan)
	if err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	p.tnet, p.h, p.w = net, h, w
	p.x = make([]float32, 3*h*w)
	p.dx = make([]float32, 3*h*w)
	p.contentFeats = make([][]float32, len(p.content))
	for j, cl := range p.content {
		if cl.l <= p.last {
			c, lh, lw := net.Shape(cl.l)
			p.contentFeats[j] = make([]float32, c*lh*lw)
		}
	}
	for _, sl := range p.style {
		c, _, _ := net.Shape(sl.l)
		p.grams = append(p.grams, make([]float32, c*c))
		p.dGrams = append(p.dGrams, make([]float32, c*c))
	}
	c := maxStyleC(e.w, p.style)
	p.tap = tileSums{k: e.k, net: net, style: p.style, content: p.content, last: p.last, p: p,
		sums: make([]float64, len(p.content)), scratch: make([]float32, c*c)}

	// The content targets: the tiled layers' collected tile by tile.
	toCHW(p.x, spec.Content.Pix, h, w)
	p.tap.collect = p.contentFeats
	net.Forward(p.x, &p.tap)
	p.tap.collect = nil
	for j, cl := range p.content {
		if cl.l <= p.last && cl.l >= net.Depth() {
			copy(p.contentFeats[j], net.Features(cl.l))
		}
	}
	p.tap.grams, p.tap.targets = p.grams, p.contentFeats
	// Keep the weights, not the caller's images or slices.
	p.spec.Content, p.spec.Styles, p.spec.ContentLayers, p.spec.StyleLayers = engine.Image{}, nil, nil, nil
	p.spec.StyleBlendWeights = append([]float64(nil), base.spec.StyleBlendWeights...)
	return p, nil
}

// tiledStyleTargets computes the style images' Grams, each image at its
// own size, its network (tiled under the budget too) dropped before the
// next is made. A style image of the content's size is tiled as the
// content is, when its layers reach as deep as the tiled segment.
func (p *tiledProblem) tiledStyleTargets(e *nativeEngine, plan vgg.Plan) error {
	spec := &p.spec
	h, w := spec.Content.H, spec.Content.W
	taps := p.styleTaps()
	p.styleGrams = make([][][]float32, len(spec.Styles))
	for i := range spec.Styles {
		s := &spec.Styles[i]
		sps := vgg.PlanSpec{H: s.H, W: s.W, Pooling: spec.Pooling, Taps: taps, Widths: vgg.WidthsOf(e.w)}
		splan, err := vgg.NewPlan(sps, plan.Depth, plan.Tile)
		if s.H != h || s.W != w || err != nil {
			// Another size, or style layers shallower than the segment.
			if err := p.styleGramsWithin(e, i, taps); err != nil {
				return fmt.Errorf("native: style image %d: %w", i+1, err)
			}
			continue
		}
		if p.styleGrams[i], err = e.imageGrams(splan, s, p.style); err != nil {
			return fmt.Errorf("native: style image %d: %w", i+1, err)
		}
	}
	return nil
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
	if err := p.checkEval(x, grad); err != nil {
		return engine.Losses{}, err
	}
	net := p.tnet
	toCHW(p.x, x.Pix, p.h, p.w)
	for j, sl := range p.style {
		if sl.l < net.Depth() {
			clear(p.grams[j])
		}
	}
	clear(p.tap.sums)
	net.Forward(p.x, &p.tap)
	content := p.tiledContentLoss()
	for j, sl := range p.style {
		if sl.l >= net.Depth() {
			c, lh, lw := net.Shape(sl.l)
			p.k.Gram(p.grams[j], net.Features(sl.l), c, lh*lw, float32(1/float64(c*lh*lw)))
		}
	}
	style, tv := p.styleLossOfGrams(), p.tvLoss(x.Pix)
	losses := engine.Losses{
		Content: float64(content), Style: float64(style), TV: float64(tv),
		Total: float64(content + style + tv),
	}
	if grad == nil {
		return losses, nil
	}
	p.gramGrads()
	net.Backward(p.dx, &p.tap)
	p.tvGrad(grad, x.Pix)
	return losses, nil
}

// tiledContentLoss is the content loss from the tiles' sums for the tiled
// layers and from the whole features for the deeper ones.
func (p *tiledProblem) tiledContentLoss() float32 {
	net := p.tnet
	var content float32
	for j, cl := range p.content {
		if cl.l > p.last {
			continue // its weight is zero
		}
		t := p.contentFeats[j]
		s := p.tap.sums[j]
		if cl.l >= net.Depth() {
			s = 0
			for i, v := range net.Features(cl.l) {
				d := float64(v - t[i])
				s += d * d
			}
		}
		content += float32(cl.weight*p.spec.ContentWeight) * (float32(s) / float32(len(t)))
	}
	return content
}

// ProblemBytes is what NewProblem allocates for a problem's own buffers
// beside its content-size network's (plan.Bytes, for the same spec and
// widths): the image and its gradient in CHW, the content targets, the
// Grams, their gradients and the style targets, and for a tiled problem
// one tile's Gram. The networks of style images of other sizes are built
// and dropped before the content-size network, so a run's peak is the
// larger of theirs and this plus plan.Bytes. Its error is NewProblem's
// for layer names it does not know.
func ProblemBytes(spec *engine.Spec, widths [vgg.NumConv]int, plan vgg.Plan) (int64, error) {
	p, _, err := resolved(spec)
	if err != nil {
		return 0, err
	}
	h, w := int64(spec.Content.H), int64(spec.Content.W)
	b := 2 * 4 * 3 * h * w // x, dx
	for _, cl := range p.content {
		if cl.l <= p.last {
			a := int64(1) << vgg.PoolsBefore(cl.l)
			b += 4 * int64(widths[cl.l]) * ((h + a - 1) / a) * ((w + a - 1) / a)
		}
	}
	var grams int64
	maxC := int64(0)
	for _, sl := range p.style {
		c := int64(widths[sl.l])
		grams += 4 * c * c
		maxC = max(maxC, c)
	}
	b += (2 + int64(len(spec.Styles))) * grams
	if plan.Tiled() {
		b += 4 * maxC * maxC
	}
	return b, nil
}

// LeastBytes is the least budget (Options.MaxBytes, engine.Spec.MaxBytes)
// under which NewProblem can build spec's networks for weights of the
// given widths: the largest of the least plans of the content-size
// network and of each style image's.
func LeastBytes(spec *engine.Spec, widths [vgg.NumConv]int) (int64, error) {
	p, taps, err := resolved(spec)
	if err != nil {
		return 0, err
	}
	least := func(h, w int, taps []vgg.Layer) (int64, error) {
		plan, err := vgg.PlanTiles(vgg.PlanSpec{H: h, W: w, Pooling: spec.Pooling, Taps: taps, Widths: widths}, 1)
		if err != nil && !errors.Is(err, vgg.ErrBudget) {
			return 0, err
		}
		return plan.Bytes, nil
	}
	b, err := least(spec.Content.H, spec.Content.W, taps)
	if err != nil {
		return 0, err
	}
	styleTaps := p.styleTaps()
	for _, s := range spec.Styles {
		sb, err := least(s.H, s.W, styleTaps)
		if err != nil {
			return 0, err
		}
		b = max(b, sb)
	}
	return b, nil
}

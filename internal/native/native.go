// Package native is the pure-Go engine: it evaluates the style-transfer
// objective and its gradient with the VGG-19 network of package vgg on the
// kernels of package nn.
package native

import (
	"errors"
	"fmt"
	"runtime"
	"slices"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// ErrBadSpec is wrapped by NewProblem's errors about its spec.
var ErrBadSpec = errors.New("native: bad problem spec")

type nativeEngine struct {
	w   *vgg.Weights
	k   nn.Kernels
	opt Options
}

// New returns the native engine on weights w and kernels k.
func New(w *vgg.Weights, k nn.Kernels) engine.Engine {
	return &nativeEngine{w: w, k: k}
}

func (e *nativeEngine) Name() string { return "native" }

func checkImage(what string, im *engine.Image) error {
	if im.H < 1 || im.W < 1 || len(im.Pix) != im.H*im.W*3 {
		return fmt.Errorf("%w: %s is %dx%d with %d values", ErrBadSpec, what, im.H, im.W, len(im.Pix))
	}
	return nil
}

// toCHW converts an H x W x 3 image to 3 x H x W.
func toCHW(dst, src []float32, h, w int) {
	n := h * w
	dst, src = dst[:3*n], src[:3*n]
	for p := 0; p < n; p++ {
		dst[p], dst[n+p], dst[2*n+p] = src[3*p], src[3*p+1], src[3*p+2]
	}
}

// gram sets g to the Gram matrix of layer l's features in net, normalised
// by their size as the reference does.
func gram(k nn.Kernels, g []float32, net *vgg.Network, l vgg.Layer) {
	c, h, w := net.Shape(l)
	k.Gram(g, net.Features(l), c, h*w, float32(1/float64(c*h*w)))
}

// lossLayer is a layer a loss reads, with its weight.
type lossLayer struct {
	l      vgg.Layer
	weight float64
}

// lossLayers resolves the spec's layer names.
func lossLayers(what string, lws []engine.LayerWeight) ([]lossLayer, error) {
	if len(lws) == 0 {
		return nil, fmt.Errorf("%w: no %s layers", ErrBadSpec, what)
	}
	out := make([]lossLayer, len(lws))
	for i, lw := range lws {
		l, err := vgg.ReLUIndex(lw.Layer)
		if err != nil {
			return nil, fmt.Errorf("%w: %s layer: %w", ErrBadSpec, what, err)
		}
		out[i] = lossLayer{l: l, weight: lw.Weight}
	}
	return out, nil
}

func checkSpec(spec *engine.Spec) error {
	if err := checkImage("content image", &spec.Content); err != nil {
		return err
	}
	if len(spec.Styles) == 0 || len(spec.StyleBlendWeights) != len(spec.Styles) {
		return fmt.Errorf("%w: %d style images with %d blend weights", ErrBadSpec, len(spec.Styles), len(spec.StyleBlendWeights))
	}
	for i := range spec.Styles {
		if err := checkImage(fmt.Sprintf("style image %d", i+1), &spec.Styles[i]); err != nil {
			return err
		}
	}
	return nil
}

func (e *nativeEngine) NewProblem(spec *engine.Spec) (engine.Problem, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	p := &problem{k: e.k, spec: *spec}
	taps, err := p.layers()
	if err != nil {
		return nil, err
	}
	if e.maxBytes(spec) > 0 || e.opt.Depth > 0 {
		plan, err := e.contentPlan(spec, taps)
		if err != nil {
			return nil, err
		}
		if plan.Tiled() {
			return e.newTiledProblem(p, plan)
		}
	}
	styleTaps := p.styleTaps()
	if err := p.styleTargets(e, styleTaps, true); err != nil {
		return nil, err
	}
	h, w := spec.Content.H, spec.Content.W
	net, err := vgg.NewNetwork(e.w, e.k, h, w, spec.Pooling, taps)
	if err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	p.net, p.h, p.w = net, h, w
	p.x = make([]float32, 3*h*w)
	p.dx = make([]float32, 3*h*w)
	if err := p.styleTargets(e, styleTaps, false); err != nil {
		return nil, err
	}
	p.contentTargets(&spec.Content)
	for _, s := range p.style {
		c, _, _ := net.Shape(s.l)
		p.grams = append(p.grams, make([]float32, c*c))
		p.dGrams = append(p.dGrams, make([]float32, c*c))
	}
	// Keep the weights, not the caller's images or slices.
	p.spec.Content, p.spec.Styles, p.spec.ContentLayers, p.spec.StyleLayers = engine.Image{}, nil, nil, nil
	p.spec.StyleBlendWeights = append([]float64(nil), spec.StyleBlendWeights...)
	return p, nil
}

// layers resolves the spec's loss layers into p.content, p.style and
// p.last, and returns the layers the content-size network taps.
func (p *problem) layers() ([]vgg.Layer, error) {
	var err error
	if p.content, err = lossLayers("content", p.spec.ContentLayers); err != nil {
		return nil, err
	}
	if p.style, err = lossLayers("style", p.spec.StyleLayers); err != nil {
		return nil, err
	}
	taps := p.styleTaps()
	// The network goes as deep as the deepest layer a loss reads with a
	// weight: a content layer without one (relu5_2 at the default blend)
	// is left out when deeper than the rest.
	p.last = slices.Max(taps)
	for _, c := range p.content {
		if p.spec.ContentWeight*c.weight != 0 {
			p.last = max(p.last, c.l)
		}
	}
	for _, c := range p.content {
		if c.l <= p.last {
			taps = append(taps, c.l)
		}
	}
	return taps, nil
}

func (p *problem) styleTaps() []vgg.Layer {
	taps := make([]vgg.Layer, len(p.style))
	for i, s := range p.style {
		taps[i] = s.l
	}
	return taps
}

// styleTargets computes the style images' Grams, each image at its own
// size: those of other sizes than the content's (other) on networks of
// their own before the main one is made, so that the peak memory is that
// of one network, then those of the content's size on the main network.
func (p *problem) styleTargets(e *nativeEngine, taps []vgg.Layer, other bool) error {
	if p.styleGrams == nil {
		p.styleGrams = make([][][]float32, len(p.spec.Styles))
	}
	h, w := p.spec.Content.H, p.spec.Content.W
	collect := false
	for i := range p.spec.Styles {
		s := &p.spec.Styles[i]
		if (s.H != h || s.W != w) != other {
			continue
		}
		net := p.net
		if other && e.maxBytes(&p.spec) > 0 { // tiled if it needs to be
			if err := p.styleGramsWithin(e, i, taps); err != nil {
				return fmt.Errorf("native: style image %d: %w", i+1, err)
			}
			collect = true
			continue
		}
		if other {
			var err error
			if net, err = vgg.NewNetwork(e.w, e.k, s.H, s.W, p.spec.Pooling, taps); err != nil {
				return fmt.Errorf("native: style image %d: %w", i+1, err)
			}
			collect = true
		}
		img := make([]float32, 3*s.H*s.W)
		toCHW(img, s.Pix, s.H, s.W)
		net.Forward(img)
		p.styleGrams[i] = make([][]float32, len(p.style))
		for j, sl := range p.style {
			c, _, _ := net.Shape(sl.l)
			p.styleGrams[i][j] = make([]float32, c*c)
			gram(e.k, p.styleGrams[i][j], net, sl.l)
		}
	}
	if collect {
		runtime.GC()
	}
	return nil
}

// contentTargets keeps the content image's features at the content layers
// the network computes.
func (p *problem) contentTargets(content *engine.Image) {
	toCHW(p.x, content.Pix, p.h, p.w)
	p.net.Forward(p.x)
	p.contentFeats = make([][]float32, len(p.content))
	for j, c := range p.content {
		if c.l <= p.last {
			p.contentFeats[j] = append([]float32(nil), p.net.Features(c.l)...)
		}
	}
}

// problem evaluates the objective on one image size.
type problem struct {
	k      nn.Kernels
	spec   engine.Spec
	net    *vgg.Network
	last   vgg.Layer
	h, w   int
	closed bool

	content, style []lossLayer
	contentFeats   [][]float32   // per content layer (nil past last)
	styleGrams     [][][]float32 // per style image, per style layer

	x, dx  []float32   // the image and its gradient, CHW
	grams  [][]float32 // the current image's Grams, per style layer
	dGrams [][]float32 // the loss's gradient with respect to grams
}

func (p *problem) Close() error {
	*p = problem{closed: true}
	return nil
}

// Eval computes the losses as the reference does: each term in float32
// from sums accumulated in float64.
func (p *problem) Eval(x *engine.Image, grad []float32) (engine.Losses, error) {
	if err := p.checkEval(x, grad); err != nil {
		return engine.Losses{}, err
	}
	toCHW(p.x, x.Pix, p.h, p.w)
	p.net.Forward(p.x)
	content, style, tv := p.contentLoss(), p.styleLoss(), p.tvLoss(x.Pix)
	losses := engine.Losses{
		Content: float64(content), Style: float64(style), TV: float64(tv),
		Total: float64(content + style + tv),
	}
	if grad == nil {
		return losses, nil
	}
	p.gramGrads()
	p.net.Backward(p.dx, p)
	p.tvGrad(grad, x.Pix)
	return losses, nil
}

// checkEval checks Eval's arguments.
func (p *problem) checkEval(x *engine.Image, grad []float32) error {
	if p.closed {
		return engine.ErrClosed
	}
	h, w := p.h, p.w
	if x.H != h || x.W != w || len(x.Pix) != 3*h*w {
		return fmt.Errorf("%w: image is %dx%d with %d values, problem is %dx%d", ErrBadSpec, x.H, x.W, len(x.Pix), h, w)
	}
	if grad != nil && len(grad) != 3*h*w {
		return fmt.Errorf("%w: gradient has %d values, want %d", ErrBadSpec, len(grad), 3*h*w)
	}
	return nil
}

func (p *problem) contentLoss() float32 {
	var content float32
	for j, c := range p.content {
		if c.l > p.last {
			continue // its weight is zero
		}
		t := p.contentFeats[j]
		var s float64
		for i, v := range p.net.Features(c.l) {
			d := float64(v - t[i])
			s += d * d
		}
		content += float32(c.weight*p.spec.ContentWeight) * (float32(s) / float32(len(t)))
	}
	return content
}

func (p *problem) styleLoss() float32 {
	for j, sl := range p.style {
		gram(p.k, p.grams[j], p.net, sl.l)
	}
	return p.styleLossOfGrams()
}

// styleLossOfGrams is the style loss of the current image's Grams p.grams.
func (p *problem) styleLossOfGrams() float32 {
	sp := &p.spec
	var style float32
	for i := range p.styleGrams {
		var sum float32
		for j, sl := range p.style {
			g, a := p.grams[j], p.styleGrams[i][j]
			var s float64
			for q, v := range g {
				d := float64(v - a[q])
				s += d * d
			}
			sum += float32(sl.weight) * (float32(s) / float32(len(a)))
		}
		style += float32(sp.StyleWeight*sp.StyleBlendWeights[i]) * sum
	}
	return style
}

// gramGrads sets the Grams' gradients: sum over styles i of
// 2 sw b_i w_l (G_l - A_il) / C_l^2.
func (p *problem) gramGrads() {
	sp := &p.spec
	for j, sl := range p.style {
		g, dg := p.grams[j], p.dGrams[j]
		clear(dg)
		for i := range p.styleGrams {
			a := p.styleGrams[i][j]
			coef := float32(2 * sp.StyleWeight * sp.StyleBlendWeights[i] * sl.weight / float64(len(a)))
			for q, v := range g {
				dg[q] += coef * (v - a[q])
			}
		}
	}
}

// AddGrad adds the content and style losses' gradients at layer l.
func (p *problem) AddGrad(l vgg.Layer, g, scratch []float32) {
	for j, c := range p.content {
		if c.l != l {
			continue
		}
		t := p.contentFeats[j]
		coef := float32(2 * c.weight * p.spec.ContentWeight / float64(len(t)))
		for i, v := range p.net.Features(l) {
			g[i] += coef * (v - t[i])
		}
	}
	for j, sl := range p.style {
		if sl.l != l || len(p.styleGrams) == 0 {
			continue
		}
		c, h, w := p.net.Shape(l)
		// G = F F^T / (c h w), so dF = (dG + dG^T) F / (c h w), added
		// to g by the kernel.
		p.k.GramBackwardAdd(g, p.dGrams[j], p.net.Features(l), c, h*w, float32(1/float64(c*h*w)))
	}
}

// tvLoss is tv_weight * (sum(dy^2)/size(dy) + sum(dx^2)/size(dx)) on the
// HWC image, a term without differences (an image one pixel high or wide)
// counting 0.
func (p *problem) tvLoss(x []float32) float32 {
	h, w := p.h, p.w
	var sy, sx float64
	for y := 0; y < h; y++ {
		row := x[y*w*3:][:w*3]
		if y+1 < h {
			next := x[(y+1)*w*3:][:w*3]
			for i, v := range row {
				d := float64(next[i] - v)
				sy += d * d
			}
		}
		for i := 3; i < len(row); i++ {
			d := float64(row[i] - row[i-3])
			sx += d * d
		}
	}
	ny, nx := float32((h-1)*w*3), float32(h*(w-1)*3)
	return float32(p.spec.TVWeight) * (div(float32(sy), ny) + div(float32(sx), nx))
}

// div is a/b, and 0 for an empty difference set (b == 0), where the
// reference's 0/0 gives a NaN loss that never improves.
func div(a, b float32) float32 {
	if b == 0 {
		return 0
	}
	return a / b
}

// tvGrad sets grad (HWC) to the network's gradient p.dx (CHW) plus the tv
// loss's gradient.
func (p *problem) tvGrad(grad, x []float32) {
	h, w := p.h, p.w
	n := h * w
	dx := p.dx[:3*n]
	grad = grad[:3*n]
	for q := 0; q < n; q++ {
		grad[3*q], grad[3*q+1], grad[3*q+2] = dx[q], dx[n+q], dx[2*n+q]
	}
	ny, nx := float32((h-1)*w*3), float32(h*(w-1)*3)
	cy := 2 * float32(p.spec.TVWeight) / ny
	cx := 2 * float32(p.spec.TVWeight) / nx
	for y := 0; y < h; y++ {
		row := x[y*w*3:][:w*3]
		grow := grad[y*w*3:][:w*3]
		if y+1 < h {
			next := x[(y+1)*w*3:][:w*3]
			gnext := grad[(y+1)*w*3:][:w*3]
			for i, v := range row {
				d := cy * (next[i] - v)
				gnext[i] += d
				grow[i] -= d
			}
		}
		for i := 3; i < len(row); i++ {
			d := cx * (row[i] - row[i-3])
			grow[i] += d
			grow[i-3] -= d
		}
	}
}

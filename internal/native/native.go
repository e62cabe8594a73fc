// Package native is the pure-Go engine: it evaluates the style-transfer
// objective and its gradient with the VGG-19 network of package vgg on the
// kernels of package nn.
package native

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// ErrBadSpec is wrapped by NewProblem's errors about its spec.
var ErrBadSpec = errors.New("native: bad problem spec")

// The layers the losses read.
var (
	contentLayers = [2]vgg.Layer{9, 13}          // relu4_2, relu5_2
	styleLayers   = [5]vgg.Layer{0, 2, 4, 8, 12} // relu1_1 .. relu5_1
)

type nativeEngine struct {
	w *vgg.Weights
	k nn.Kernels
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

func (e *nativeEngine) NewProblem(spec *engine.Spec) (engine.Problem, error) {
	if err := checkImage("content image", &spec.Content); err != nil {
		return nil, err
	}
	if len(spec.Styles) == 0 || len(spec.StyleBlendWeights) != len(spec.Styles) {
		return nil, fmt.Errorf("%w: %d style images with %d blend weights", ErrBadSpec, len(spec.Styles), len(spec.StyleBlendWeights))
	}
	for i := range spec.Styles {
		if err := checkImage(fmt.Sprintf("style image %d", i+1), &spec.Styles[i]); err != nil {
			return nil, err
		}
	}
	p := &problem{k: e.k, spec: *spec}
	taps := append(styleLayers[:], contentLayers[0])
	// relu5_2 is the deepest layer, and only the content loss reads it.
	p.last = styleLayers[4]
	if spec.ContentWeight*spec.ContentLayerWeights[1] != 0 {
		p.last = contentLayers[1]
		taps = append(taps, p.last)
	}
	h, w := spec.Content.H, spec.Content.W

	// Style targets, each style image at its own size. The networks of other
	// sizes go first and are collected before the main one is made, so that
	// the peak memory is that of one network.
	p.styleTargets = make([][5][]float32, len(spec.Styles))
	styleGrams := func(i int, net *vgg.Network) {
		s := &spec.Styles[i]
		img := make([]float32, 3*s.H*s.W)
		toCHW(img, s.Pix, s.H, s.W)
		net.Forward(img)
		for j, l := range styleLayers {
			c, _, _ := net.Shape(l)
			p.styleTargets[i][j] = make([]float32, c*c)
			gram(e.k, p.styleTargets[i][j], net, l)
		}
	}
	collect := false
	for i := range spec.Styles {
		s := &spec.Styles[i]
		if s.H == h && s.W == w {
			continue
		}
		snet, err := vgg.NewNetwork(e.w, e.k, s.H, s.W, spec.Pooling, styleLayers[:])
		if err != nil {
			return nil, fmt.Errorf("native: style image %d: %w", i+1, err)
		}
		styleGrams(i, snet)
		collect = true
	}
	if collect {
		runtime.GC()
	}

	net, err := vgg.NewNetwork(e.w, e.k, h, w, spec.Pooling, taps)
	if err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	p.net, p.h, p.w = net, h, w
	p.x = make([]float32, 3*h*w)
	p.dx = make([]float32, 3*h*w)
	for i := range spec.Styles {
		if s := &spec.Styles[i]; s.H == h && s.W == w {
			styleGrams(i, net)
		}
	}

	toCHW(p.x, spec.Content.Pix, h, w)
	net.Forward(p.x)
	for j, l := range contentLayers {
		if l <= p.last {
			p.contentTargets[j] = append([]float32(nil), net.Features(l)...)
		}
	}
	for j, l := range styleLayers {
		c, _, _ := net.Shape(l)
		p.grams[j] = make([]float32, c*c)
		p.dGrams[j] = make([]float32, c*c)
	}
	// Keep the weights, not the caller's images or slices.
	p.spec.Content, p.spec.Styles = engine.Image{}, nil
	p.spec.StyleBlendWeights = append([]float64(nil), spec.StyleBlendWeights...)
	return p, nil
}

// problem evaluates the objective on one image size.
type problem struct {
	k      nn.Kernels
	spec   engine.Spec
	net    *vgg.Network
	last   vgg.Layer
	h, w   int
	closed bool

	contentTargets [2][]float32
	styleTargets   [][5][]float32 // per style image, per style layer

	x, dx  []float32    // the image and its gradient, CHW
	grams  [5][]float32 // the current image's Grams
	dGrams [5][]float32 // the loss's gradient with respect to grams
}

func (p *problem) Close() error {
	*p = problem{closed: true}
	return nil
}

// Eval computes the losses as the reference does: each term in float32
// from sums accumulated in float64.
func (p *problem) Eval(x *engine.Image, grad []float32) (engine.Losses, error) {
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
	toCHW(p.x, x.Pix, h, w)
	p.net.Forward(p.x)

	var content float32
	for j, l := range contentLayers {
		if l > p.last {
			continue // its weight is zero
		}
		var s float64
		for i, v := range p.net.Features(l) {
			d := float64(v - p.contentTargets[j][i])
			s += d * d
		}
		content += float32(sp.ContentLayerWeights[j]*sp.ContentWeight) * (float32(s) / float32(len(p.contentTargets[j])))
	}

	for j, l := range styleLayers {
		gram(p.k, p.grams[j], p.net, l)
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

	// The Grams' gradients: sum over styles i of
	// 2 sw b_i w_l (G_l - A_il) / C_l^2.
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
	p.net.Backward(p.dx, p)
	p.tvGrad(grad, x.Pix)
	return losses, nil
}

// AddGrad adds the content and style losses' gradients at layer l.
func (p *problem) AddGrad(l vgg.Layer, g, scratch []float32) {
	sp := &p.spec
	for j, cl := range contentLayers {
		if cl != l {
			continue
		}
		t := p.contentTargets[j]
		coef := float32(2 * sp.ContentLayerWeights[j] * sp.ContentWeight / float64(len(t)))
		for i, v := range p.net.Features(l) {
			g[i] += coef * (v - t[i])
		}
	}
	for j, sl := range styleLayers {
		if sl != l || len(p.styleTargets) == 0 {
			continue
		}
		c, h, w := p.net.Shape(l)
		// G = F F^T / (c h w), so dF = (dG + dG^T) F / (c h w).
		p.k.GramBackward(scratch, p.dGrams[j], p.net.Features(l), c, h*w, float32(1/float64(c*h*w)))
		for i, v := range scratch {
			g[i] += v
		}
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

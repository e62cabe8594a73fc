package stylize

import (
	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/sysmem"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// A run whose untiled estimate is over its memory limit tiles its networks
// on the native engine (engine.Spec.MaxBytes): the limit less what the run
// holds beside the networks' buffers is what they may take.

// nativeEngine reports whether the run's engine is the native one, the
// engine that tiles.
func (r *resolved) nativeEngine() bool { return r.EngineName == "" || r.EngineName == "native" }

// sizeSpec is the run's problem with the images' sizes and no pixels, for
// planning before anything is loaded.
func (r *resolved) sizeSpec(content Size, styles []Size) *engine.Spec {
	spec := &engine.Spec{
		Content: engine.Image{W: content.W, H: content.H}, Pooling: r.pool,
		ContentWeight: r.ContentWeight, ContentLayers: r.content,
		StyleWeight: r.StyleWeight, StyleBlendWeights: r.blend, StyleLayers: r.style, TVWeight: r.TVWeight,
	}
	for _, s := range styles {
		spec.Styles = append(spec.Styles, engine.Image{W: s.W, H: s.H})
	}
	return spec
}

// outsideNetworks is what a tiled native run holds beside its networks'
// buffers (vgg.Plan.Bytes), for weights of the given widths: the process's
// base, the weights as loaded and packed (once: a tiled network's segments
// share no convolution), the run's images and Adam's state (as
// EstimatePeakMemory counts them) and the problem's own buffers
// (native.ProblemBytes).
func outsideNetworks(spec *engine.Spec, widths [vgg.NumConv]int, deepest vgg.Layer) (int64, error) {
	tiled := vgg.Plan{Depth: vgg.Depths[0]}
	own, err := native.ProblemBytes(spec, widths, tiled)
	if err != nil {
		return 0, err
	}
	contentPix := int64(spec.Content.W) * int64(spec.Content.H)
	var stylePix int64
	for _, s := range spec.Styles {
		stylePix += int64(s.W) * int64(s.H)
	}
	run := 4*3*contentPix*(6+2) + 4*3*stylePix*2
	weights := weightBytesOf(widths, vgg.NumConv-1) + packedWeightCopies()*weightBytesOf(widths, int(deepest))
	return nativeBaseBytes + weights + run + own, nil
}

// weightBytesOf is weightBytes for convolutions of the given widths.
func weightBytesOf(widths [vgg.NumConv]int, last int) int64 {
	var n int64
	in := int64(3)
	for i := 0; i <= last; i++ {
		n += 9*in*int64(widths[i]) + int64(widths[i])
		in = int64(widths[i])
	}
	return 4 * n
}

// tilingLimit returns the memory limit the run tiles under, or 0 when its
// untiled estimate est fits (or nothing is known of the memory). A run on
// another engine, or whose least tiling of the real VGG-19 would not fit
// either, is refused with CheckMemory's usage error.
func (r *resolved) tilingLimit(content Size, styles []Size, est int64, limit sysmem.Limit) (int64, error) {
	if limit.Bytes <= 0 || est <= limit.Bytes {
		return 0, nil
	}
	if !r.nativeEngine() {
		return 0, CheckMemory(content, styles, est, limit)
	}
	spec := r.sizeSpec(content, styles)
	outside, err := outsideNetworks(spec, vgg.Widths, r.deepest())
	if err != nil {
		return 0, CheckMemory(content, styles, est, limit)
	}
	least, err := native.LeastBytes(spec, vgg.Widths)
	if err != nil {
		return 0, CheckMemory(content, styles, est, limit)
	}
	if err := CheckMemory(content, styles, outside+least, limit); err != nil {
		return 0, err
	}
	return limit.Bytes, nil
}

// tileBudget is the spec's MaxBytes for a run tiling under limit on
// weights wt: the limit less what the run holds beside the networks, at
// least 1 (so that a network too large for it is refused by the engine).
// It returns what is held beside too (0 when the spec names a bad layer),
// which with the plan's bytes is the run's estimated peak.
func (r *resolved) tileBudget(spec *engine.Spec, wt *vgg.Weights, limit int64) (budget, outside int64) {
	outside, err := outsideNetworks(spec, vgg.WidthsOf(wt), r.deepest())
	if err != nil {
		return 1, 0 // the engine names the bad layer
	}
	return max(1, limit-outside), outside
}

package stylize

import (
	"fmt"
	"strings"
	"sync"

	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/sysmem"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// Size is an image's width and height in pixels.
type Size struct{ W, H int }

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.W, s.H) }

// The calibrated parts of the native model: what the process holds
// whatever the sizes (the Go runtime, the binary, the workers' band and
// pack buffers) and a factor over the counted bytes. Calibrated with
// TestEstimateMemory's child (random full-size weights, the run's buffers,
// AVX-512 kernels, 2 threads), estimate / measured peak RSS:
// 96x64 1.01, 256x256 1.005, 384x256 1.005, 512x384 with a 300x300 style
// 1.001, 256x256 with styles 400x300 and 128x200 1.09, 128x96 with styles
// 64x80 and 150x100 1.16 (the style networks counted as all alive at once;
// a collection between them can free one sooner). More threads add about
// 1.5 MB each. On the portable kernels (-tags purego, 2 threads): 96x64
// 1.01, 256x256 0.96, 128x96 with styles 64x80 and 150x100 1.01, 256x256
// with styles 400x300 and 128x200 1.13.
const (
	nativeBaseBytes = 16 << 20
	nativeSlack     = 1.0
	// tfBaseBytes is TensorFlow's runtime: the library and its thread pools.
	tfBaseBytes = 350 << 20
)

// EstimatePeakMemory estimates the peak resident memory of a run in bytes
// from its sizes alone, before anything is loaded: the content size, each
// style image's size after --style-scales, the deepest layer the losses
// read (relu5_2, or relu5_1 when relu5_2's content weight is zero), the
// optimiser state beyond Adam's (extraStateBytes: L-BFGS history, say) and
// the backend ("native" or "tensorflow"; others are taken as native; the
// native model follows this machine's kernels).
//
// The native model counts the buffers the engine and the run allocate:
// the VGG-19 weights once, and per network (one for the content's size,
// one per style image of another size, all of those alive together before
// the main one) the
// packed weights of both directions, the tapped layers' outputs, one bit
// per other output, the max-pooling positions and two buffers of the
// largest layer; the targets and Grams; the images and Adam's state. The
// TensorFlow model counts what its graph keeps for the gradient (every
// convolution's and ReLU's output, the poolings') plus its runtime; it is
// derived from the graph, not calibrated.
func EstimatePeakMemory(backend string, content Size, styles []Size, deepest vgg.Layer, extraStateBytes int64) int64 {
	deepest = min(max(deepest, 0), vgg.Layer(vgg.NumConv-1))
	contentPix := int64(content.W) * int64(content.H)
	var stylePix int64
	for _, s := range styles {
		stylePix += int64(s.W) * int64(s.H)
	}
	// The run's own buffers: the content as read and preprocessed, the
	// image, its gradient, the best one and the output (3 float32 a pixel
	// each); Adam's m and v; each style image as read and preprocessed.
	run := 4*3*contentPix*(6+2) + 4*3*stylePix*2 + extraStateBytes
	grams := int64(0)
	for _, l := range styleLayerIndexes {
		grams += 4 * int64(vgg.Widths[l]) * int64(vgg.Widths[l])
	}
	// Targets per style, and the current Grams and their gradients.
	targets := grams*int64(len(styles)) + 2*grams

	if backend == "tensorflow" {
		net := func(s Size) int64 { return tfNetworkBytes(s, int(deepest)) }
		peak := net(content)
		for _, s := range styles {
			peak = max(peak, net(s))
		}
		return tfBaseBytes + 2*weightBytes(vgg.NumConv-1) + peak + run + targets
	}

	styleTaps := styleLayerIndexes[:]
	mainTaps := append(append([]int(nil), styleTaps...), 9)
	if deepest >= 13 {
		mainTaps = append(mainTaps, 13)
	}
	// The main network, its content targets and the engine's image and
	// gradient (CHW); a style network of another size before it, freed
	// before the main one is built.
	main := nativeNetworkBytes(content, int(deepest), mainTaps) + 4*3*contentPix*2 + 4*layerElems(content, 9)
	if deepest >= 13 {
		main += 4 * layerElems(content, 13)
	}
	// The style networks of other sizes are built one after another and
	// collected together, before the main one.
	var styleNets int64
	for _, s := range styles {
		if s != content {
			styleNets += nativeNetworkBytes(s, 12, styleTaps)
		}
	}
	peak := max(main, styleNets)
	counted := weightBytes(vgg.NumConv-1) + peak + run + targets
	return nativeBaseBytes + int64(nativeSlack*float64(counted))
}

// styleLayerIndexes are relu1_1 .. relu5_1.
var styleLayerIndexes = [5]int{0, 2, 4, 8, 12}

// weightBytes is the size of the weights and biases of conv1_1 .. conv
// number last (0-based), float32.
func weightBytes(last int) int64 {
	var n int64
	in := int64(3)
	for i := 0; i <= last; i++ {
		n += 9*in*int64(vgg.Widths[i]) + int64(vgg.Widths[i])
		in = int64(vgg.Widths[i])
	}
	return 4 * n
}

// layerSize is the height and width of layer l's output for an image of
// size s (SAME 2x2 poolings round up).
func layerSize(s Size, l int) (h, w int64) {
	h, w = int64(s.H), int64(s.W)
	for i := 0; i <= l; i++ {
		if vgg.PoolBefore(vgg.Layer(i)) {
			h, w = (h+1)/2, (w+1)/2
		}
	}
	return h, w
}

func layerElems(s Size, l int) int64 {
	h, w := layerSize(s, l)
	return int64(vgg.Widths[l]) * h * w
}

// nativeNetworkBytes counts a vgg.Network's buffers through layer last
// with the given taps, and its convolutions' packed weights (one copy per
// direction).
func nativeNetworkBytes(s Size, last int, taps []int) int64 {
	tapped := map[int]bool{}
	for _, t := range taps {
		tapped[t] = true
	}
	var n int64
	largest := 3 * int64(s.W) * int64(s.H)
	for i := 0; i <= last; i++ {
		e := layerElems(s, i)
		if tapped[i] {
			n += 4 * e
		} else {
			n += (e + 63) / 64 * 8
		}
		if vgg.PoolBefore(vgg.Layer(i)) {
			n += layerElems(s, i-1) / 4 // one byte per pooled value, about
		}
		largest = max(largest, e)
	}
	return n + 2*4*largest + packedWeightCopies()*weightBytes(last)
}

// packedWeightCopies is how many copies of the weights a network's
// convolutions keep on this machine's kernels: one per direction on the
// assembly kernels, two per direction (Winograd-transformed, 6 components
// for each 3 taps) on the portable ones.
var packedWeightCopies = sync.OnceValue(func() int64 {
	switch native.DefaultKernels().Name() {
	case "portable":
		return 4
	default:
		return 2
	}
})

// tfNetworkBytes counts what TensorFlow keeps for the gradient through
// layer last: each convolution's and ReLU's output, each pooling's, and two
// gradients of the largest layer in flight.
func tfNetworkBytes(s Size, last int) int64 {
	var n, largest int64
	for i := 0; i <= last; i++ {
		e := layerElems(s, i)
		n += 2 * 4 * e
		if vgg.PoolBefore(vgg.Layer(i)) {
			n += 4 * layerElems(s, i-1) / 4
		}
		largest = max(largest, e)
	}
	return n + 2*4*largest
}

// CheckMemory refuses, as a usage error in one line, a run whose estimated
// peak exceeds the limit: the sizes, the estimate, the limit and the fix.
// There is no check when limit.Bytes is 0 or less (nothing known).
func CheckMemory(content Size, styles []Size, estimate int64, limit sysmem.Limit) error {
	if limit.Bytes <= 0 || estimate <= limit.Bytes {
		return nil
	}
	what := "content " + content.String()
	if len(styles) > 0 {
		names := make([]string, len(styles))
		for i, s := range styles {
			names[i] = s.String()
		}
		what += ", style " + strings.Join(names, ", ")
	}
	source := limit.Source
	if source == "" {
		source = "MaxMemory"
	}
	return invalid("MaxMemory", "is exceeded: %s would take about %s at the peak, over the limit of %s (%s); "+
		"give a smaller Width or StyleScales, or a larger MaxMemory if the memory is there",
		what, sysmem.FormatSize(estimate), sysmem.FormatSize(limit.Bytes), source)
}

// MemoryLimit is the limit a run is checked against: maxMemory (from
// --max-memory) when positive, else what this process may use.
func MemoryLimit(maxMemory int64) sysmem.Limit {
	if maxMemory > 0 {
		return sysmem.Limit{Bytes: maxMemory, Source: "MaxMemory"}
	}
	return sysmem.ProcessLimit()
}

// DeepestLayer is the deepest layer the losses read, as the native engine
// decides it: relu5_2 (13) when its content weight, contentWeight * (1 -
// contentWeightBlend), is not zero, else relu5_1 (12).
func DeepestLayer(contentWeight, contentWeightBlend float64) vgg.Layer {
	if contentWeight*(1-contentWeightBlend) != 0 {
		return 13
	}
	return 12
}

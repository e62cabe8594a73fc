package vgg

import (
	"fmt"
	"strings"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// Layer indexes VGG-19's convolutions and their ReLUs in the order of
// ConvNames: layer 0 is conv1_1/relu1_1, layer 13 conv5_2/relu5_2.
type Layer int

// LayerIndex returns the layer of a relu or conv name ("relu4_2",
// "conv1_1").
func LayerIndex(name string) (Layer, error) {
	conv := name
	if rest, ok := strings.CutPrefix(name, "relu"); ok {
		conv = "conv" + rest
	}
	for i, n := range ConvNames {
		if n == conv {
			return Layer(i), nil
		}
	}
	return 0, fmt.Errorf("vgg: unknown layer %q", name)
}

// poolsBefore reports whether a pooling layer precedes conv i: the first
// convolution of blocks 2 to 5.
func poolsBefore(i int) bool { return i == 2 || i == 4 || i == 8 || i == 12 }

// Network is VGG-19 up to one ReLU layer for one image size, with the
// buffers for a forward pass and a backward pass to the input image. It
// keeps the post-ReLU activations of every layer (they gate the
// backward pass and are the features the losses read) and, for max pooling,
// the position of each window's maximum. A Network is not safe for
// concurrent use.
type Network struct {
	h, w    int
	last    Layer
	pooling engine.Pooling
	convs   []nn.Conv
	// per layer: channels and size of its output
	c, lh, lw []int
	act       [][]float32 // post-ReLU outputs of each layer
	pooled    [][]float32 // pooled[i]: the input of layer i when poolsBefore(i)
	arg       [][]uint8   // max-pooling positions, as pooled
	gradA     []float32   // two gradient buffers the size of the largest layer
	gradB     []float32
}

// Tap receives the gradient at each layer during Network.Backward.
type Tap interface {
	// AddGrad is called with layer l's gradient g (with respect to its
	// post-ReLU output, channels x height x width) before it passes
	// through the ReLU, from the last layer down to layer 0; it adds the
	// losses' gradients at l to g. scratch is a buffer of g's size that
	// AddGrad may use freely.
	AddGrad(l Layer, g, scratch []float32)
}

// NewNetwork builds the network through layer last for h x w images.
func NewNetwork(wt *Weights, k nn.Kernels, h, w int, pooling engine.Pooling, last Layer) (*Network, error) {
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("vgg: image size %dx%d is empty", h, w)
	}
	if last < 0 || int(last) >= len(ConvNames) {
		return nil, fmt.Errorf("vgg: layer %d out of range", last)
	}
	n := &Network{h: h, w: w, last: last, pooling: pooling}
	nl := int(last) + 1
	n.convs = make([]nn.Conv, nl)
	n.c, n.lh, n.lw = make([]int, nl), make([]int, nl), make([]int, nl)
	n.act = make([][]float32, nl)
	n.pooled = make([][]float32, nl)
	n.arg = make([][]uint8, nl)
	ch, lh, lw := 3, h, w
	maxSize := 3 * h * w
	for i := 0; i < nl; i++ {
		cw := &wt.Conv[i]
		if poolsBefore(i) {
			lh, lw = nn.PoolSize(lh), nn.PoolSize(lw)
			n.pooled[i] = make([]float32, ch*lh*lw)
			if pooling == engine.MaxPool {
				n.arg[i] = make([]uint8, ch*lh*lw)
			}
		}
		if cw.In != ch || len(cw.Kernel) != 9*cw.In*cw.Out || len(cw.Bias) != cw.Out {
			return nil, fmt.Errorf("vgg: %s: weights are %d->%d (kernel %d, bias %d values), want %d inputs",
				ConvNames[i], cw.In, cw.Out, len(cw.Kernel), len(cw.Bias), ch)
		}
		ch = cw.Out
		n.c[i], n.lh[i], n.lw[i] = ch, lh, lw
		n.convs[i] = k.NewConv(cw, lh, lw)
		n.act[i] = make([]float32, ch*lh*lw)
		maxSize = max(maxSize, ch*lh*lw)
	}
	return n, nil
}

// Size returns the input image's height and width.
func (n *Network) Size() (h, w int) { return n.h, n.w }

// Last returns the deepest layer the network computes.
func (n *Network) Last() Layer { return n.last }

// Shape returns the channels, height and width of layer l's output.
func (n *Network) Shape(l Layer) (c, h, w int) { return n.c[l], n.lh[l], n.lw[l] }

// Features returns layer l's post-ReLU output from the last Forward
// (channels x height x width). It is the network's own buffer.
func (n *Network) Features(l Layer) []float32 { return n.act[l] }

// Forward runs img (3 x h x w, preprocessed) through the network.
func (n *Network) Forward(img []float32) {
	in := img[:3*n.h*n.w]
	for i, conv := range n.convs {
		if poolsBefore(i) {
			pc, ph, pw := n.c[i-1], n.lh[i-1], n.lw[i-1]
			if n.pooling == engine.MaxPool {
				nn.MaxPool(n.pooled[i], n.arg[i], in, pc, ph, pw)
			} else {
				nn.AvgPool(n.pooled[i], in, pc, ph, pw)
			}
			in = n.pooled[i]
		}
		conv.Forward(n.act[i], in)
		in = n.act[i]
	}
}

// Backward sets dImg (3 x h x w) to the gradient with respect to the
// input of the last Forward of the losses whose gradients tap adds at each
// layer.
func (n *Network) Backward(dImg []float32, tap Tap) {
	if n.gradA == nil {
		size := 0
		for i := range n.act {
			size = max(size, len(n.act[i]))
		}
		n.gradA, n.gradB = make([]float32, size), make([]float32, size)
	}
	cur, other := n.gradA, n.gradB
	g := cur[:len(n.act[n.last])]
	clear(g)
	for i := int(n.last); i >= 0; i-- {
		tap.AddGrad(Layer(i), g, other[:len(g)])
		nn.ReLUBackward(g, n.act[i])
		if i == 0 {
			n.convs[0].BackwardInput(dImg[:3*n.h*n.w], g)
			return
		}
		pc, ph, pw := n.c[i-1], n.lh[i-1], n.lw[i-1]
		if !poolsBefore(i) {
			d := other[:pc*ph*pw]
			n.convs[i].BackwardInput(d, g)
			cur, other, g = other, cur, d
			continue
		}
		d := other[:len(n.pooled[i])]
		n.convs[i].BackwardInput(d, g)
		g = cur[:pc*ph*pw]
		if n.pooling == engine.MaxPool {
			nn.MaxPoolBackward(g, n.arg[i], d, pc, ph, pw)
		} else {
			nn.AvgPoolBackward(g, d, pc, ph, pw)
		}
	}
}

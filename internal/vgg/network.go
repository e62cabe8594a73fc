package vgg

import (
	"fmt"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// Layer indexes VGG-19's convolutions and their ReLUs in the order of
// ConvNames: layer 0 is conv1_1/relu1_1, layer 13 conv5_2/relu5_2.
type Layer int

// Network is VGG-19 up to its deepest tapped layer, for one image size,
// with the buffers for a forward pass and a backward pass to the input
// image. Tapped layers (those the losses read) keep their post-ReLU
// outputs; the others keep only the sign of theirs, which is all the
// backward pass needs, their outputs passing through two buffers that the
// backward pass then uses for the gradients. Max pooling keeps the position
// of each window's maximum. A Network is not safe for concurrent use.
type Network struct {
	h, w    int
	last    Layer
	pooling engine.Pooling
	convs   []nn.Conv
	// per layer: channels and size of its output
	c, lh, lw []int
	tapped    []bool
	act       [][]float32 // post-ReLU outputs of the tapped layers
	mask      [][]uint64  // the other layers' outputs > 0, one bit each
	arg       [][]uint8   // arg[i]: max-pooling positions of layer i's input
	bufA      []float32   // two buffers the size of the largest layer
	bufB      []float32
}

// Tap receives the gradient at each tapped layer during Network.Backward.
type Tap interface {
	// AddGrad is called with tapped layer l's gradient g (with respect to
	// its post-ReLU output, channels x height x width) before it passes
	// through the ReLU, from the deepest layer down; it adds the losses'
	// gradients at l to g. scratch is a buffer of g's size that AddGrad may
	// use freely.
	AddGrad(l Layer, g, scratch []float32)
}

// NewNetwork builds the network through the deepest of the tapped layers
// for h x w images.
func NewNetwork(wt *Weights, k nn.Kernels, h, w int, pooling engine.Pooling, taps []Layer) (*Network, error) {
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("vgg: image size %dx%d is empty", h, w)
	}
	if len(taps) == 0 {
		return nil, fmt.Errorf("vgg: no tapped layers")
	}
	last := Layer(0)
	for _, l := range taps {
		if l < 0 || int(l) >= len(ConvNames) {
			return nil, fmt.Errorf("vgg: layer %d out of range", l)
		}
		last = max(last, l)
	}
	n := &Network{h: h, w: w, last: last, pooling: pooling}
	nl := int(last) + 1
	n.convs = make([]nn.Conv, nl)
	n.c, n.lh, n.lw = make([]int, nl), make([]int, nl), make([]int, nl)
	n.tapped = make([]bool, nl)
	for _, l := range taps {
		n.tapped[l] = true
	}
	n.act = make([][]float32, nl)
	n.mask = make([][]uint64, nl)
	n.arg = make([][]uint8, nl)
	ch, lh, lw := 3, h, w
	size := 3 * h * w
	for i := 0; i < nl; i++ {
		cw := &wt.Conv[i]
		if PoolBefore(Layer(i)) {
			lh, lw = nn.PoolSize(lh), nn.PoolSize(lw)
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
		if n.tapped[i] {
			n.act[i] = make([]float32, ch*lh*lw)
		} else {
			n.mask[i] = make([]uint64, (ch*lh*lw+63)/64)
		}
		size = max(size, ch*lh*lw)
	}
	n.bufA, n.bufB = make([]float32, size), make([]float32, size)
	return n, nil
}

// Size returns the input image's height and width.
func (n *Network) Size() (h, w int) { return n.h, n.w }

// Last returns the deepest layer the network computes.
func (n *Network) Last() Layer { return n.last }

// Shape returns the channels, height and width of layer l's output.
func (n *Network) Shape(l Layer) (c, h, w int) { return n.c[l], n.lh[l], n.lw[l] }

// Features returns tapped layer l's post-ReLU output from the last Forward
// (channels x height x width). It is the network's own buffer.
func (n *Network) Features(l Layer) []float32 {
	if !n.tapped[l] {
		panic(fmt.Sprintf("vgg: Features of %s, which is not tapped", ConvNames[l]))
	}
	return n.act[l]
}

// other returns the transient buffer that does not hold s.
func (n *Network) other(s []float32) []float32 {
	if len(s) > 0 && &s[0] == &n.bufA[0] {
		return n.bufB
	}
	return n.bufA
}

// Forward runs img (3 x h x w, preprocessed) through the network.
func (n *Network) Forward(img []float32) {
	in := img[:3*n.h*n.w]
	for i, conv := range n.convs {
		if PoolBefore(Layer(i)) {
			pc, ph, pw := n.c[i-1], n.lh[i-1], n.lw[i-1]
			out := n.other(in)[:pc*n.lh[i]*n.lw[i]]
			if n.pooling == engine.MaxPool {
				nn.MaxPool(out, n.arg[i], in, pc, ph, pw)
			} else {
				nn.AvgPool(out, in, pc, ph, pw)
			}
			in = out
		}
		out := n.act[i]
		if !n.tapped[i] {
			out = n.other(in)[:n.c[i]*n.lh[i]*n.lw[i]]
		}
		conv.Forward(out, in)
		if !n.tapped[i] {
			nn.PositiveMask(n.mask[i], out)
		}
		in = out
	}
}

// Backward sets dImg (3 x h x w) to the gradient with respect to the
// input of the last Forward of the losses whose gradients tap adds at the
// tapped layers.
func (n *Network) Backward(dImg []float32, tap Tap) {
	cur, other := n.bufA, n.bufB
	g := cur[:n.c[n.last]*n.lh[n.last]*n.lw[n.last]]
	clear(g)
	for i := int(n.last); i >= 0; i-- {
		if n.tapped[i] {
			tap.AddGrad(Layer(i), g, other[:len(g)])
			nn.ReLUBackward(g, n.act[i])
		} else {
			nn.ReLUBackwardMask(g, n.mask[i])
		}
		if i == 0 {
			n.convs[0].BackwardInput(dImg[:3*n.h*n.w], g)
			return
		}
		pc, ph, pw := n.c[i-1], n.lh[i-1], n.lw[i-1]
		if !PoolBefore(Layer(i)) {
			d := other[:pc*ph*pw]
			n.convs[i].BackwardInput(d, g)
			cur, other, g = other, cur, d
			continue
		}
		d := other[:pc*n.lh[i]*n.lw[i]]
		n.convs[i].BackwardInput(d, g)
		g = cur[:pc*ph*pw]
		if n.pooling == engine.MaxPool {
			nn.MaxPoolBackward(g, n.arg[i], d, pc, ph, pw)
		} else {
			nn.AvgPoolBackward(g, d, pc, ph, pw)
		}
	}
}

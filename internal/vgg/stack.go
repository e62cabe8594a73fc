package vgg

import (
	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// stack is convolutions [lo, hi) of VGG-19 (with the pools between them,
// and optionally the pool after the last) for one input size: the part of
// a TiledNetwork that runs on a tile's window, or the part that runs whole
// after it. It keeps what Network keeps: tapped layers' outputs, the other
// layers' ReLU signs, max-pooling positions, and two transient buffers.
type stack struct {
	lo, hi        int
	inC, inH, inW int
	tail          bool // a pool after conv hi-1
	pooling       engine.Pooling
	convs         []nn.Conv
	c, lh, lw     []int // per conv j = i-lo: its output's shape
	tapped        []bool
	act           [][]float32
	mask          [][]uint64
	arg           [][]uint8 // arg[j]: max-pooling positions of conv j's input
	tailArg       []uint8
	outC          int // the output's shape: the tail pool's or the last conv's
	outH, outW    int
	bufA, bufB    []float32
}

// stackShape walks the shapes of convs [lo, hi) from an inC x inH x inW
// input, calling f with each conv's index, whether a pool precedes it
// within the stack, and its output's shape.
func stackShape(widths *[NumConv]int, lo, hi, inH, inW int, f func(i int, pooled bool, c, h, w int)) {
	h, w := inH, inW
	for i := lo; i < hi; i++ {
		pooled := i > lo && PoolBefore(Layer(i))
		if pooled {
			h, w = nn.PoolSize(h), nn.PoolSize(w)
		}
		f(i, pooled, widths[i], h, w)
	}
}

func newStack(wt *Weights, k nn.Kernels, lo, hi, inC, inH, inW int, tail bool, pooling engine.Pooling, tapped func(int) bool) (*stack, error) {
	n := hi - lo
	s := &stack{lo: lo, hi: hi, inC: inC, inH: inH, inW: inW, tail: tail, pooling: pooling,
		convs: make([]nn.Conv, n), c: make([]int, n), lh: make([]int, n), lw: make([]int, n),
		tapped: make([]bool, n), act: make([][]float32, n), mask: make([][]uint64, n), arg: make([][]uint8, n)}
	ch, h, w := inC, inH, inW
	size := 0
	for j := 0; j < n; j++ {
		i := lo + j
		cw := &wt.Conv[i]
		if j > 0 && PoolBefore(Layer(i)) {
			h, w = nn.PoolSize(h), nn.PoolSize(w)
			if pooling == engine.MaxPool {
				s.arg[j] = make([]uint8, ch*h*w)
			}
		}
		if err := checkConv(i, cw, ch); err != nil {
			return nil, err
		}
		ch = cw.Out
		s.c[j], s.lh[j], s.lw[j] = ch, h, w
		s.convs[j] = k.NewConv(cw, h, w)
		s.tapped[j] = tapped(i)
		if s.tapped[j] {
			s.act[j] = make([]float32, ch*h*w)
		} else {
			s.mask[j] = make([]uint64, (ch*h*w+63)/64)
		}
		size = max(size, ch*h*w)
	}
	s.outC, s.outH, s.outW = ch, h, w
	if tail {
		s.outH, s.outW = nn.PoolSize(h), nn.PoolSize(w)
		if pooling == engine.MaxPool {
			s.tailArg = make([]uint8, ch*s.outH*s.outW)
		}
	}
	s.bufA, s.bufB = make([]float32, size), make([]float32, size)
	return s, nil
}

// stackBytes is the bytes newStack allocates for its buffers (not the
// convolutions' own) for weights of the given block widths.
func stackBytes(widths *[NumConv]int, lo, hi, inH, inW int, tail bool, pooling engine.Pooling, tapped func(int) bool) int64 {
	var b, size int64
	prevC := 0
	var lastC, lastH, lastW int
	stackShape(widths, lo, hi, inH, inW, func(i int, pooled bool, c, h, w int) {
		n := int64(c) * int64(h) * int64(w)
		if pooled && pooling == engine.MaxPool {
			b += int64(prevC) * int64(h) * int64(w)
		}
		if tapped(i) {
			b += 4 * n
		} else {
			b += 8 * ((n + 63) / 64)
		}
		size = max(size, n)
		prevC, lastC, lastH, lastW = c, c, h, w
	})
	if tail && pooling == engine.MaxPool {
		b += int64(lastC) * int64(nn.PoolSize(lastH)) * int64(nn.PoolSize(lastW))
	}
	return b + 2*4*size
}

func (s *stack) size(j int) int { return s.c[j] * s.lh[j] * s.lw[j] }

// other returns the transient buffer that does not hold b.
func (s *stack) other(b []float32) []float32 {
	if len(b) > 0 && &b[0] == &s.bufA[0] {
		return s.bufB
	}
	return s.bufA
}

// forward runs in (inC x inH x inW) through the stack; with a tail pool
// it writes the pooled output to out (outC x outH x outW).
func (s *stack) forward(in, out []float32) {
	in = in[:s.inC*s.inH*s.inW]
	for j, conv := range s.convs {
		if j > 0 && PoolBefore(Layer(s.lo+j)) {
			pc, ph, pw := s.c[j-1], s.lh[j-1], s.lw[j-1]
			po := s.other(in)[:pc*s.lh[j]*s.lw[j]]
			if s.pooling == engine.MaxPool {
				nn.MaxPool(po, s.arg[j], in, pc, ph, pw)
			} else {
				nn.AvgPool(po, in, pc, ph, pw)
			}
			in = po
		}
		o := s.act[j]
		if !s.tapped[j] {
			o = s.other(in)[:s.size(j)]
		}
		conv.Forward(o, in)
		if !s.tapped[j] {
			nn.PositiveMask(s.mask[j], o)
		}
		in = o
	}
	if s.tail {
		j := len(s.convs) - 1
		o := out[:s.outC*s.outH*s.outW]
		if s.pooling == engine.MaxPool {
			nn.MaxPool(o, s.tailArg, in, s.c[j], s.lh[j], s.lw[j])
		} else {
			nn.AvgPool(o, in, s.c[j], s.lh[j], s.lw[j])
		}
	}
}

// gradTap adds the losses' gradients at a stack's tapped conv i; see
// Tap.AddGrad.
type gradTap interface {
	addGrad(i int, g, scratch []float32)
}

// backward sets dIn (inC x inH x inW) to the gradient with respect to the
// last forward's input of the losses whose gradients tap adds, plus,
// with a tail pool, of gOut . output (gOut being outC x outH x outW).
func (s *stack) backward(dIn, gOut []float32, tap gradTap) {
	cur, other := s.bufA, s.bufB
	top := len(s.convs) - 1
	g := cur[:s.size(top)]
	if s.tail {
		gOut = gOut[:s.outC*s.outH*s.outW]
		if s.pooling == engine.MaxPool {
			nn.MaxPoolBackward(g, s.tailArg, gOut, s.c[top], s.lh[top], s.lw[top])
		} else {
			nn.AvgPoolBackward(g, gOut, s.c[top], s.lh[top], s.lw[top])
		}
	} else {
		clear(g)
	}
	for j := top; j >= 0; j-- {
		if s.tapped[j] {
			tap.addGrad(s.lo+j, g, other[:len(g)])
			nn.ReLUBackward(g, s.act[j])
		} else {
			nn.ReLUBackwardMask(g, s.mask[j])
		}
		if j == 0 {
			s.convs[0].BackwardInput(dIn[:s.inC*s.inH*s.inW], g)
			return
		}
		pc, ph, pw := s.c[j-1], s.lh[j-1], s.lw[j-1]
		if !PoolBefore(Layer(s.lo + j)) {
			d := other[:pc*ph*pw]
			s.convs[j].BackwardInput(d, g)
			cur, other, g = other, cur, d
			continue
		}
		d := other[:pc*s.lh[j]*s.lw[j]]
		s.convs[j].BackwardInput(d, g)
		g = cur[:pc*ph*pw]
		if s.pooling == engine.MaxPool {
			nn.MaxPoolBackward(g, s.arg[j], d, pc, ph, pw)
		} else {
			nn.AvgPoolBackward(g, d, pc, ph, pw)
		}
	}
}

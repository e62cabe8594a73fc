package vgg

import (
	"fmt"

	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// Rect is a region of a layer's grid: rows [Y, Y+H), columns [X, X+W).
type Rect struct{ Y, X, H, W int }

// TileTap receives the losses' terms at a TiledNetwork's tapped layers:
// those after the tiled segment whole, through Tap, and those in it one
// tile at a time.
type TileTap interface {
	Tap
	// TileFeatures is called during Forward with the features f (c x r.H
	// x r.W, contiguous) of tapped layer l over r. The regions of one
	// Forward partition the layer, each cell passed once: the interiors of
	// the tiles. f is the network's buffer, valid during the call.
	TileFeatures(l Layer, r Rect, f []float32)
	// AddTileGrad is called during Backward with the features f of tapped
	// layer l over a tile's window r (c x r.H x r.W, recomputed) and the
	// gradient g with respect to them; it adds the losses' gradients at
	// those cells to g, as Tap.AddGrad does for a whole layer. The features
	// and gradients near the window's edges inside the image are not the
	// whole network's, and the network does not use what the tap adds
	// there; every cell of the layer is exact in some window. scratch is
	// a buffer of g's size that AddTileGrad may use freely.
	AddTileGrad(l Layer, r Rect, f, g, scratch []float32)
}

// TiledNetwork is VGG-19 up to its deepest tapped layer evaluated by a
// Plan: the segment of convs [0, Depth) with the pool that ends it runs
// on one window of the image at a time, and the deeper layers on the whole
// output of the segment (the boundary). The backward pass recomputes each
// window's forward pass. Its results are the Network's up to the rounding
// of sums taken in another order. A TiledNetwork is not safe for
// concurrent use.
type TiledNetwork struct {
	plan    Plan
	h, w    int
	last    Layer
	k       int // pools in the segment
	seg     *stack
	whole   *stack
	ys, xs  []span
	bc      int // boundary: channels, height, width
	bh, bw  int
	bound   []float32
	dBound  []float32
	win     []float32 // a window of the image
	dWin    []float32 // its gradient
	winOut  []float32 // a window's output, or its gradient
	inner   []float32 // a tapped layer's interior, compact
	img     []float32 // the last Forward's image
	fresh   bool      // the segment holds the last window's forward pass
	segTap  segGrad
	wholeTp wholeGrad
}

// NewTiledNetwork builds the network that plan describes on weights wt,
// with kernels k. The plan must tile (Depth > 0); NewNetwork is the
// untiled one.
func NewTiledNetwork(wt *Weights, k nn.Kernels, plan Plan) (*TiledNetwork, error) {
	ps := plan.Spec
	last, err := ps.check()
	if err != nil {
		return nil, err
	}
	if !plan.Tiled() {
		return nil, fmt.Errorf("vgg: NewTiledNetwork with an untiled plan")
	}
	// Recompute the plan's geometry rather than trust a hand-made one.
	check, err := NewPlan(ps, plan.Depth, plan.Tile)
	if err != nil {
		return nil, err
	}
	n := &TiledNetwork{plan: check, h: ps.H, w: ps.W, last: last, k: poolsIn(plan.Depth)}
	plan = check
	_, n.ys = tileAxis(ps.H, n.k, plan.Tile, plan.Halo)
	_, n.xs = tileAxis(ps.W, n.k, plan.Tile, plan.Halo)
	n.seg, err = newStack(wt, k, 0, plan.Depth, 3, plan.WinH, plan.WinW, true, ps.Pooling, ps.tapped)
	if err != nil {
		return nil, err
	}
	a := 1 << n.k
	n.bc, n.bh, n.bw = n.seg.outC, (ps.H+a-1)/a, (ps.W+a-1)/a
	n.whole, err = newStack(wt, k, plan.Depth, int(last)+1, n.bc, n.bh, n.bw, false, ps.Pooling, ps.tapped)
	if err != nil {
		return nil, err
	}
	n.bound = make([]float32, n.bc*n.bh*n.bw)
	n.dBound = make([]float32, n.bc*n.bh*n.bw)
	n.win = make([]float32, 3*plan.WinH*plan.WinW)
	n.dWin = make([]float32, 3*plan.WinH*plan.WinW)
	n.winOut = make([]float32, n.bc*n.seg.outH*n.seg.outW)
	n.inner = make([]float32, interiorSize(&ps, plan.Depth, maxCells(n.ys), maxCells(n.xs)))
	n.segTap.n = n
	return n, nil
}

// checkConv checks conv i's weights against its input channels ch.
func checkConv(i int, cw *nn.ConvWeights, ch int) error {
	if cw.In != ch || len(cw.Kernel) != 9*cw.In*cw.Out || len(cw.Bias) != cw.Out {
		return fmt.Errorf("vgg: %s: weights are %d->%d (kernel %d, bias %d values), want %d inputs",
			ConvNames[i], cw.In, cw.Out, len(cw.Kernel), len(cw.Bias), ch)
	}
	return nil
}

// Plan returns the network's plan.
func (n *TiledNetwork) Plan() Plan { return n.plan }

// Size returns the input image's height and width.
func (n *TiledNetwork) Size() (h, w int) { return n.h, n.w }

// Last returns the deepest layer the network computes.
func (n *TiledNetwork) Last() Layer { return n.last }

// Depth returns the first layer not tiled: layers below it are seen by
// the tap tile by tile, the others whole.
func (n *TiledNetwork) Depth() Layer { return Layer(n.plan.Depth) }

// Shape returns the channels, height and width of layer l's output in the
// whole image.
func (n *TiledNetwork) Shape(l Layer) (c, h, w int) {
	if int(l) >= n.plan.Depth {
		j := int(l) - n.plan.Depth
		return n.whole.c[j], n.whole.lh[j], n.whole.lw[j]
	}
	s := poolsIn(int(l))
	return n.seg.c[l], ceilShift(n.h, s), ceilShift(n.w, s)
}

func ceilShift(n, s int) int { return (n + 1<<s - 1) >> s }

// Features returns tapped layer l's post-ReLU output from the last
// Forward, l being at or after Depth. It is the network's own buffer.
func (n *TiledNetwork) Features(l Layer) []float32 {
	j := int(l) - n.plan.Depth
	if j < 0 || int(l) > int(n.last) || !n.whole.tapped[j] {
		panic(fmt.Sprintf("vgg: Features of %s, which is not a whole tapped layer", ConvNames[l]))
	}
	return n.whole.act[j]
}

// window copies window (ty, tx) of img (3 x h x w) into n.win.
func (n *TiledNetwork) window(img []float32, ty, tx int) {
	wh, ww := n.plan.WinH, n.plan.WinW
	sy, sx := n.ys[ty].s, n.xs[tx].s
	for c := 0; c < 3; c++ {
		for y := 0; y < wh; y++ {
			copy(n.win[(c*wh+y)*ww:][:ww], img[(c*n.h+sy+y)*n.w+sx:][:ww])
		}
	}
}

// region is tile (ty, tx)'s interior and its window at scale s (s pools
// in), in the layer's grid.
func (n *TiledNetwork) region(ty, tx, s int) (inner, win Rect) {
	lh, lw := ceilShift(n.h, s), ceilShift(n.w, s)
	y, x := n.ys[ty], n.xs[tx]
	sh := n.k - s
	inner.Y, inner.X = y.b0<<sh, x.b0<<sh
	inner.H, inner.W = min(y.b1<<sh, lh)-inner.Y, min(x.b1<<sh, lw)-inner.X
	win = Rect{y.s >> s, x.s >> s, ceilShift(n.plan.WinH, s), ceilShift(n.plan.WinW, s)}
	return inner, win
}

// copyRect copies an h x w region of each of c planes from src (planes of
// sh x sw, the region at row sy, column sx) to dst (planes of dh x dw, at
// dy, dx).
func copyRect(dst []float32, dh, dw, dy, dx int, src []float32, sh, sw, sy, sx int, c, h, w int) {
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			copy(dst[(ch*dh+dy+y)*dw+dx:][:w], src[(ch*sh+sy+y)*sw+sx:][:w])
		}
	}
}

// Forward runs img (3 x h x w, preprocessed) through the network, passing
// the tiled segment's tapped layers to tap tile by tile. img must not
// change until the Backward that follows, which reads it again.
func (n *TiledNetwork) Forward(img []float32, tap TileTap) {
	n.img = img[:3*n.h*n.w]
	n.fresh = false
	for ty := range n.ys {
		for tx := range n.xs {
			n.forwardWindow(ty, tx)
			// The interior of the window's output goes into the boundary.
			in, wr := n.region(ty, tx, n.k)
			copyRect(n.bound, n.bh, n.bw, in.Y, in.X, n.winOut, wr.H, wr.W, in.Y-wr.Y, in.X-wr.X, n.bc, in.H, in.W)
			for j, t := range n.seg.tapped {
				if !t {
					continue
				}
				s := poolsIn(j)
				in, wr := n.region(ty, tx, s)
				c := n.seg.c[j]
				f := n.inner[:c*in.H*in.W]
				copyRect(f, in.H, in.W, 0, 0, n.seg.act[j], wr.H, wr.W, in.Y-wr.Y, in.X-wr.X, c, in.H, in.W)
				tap.TileFeatures(Layer(j), in, f)
			}
		}
	}
	n.whole.forward(n.bound, nil)
	n.fresh = true
}

func (n *TiledNetwork) forwardWindow(ty, tx int) {
	n.window(n.img, ty, tx)
	n.seg.forward(n.win, n.winOut)
}

// Backward sets dImg (3 x h x w) to the gradient with respect to the
// input of the last Forward of the losses whose gradients tap adds at the
// tapped layers.
func (n *TiledNetwork) Backward(dImg []float32, tap TileTap) {
	n.wholeTp.tap, n.segTap.tap = tap, tap
	defer func() { n.wholeTp.tap, n.segTap.tap = nil, nil }()
	n.whole.backward(n.dBound, nil, &n.wholeTp)
	dImg = dImg[:3*n.h*n.w]
	// In reverse order, so that the first window's forward pass is the one
	// Forward left in the segment's buffers (the whole layers' passes use
	// buffers of their own), and only the others are recomputed.
	for ty := len(n.ys) - 1; ty >= 0; ty-- {
		for tx := len(n.xs) - 1; tx >= 0; tx-- {
			if !n.fresh {
				n.forwardWindow(ty, tx)
			}
			n.fresh = false
			_, wr := n.region(ty, tx, n.k)
			copyRect(n.winOut, wr.H, wr.W, 0, 0, n.dBound, n.bh, n.bw, wr.Y, wr.X, n.bc, wr.H, wr.W)
			n.segTap.ty, n.segTap.tx = ty, tx
			n.seg.backward(n.dWin, n.winOut, &n.segTap)
			in, wr := n.region(ty, tx, 0)
			copyRect(dImg, n.h, n.w, in.Y, in.X, n.dWin, wr.H, wr.W, in.Y-wr.Y, in.X-wr.X, 3, in.H, in.W)
		}
	}
}

// wholeGrad passes the whole layers' gradients to the tap.
type wholeGrad struct{ tap TileTap }

func (t *wholeGrad) addGrad(i int, g, scratch []float32) { t.tap.AddGrad(Layer(i), g, scratch) }

// segGrad passes a window's gradients to the tap.
type segGrad struct {
	n      *TiledNetwork
	tap    TileTap
	ty, tx int
}

func (t *segGrad) addGrad(i int, g, scratch []float32) {
	_, wr := t.n.region(t.ty, t.tx, poolsIn(i))
	t.tap.AddTileGrad(Layer(i), wr, t.n.seg.act[i], g, scratch)
}

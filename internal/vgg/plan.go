package vgg

import (
	"errors"
	"fmt"
	"math"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// ErrBudget is wrapped by PlanTiles' error when no plan fits the budget.
var ErrBudget = errors.New("vgg: memory budget too small")

// PlanSpec is what a tiling plan depends on: the image size, the pooling,
// the tapped layers and the weights' convolution widths.
type PlanSpec struct {
	H, W    int
	Pooling engine.Pooling
	Taps    []Layer
	// Widths are the convolutions' output channels (WidthsOf a network's
	// weights); zero means the real VGG-19's, Widths.
	Widths [NumConv]int
}

// WidthsOf returns the output channels of wt's convolutions.
func WidthsOf(wt *Weights) [NumConv]int {
	var w [NumConv]int
	for i := range w {
		w[i] = wt.Conv[i].Out
	}
	return w
}

// Plan is how a network is evaluated: convolutions [0, Depth) (the
// high-resolution layers) tile by tile, each tile computed on a window
// that adds Halo image pixels to each side of it, and the rest on the
// whole (2^k times smaller) output of the tiled segment, k being the pools
// in it. Depth 0 is the untiled Network.
type Plan struct {
	Spec PlanSpec
	// Depth is the first conv not tiled: 0 (untiled), or a conv a pool
	// precedes (2, 4, 8 or 12), the tiled segment ending with that pool.
	Depth int
	// Tile is a tile's side in cells of the segment's output (2^k image
	// pixels each); TilesY x TilesX tiles cover the image.
	Tile           int
	TilesY, TilesX int
	// Halo is the margin of a window in image pixels; WinH x WinW is the
	// size of every window (the image's on an axis with one tile).
	Halo       int
	WinH, WinW int
	// Bytes is what the network allocates for its buffers, exactly: the
	// activations, ReLU masks, pooling positions and transient buffers,
	// whole and per window. The convolutions' packed weights and the
	// kernels' scratch are not included.
	Bytes int64
}

// Tiled reports whether the plan tiles.
func (p *Plan) Tiled() bool { return p.Depth > 0 }

func (p Plan) String() string {
	if !p.Tiled() {
		return fmt.Sprintf("untiled, %.0f MB", float64(p.Bytes)/1e6)
	}
	return fmt.Sprintf("%dx%d tiles of %dx%d px through %s (windows %dx%d), %.0f MB",
		p.TilesY, p.TilesX, p.Tile<<poolsIn(p.Depth), p.Tile<<poolsIn(p.Depth), poolName(p.Depth),
		p.WinH, p.WinW, float64(p.Bytes)/1e6)
}

func poolName(depth int) string {
	return fmt.Sprintf("pool%d", poolsIn(depth))
}

// poolsIn is the number of pools in the segment [0, depth) with the pool
// that ends it.
func poolsIn(depth int) int {
	k := 0
	for i := 1; i <= depth; i++ {
		if PoolBefore(Layer(i)) {
			k++
		}
	}
	return k
}

// Depths are the segment depths a plan may tile: the convs after pool1 to
// pool4.
var Depths = []int{2, 4, 8, 12}

func (ps *PlanSpec) check() (last Layer, err error) {
	if ps.H < 1 || ps.W < 1 {
		return 0, fmt.Errorf("vgg: image size %dx%d is empty", ps.H, ps.W)
	}
	if len(ps.Taps) == 0 {
		return 0, fmt.Errorf("vgg: no tapped layers")
	}
	for _, l := range ps.Taps {
		if l < 0 || int(l) >= len(ConvNames) {
			return 0, fmt.Errorf("vgg: layer %d out of range", l)
		}
		last = max(last, l)
	}
	if ps.Widths == ([NumConv]int{}) {
		ps.Widths = Widths
	}
	return last, nil
}

func (ps *PlanSpec) tapped(i int) bool {
	for _, l := range ps.Taps {
		if int(l) == i {
			return true
		}
	}
	return false
}

// Halo is the margin in image pixels that a window needs on each side of
// its tile not at the image's edge, for the segment [0, depth). Per axis
// and side, in cells of each layer, a tile's interior starting at a
// multiple of 2^k (so at a pooling window's start at every scale):
//
//   - The backward pass needs the gradient at conv i's output over the
//     interior widened by n_i: n_0 = 1 (dImg gathers the 3x3 neighbourhood
//     of conv1_1's output gradient), n_i = n_{i-1} + 1 through a conv, and
//     n_i = ceil(n_{i-1}/2) + 1 through a pool (the pooled cells covering
//     n_{i-1}, then the conv).
//   - A window of margin P computes conv i's output exactly over margin
//     m_i: m_0 = P - 1 (SAME padding is wrong only at the window's edge),
//     m_i = m_{i-1} - 1 through a conv, floor(m_{i-1}/2) - 1 through a
//     pool and a conv (a pooled cell is exact when its whole window is).
//   - Exact values are needed wherever gradients are: m_i >= n_i (ReLU
//     signs and the tapped layers' gradients), and before each pool,
//     m_i >= 2 ceil(n_i/2) (the pooling positions of the windows the
//     gradient passes through, the segment's last pool included).
//
// P is the least multiple of 2^k that satisfies these: 4 pixels through
// pool1, 16 through pool2 (14 needed), 48 through pool3, 128 through pool4.
func Halo(depth int) int {
	a := 1 << poolsIn(depth)
	for p := a; ; p += a {
		if haloSuffices(depth, p) {
			return p
		}
	}
}

func haloSuffices(depth, p int) bool {
	m, need := p-1, 1 // conv 0's
	for i := 1; i <= depth; i++ {
		if m < need {
			return false
		}
		if !PoolBefore(Layer(i)) {
			m, need = m-1, need+1
			continue
		}
		pooled := (need + 1) / 2
		if m < 2*pooled {
			return false
		}
		m, need = m/2-1, pooled+1
	}
	return true
}

// span is one tile along one axis: its interior, cells [b0, b1) of the
// segment's output, and its window's first image pixel.
type span struct{ b0, b1, s int }

// tileAxis splits an axis of n image pixels into tiles of tile cells of 2^k
// pixels with halo-pixel margins. All windows have one size, win, that is
// n less a multiple of 2^k, so that every window starts at a multiple of 2^k
// (its pooling windows are the image's) and can be placed to reach the
// image's far edge: a window starts at its interior less the halo, clamped
// into [0, n - win]. Either way it covers its interior and the halo, or
// meets the image's edge, where SAME padding is the untiled network's.
func tileAxis(n, k, tile, halo int) (win int, spans []span) {
	a := 1 << k
	b := (n + a - 1) / a
	win = tile*a + 2*halo
	win += ((n-win)%a + a) % a
	if win >= n || tile >= b {
		return n, []span{{0, b, 0}}
	}
	for b0 := 0; b0 < b; b0 += tile {
		s := min(max(b0*a-halo, 0), n-win)
		spans = append(spans, span{b0, min(b, b0+tile), s})
	}
	return win, spans
}

// NewPlan returns the plan that tiles convs [0, depth) in tiles of tile
// cells (2^k image pixels each, k the pools through depth's), or the
// untiled plan for depth 0.
func NewPlan(ps PlanSpec, depth, tile int) (Plan, error) {
	last, err := ps.check()
	if err != nil {
		return Plan{}, err
	}
	p := Plan{Spec: ps, Depth: depth}
	if depth == 0 {
		p.Bytes = networkBytes(&ps, last)
		p.TilesY, p.TilesX, p.WinH, p.WinW = 1, 1, ps.H, ps.W
		return p, nil
	}
	if depth < 0 || depth >= len(ConvNames) || !PoolBefore(Layer(depth)) || depth > int(last) {
		return Plan{}, fmt.Errorf("vgg: cannot tile through conv %d with %s the deepest tapped layer", depth, ConvNames[last])
	}
	if tile < 1 {
		return Plan{}, fmt.Errorf("vgg: tile of %d cells", tile)
	}
	k := poolsIn(depth)
	p.Tile, p.Halo = tile, Halo(depth)
	var ys, xs []span
	p.WinH, ys = tileAxis(ps.H, k, tile, p.Halo)
	p.WinW, xs = tileAxis(ps.W, k, tile, p.Halo)
	p.TilesY, p.TilesX = len(ys), len(xs)
	p.Bytes = tiledBytes(&ps, last, depth, maxCells(ys), maxCells(xs), p.WinH, p.WinW)
	return p, nil
}

// networkBytes is what NewNetwork allocates for its buffers.
func networkBytes(ps *PlanSpec, last Layer) int64 {
	b := stackBytes(&ps.Widths, 0, int(last)+1, ps.H, ps.W, false, ps.Pooling, ps.tapped)
	// Network sizes its two transient buffers for the image too.
	m := maxLayer(ps, last)
	return b + 2*4*(max(3*int64(ps.H)*int64(ps.W), m)-m)
}

func maxLayer(ps *PlanSpec, last Layer) int64 {
	var m int64
	stackShape(&ps.Widths, 0, int(last)+1, ps.H, ps.W, func(_ int, _ bool, c, h, w int) {
		m = max(m, int64(c)*int64(h)*int64(w))
	})
	return m
}

// tiledBytes is what NewTiledNetwork allocates for its buffers.
func tiledBytes(ps *PlanSpec, last Layer, depth, cellsY, cellsX, winH, winW int) int64 {
	k := poolsIn(depth)
	a := 1 << k
	bh, bw := (ps.H+a-1)/a, (ps.W+a-1)/a
	ck := int64(ps.Widths[depth-1])
	b := stackBytes(&ps.Widths, 0, depth, winH, winW, true, ps.Pooling, ps.tapped)
	b += stackBytes(&ps.Widths, depth, int(last)+1, bh, bw, false, ps.Pooling, ps.tapped)
	b += 2 * 4 * ck * int64(bh) * int64(bw)                 // boundary and its gradient
	b += 2 * 4 * 3 * int64(winH) * int64(winW)              // window of the image and of its gradient
	b += 4 * ck * int64((winH+a-1)/a) * int64((winW+a-1)/a) // a window's output or its gradient
	b += 4 * interiorSize(ps, depth, cellsY, cellsX)        // a tapped layer's interior
	return b
}

// maxCells is the most cells of the segment's output in one tile.
func maxCells(spans []span) int {
	m := 0
	for _, s := range spans {
		m = max(m, s.b1-s.b0)
	}
	return m
}

// interiorSize is the largest interior of a tile at a tapped layer of the
// segment, in values, for tiles of at most cellsY x cellsX cells of the
// segment's output.
func interiorSize(ps *PlanSpec, depth, cellsY, cellsX int) int64 {
	k := poolsIn(depth)
	var m int64
	stackShape(&ps.Widths, 0, depth, ps.H, ps.W, func(i int, _ bool, c, h, w int) {
		if !ps.tapped(i) {
			return
		}
		j := poolsIn(i) // the layer's scale: the pools before it
		m = max(m, int64(c)*int64(min(cellsY<<(k-j), h))*int64(min(cellsX<<(k-j), w)))
	})
	return m
}

// PlanTiles chooses the plan for ps: the untiled one if its buffers take
// at most maxBytes, else, among the tilings whose buffers do, the one of
// fewest convolution operations (planCost): a deeper segment or smaller
// tiles recompute more. A maxBytes of 0 or less means no limit. When none fits, it returns the
// plan of least bytes with an error wrapping ErrBudget that says how much
// that is.
func PlanTiles(ps PlanSpec, maxBytes int64) (Plan, error) {
	last, err := ps.check()
	if err != nil {
		return Plan{}, err
	}
	untiled, _ := NewPlan(ps, 0, 0)
	if maxBytes <= 0 || untiled.Bytes <= maxBytes {
		return untiled, nil
	}
	best, least := Plan{}, untiled
	bestCost := math.Inf(1)
	for _, depth := range Depths {
		if depth > int(last) {
			break
		}
		a := 1 << poolsIn(depth)
		cells := (max(ps.H, ps.W) + a - 1) / a
		for tile := cells; tile >= 1; tile-- {
			p, err := NewPlan(ps, depth, tile)
			if err != nil {
				return Plan{}, err
			}
			if p.Bytes < least.Bytes {
				least = p
			}
			if p.Bytes > maxBytes {
				continue
			}
			if c := planCost(&p, last); c < bestCost {
				best, bestCost = p, c
			}
		}
	}
	if best.Tiled() {
		return best, nil
	}
	return least, fmt.Errorf("%w: %dx%d needs at least %.0f MB for the network's buffers (%v), the budget is %.0f MB",
		ErrBudget, ps.H, ps.W, float64(least.Bytes)/1e6, least, float64(maxBytes)/1e6)
}

// planCost counts the multiply-adds of the convolutions of one evaluation
// with its gradient: the windows' forward twice (once in the forward pass,
// and recomputed in the backward pass but for the last window's) and
// backward once, the rest forward and backward once.
func planCost(p *Plan, last Layer) float64 {
	ps := &p.Spec
	var c float64
	tiles := float64(p.TilesY * p.TilesX)
	stackShape(&ps.Widths, 0, p.Depth, p.WinH, p.WinW, func(i int, _ bool, co, h, w int) {
		c += (3*tiles - 1) * float64(widthIn(&ps.Widths, i)*co) * float64(h*w)
	})
	a := 1 << poolsIn(p.Depth)
	stackShape(&ps.Widths, p.Depth, int(last)+1, (ps.H+a-1)/a, (ps.W+a-1)/a, func(i int, _ bool, co, h, w int) {
		c += 2 * float64(widthIn(&ps.Widths, i)*co) * float64(h*w)
	})
	return c
}

// widthIn is conv i's input channels.
func widthIn(widths *[NumConv]int, i int) int {
	if i == 0 {
		return 3
	}
	return widths[i-1]
}

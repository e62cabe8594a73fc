package nn

import "math"

// Pooling is 2x2 with stride 2 and TensorFlow's SAME padding: an h x w
// plane pools to ceil(h/2) x ceil(w/2), the last window of an odd size
// holding the one cell inside the image (max ignores the outside, average
// divides by the cells inside). Windows do not overlap, so every input cell
// belongs to exactly one window.

// PoolSize returns the pooled size of n pixels.
func PoolSize(n int) int { return (n + 1) / 2 }

type poolOp int

const (
	opMaxFwd poolOp = iota
	opMaxBwd
	opAvgFwd
	opAvgBwd
)

// poolJob runs one pooling operation over channels in parallel.
type poolJob struct {
	op       poolOp
	in, out  []float32 // full-size and pooled planes, whichever direction
	arg      []uint8
	c, h, w  int
	oh, ow   int
	perTask  int
	numTasks int
}

var poolJobs freeList[poolJob]

func runPool(op poolOp, full, pooled []float32, arg []uint8, c, h, w int) {
	oh, ow := PoolSize(h), PoolSize(w)
	j := poolJobs.get()
	*j = poolJob{op: op, in: full[:c*h*w], out: pooled[:c*oh*ow], c: c, h: h, w: w, oh: oh, ow: ow}
	if arg != nil {
		j.arg = arg[:c*oh*ow]
	}
	j.perTask = max(1, c/16)
	j.numTasks = (c + j.perTask - 1) / j.perTask
	parallel(j.numTasks, j)
	*j = poolJob{}
	poolJobs.put(j)
}

// MaxPool sets out (c x ceil(h/2) x ceil(w/2)) to the maxima of the windows
// of in (c x h x w), and arg to the position of each maximum in its window
// (dy*2 + dx, the first in row-major order on ties).
func MaxPool(out []float32, arg []uint8, in []float32, c, h, w int) {
	runPool(opMaxFwd, in, out, arg, c, h, w)
}

// MaxPoolBackward sets dIn (c x h x w) to dOut routed to the maxima that
// MaxPool recorded in arg, and zero elsewhere.
func MaxPoolBackward(dIn []float32, arg []uint8, dOut []float32, c, h, w int) {
	runPool(opMaxBwd, dIn, dOut, arg, c, h, w)
}

// AvgPool sets out to the means of the in-image cells of each window.
func AvgPool(out, in []float32, c, h, w int) {
	runPool(opAvgFwd, in, out, nil, c, h, w)
}

// AvgPoolBackward sets dIn to each window's dOut divided among its
// in-image cells.
func AvgPoolBackward(dIn, dOut []float32, c, h, w int) {
	runPool(opAvgBwd, dIn, dOut, nil, c, h, w)
}

func (j *poolJob) Run(t int) {
	h, w, oh, ow := j.h, j.w, j.oh, j.ow
	for ch := t * j.perTask; ch < min(j.c, (t+1)*j.perTask); ch++ {
		full := j.in[ch*h*w:][:h*w]
		pooled := j.out[ch*oh*ow:][:oh*ow]
		var arg []uint8
		if j.arg != nil {
			arg = j.arg[ch*oh*ow:][:oh*ow]
		}
		for oy := 0; oy < oh; oy++ {
			y0 := 2 * oy
			ox := 0
			if y0+1 < h {
				// Whole 2x2 windows, the bulk of the work, without the
				// general loop's bounds and branches.
				ox = j.rowPairs(full[y0*w:][:2*w], pooled[oy*ow:][:ow], arg, oy*ow, w)
			}
			for ; ox < ow; ox++ {
				j.window(full, pooled, arg, oy, ox)
			}
		}
	}
}

// rowPairs pools the whole windows of rows y0 and y0+1 (rows holds both)
// into out, returning how many windows it did; arg is indexed from o0.
func (j *poolJob) rowPairs(rows, out []float32, arg []uint8, o0, w int) int {
	r0, r1 := rows[:w], rows[w:2*w]
	n := w / 2
	switch j.op {
	case opMaxFwd:
		a := arg[o0:][:n]
		for ox := maxPoolRowsFast(r0, r1, out[:n], a); ox < n; ox++ {
			// the first maximum in row-major order, as the general loop
			best, bi := r0[2*ox], uint8(0)
			if v := r0[2*ox+1]; v > best {
				best, bi = v, 1
			}
			if v := r1[2*ox]; v > best {
				best, bi = v, 2
			}
			if v := r1[2*ox+1]; v > best {
				best, bi = v, 3
			}
			out[ox], a[ox] = best, bi
		}
	case opMaxBwd:
		a := arg[o0:][:n]
		for ox := maxPoolBackRowsFast(r0, r1, out[:n], a); ox < n; ox++ {
			k, g := a[ox], out[ox]
			r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1] = 0, 0, 0, 0
			switch k {
			case 0:
				r0[2*ox] = g
			case 1:
				r0[2*ox+1] = g
			case 2:
				r1[2*ox] = g
			default:
				r1[2*ox+1] = g
			}
		}
	case opAvgFwd:
		for ox := range out[:n] {
			out[ox] = (r0[2*ox] + r0[2*ox+1] + r1[2*ox] + r1[2*ox+1]) / 4
		}
	case opAvgBwd:
		for ox := range out[:n] {
			g := out[ox] / 4
			r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1] = g, g, g, g
		}
	}
	return n
}

// window pools one window of any size (the edges of odd sizes).
func (j *poolJob) window(full, pooled []float32, arg []uint8, oy, ox int) {
	h, w, ow := j.h, j.w, j.ow
	y0, x0 := 2*oy, 2*ox
	ny, nx := min(2, h-y0), min(2, w-x0)
	o := oy*ow + ox
	switch j.op {
	case opMaxFwd:
		best, bi := full[y0*w+x0], uint8(0)
		for dy := 0; dy < ny; dy++ {
			for dx := 0; dx < nx; dx++ {
				if v := full[(y0+dy)*w+x0+dx]; v > best {
					best, bi = v, uint8(dy*2+dx)
				}
			}
		}
		pooled[o], arg[o] = best, bi
	case opMaxBwd:
		for dy := 0; dy < ny; dy++ {
			for dx := 0; dx < nx; dx++ {
				full[(y0+dy)*w+x0+dx] = 0
			}
		}
		a := int(arg[o])
		full[(y0+a/2)*w+x0+a%2] = pooled[o]
	case opAvgFwd:
		var s float32
		for dy := 0; dy < ny; dy++ {
			for dx := 0; dx < nx; dx++ {
				s += full[(y0+dy)*w+x0+dx]
			}
		}
		pooled[o] = s / float32(ny*nx)
	case opAvgBwd:
		g := pooled[o] / float32(ny*nx)
		for dy := 0; dy < ny; dy++ {
			for dx := 0; dx < nx; dx++ {
				full[(y0+dy)*w+x0+dx] = g
			}
		}
	}
}

// ReLUBackward gates the gradient d with the ReLU's output act: d is zeroed
// where act is not positive (the ReLU's derivative, taken as 0 at 0 like
// TensorFlow and PyTorch).
func ReLUBackward(d, act []float32) {
	runGate(gateReLU, d, act[:len(d)], nil)
}

// PositiveMask sets bit i of mask (bit i%64 of word i/64) to whether
// act[i] > 0: the ReLU's gate, at a 32nd of the activations' memory.
func PositiveMask(mask []uint64, act []float32) {
	runGate(gateMask, nil, act, mask[:(len(act)+63)/64])
}

// ReLUBackwardMask gates d with a mask from PositiveMask.
func ReLUBackwardMask(d []float32, mask []uint64) {
	runGate(gateMasked, d, nil, mask[:(len(d)+63)/64])
}

type gateOp int

const (
	gateReLU gateOp = iota
	gateMask
	gateMasked
)

// gateChunk is the elements one task gates: a multiple of 64, so that
// tasks own whole mask words, and large enough to amortise the hand-off.
const gateChunk = 1 << 15

// gateJob spreads the element-wise ReLU gates over the cores: run serially
// they took a tenth of an iteration's CPU time while a core stood idle.
type gateJob struct {
	op   gateOp
	d    []float32
	act  []float32
	mask []uint64
	n    int
}

var gateJobs freeList[gateJob]

func runGate(op gateOp, d, act []float32, mask []uint64) {
	n := len(d)
	if op == gateMask {
		n = len(act)
	}
	j := gateJobs.get()
	*j = gateJob{op: op, d: d, act: act, mask: mask, n: n}
	parallel((n+gateChunk-1)/gateChunk, j)
	*j = gateJob{}
	gateJobs.put(j)
}

func (j *gateJob) Run(t int) {
	// The activations' signs are random, so branches would mispredict half
	// the time: each gate selects bits instead (the compiler turns these
	// if-assignments into conditional moves), with the same comparisons.
	lo, hi := t*gateChunk, min((t+1)*gateChunk, j.n)
	switch j.op {
	case gateReLU:
		d, act := j.d[lo:hi], j.act[lo:hi]
		act = act[:len(d)]
		for i := reluBackwardFast(d, act); i < len(act); i++ {
			a := act[i]
			u := math.Float32bits(d[i])
			if a <= 0 {
				u = 0
			}
			d[i] = math.Float32frombits(u)
		}
	case gateMask:
		act := j.act[lo:hi]
		mask := j.mask[lo/64 : (hi+63)/64]
		for w := positiveMaskFast(mask, act) / 64; w < len(mask); w++ {
			chunk := act[w*64 : min(len(act), w*64+64)]
			var m uint64
			for b, a := range chunk {
				var bit uint64
				if a > 0 {
					bit = 1
				}
				m |= bit << uint(b)
			}
			mask[w] = m
		}
	case gateMasked:
		d := j.d[lo:hi]
		mask := j.mask[lo/64 : (hi+63)/64]
		for w := reluMaskedFast(d, mask) / 64; w < len(mask); w++ {
			m := mask[w]
			if m == ^uint64(0) {
				continue
			}
			chunk := d[w*64 : min(len(d), w*64+64)]
			for b := range chunk {
				// all ones where bit b is set, zero where it is not
				keep := uint32(-int32((m >> uint(b)) & 1))
				chunk[b] = math.Float32frombits(math.Float32bits(chunk[b]) & keep)
			}
		}
	}
}

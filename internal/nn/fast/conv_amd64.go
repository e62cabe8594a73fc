//go:build amd64 && !purego

package fast

import (
	"fmt"
	"unsafe"

	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// padSlack floats after the last padded channel: the last vector of a row
// reads up to a vector width past the row's end (its extra lanes are masked
// on store).
const padSlack = 32

type conv struct {
	k            *kernels
	v            *variant
	nIn, nOut    int
	h, w, wp     int
	wf, bf       []float32 // forward weights [nOut/C][nIn][9][C] and bias
	wb           []float32 // backward weights [nIn/C][nOut][9][C]
	fwd, bwd     convJob
	padF, padB   padJob
	vpr, nt      int // vectors per row, tiles (convP vectors) per image
	padChanElems int
}

// NewConv packs the weights for both directions and sizes the shared
// padded buffer.
func (k *kernels) NewConv(wt *nn.ConvWeights, h, w int) nn.Conv {
	if len(wt.Kernel) != 9*wt.In*wt.Out || len(wt.Bias) != wt.Out || h < 1 || w < 1 {
		panic(fmt.Sprintf("fast: bad convolution %dx%d, %d->%d, %d weights, %d biases",
			h, w, wt.In, wt.Out, len(wt.Kernel), len(wt.Bias)))
	}
	v := k.v
	C := v.convC
	c := &conv{k: k, v: v, nIn: wt.In, nOut: wt.Out, h: h, w: w, wp: w + 2}
	c.padChanElems = (h + 2) * c.wp
	nbF := (wt.Out + C - 1) / C
	nbB := (wt.In + C - 1) / C
	c.wf = make([]float32, nbF*wt.In*9*C)
	c.bf = make([]float32, nbF*C)
	copy(c.bf, wt.Bias)
	c.wb = make([]float32, nbB*wt.Out*9*C)
	for t := 0; t < 9; t++ {
		for i := 0; i < wt.In; i++ {
			for o := 0; o < wt.Out; o++ {
				x := wt.Kernel[(t*wt.In+i)*wt.Out+o]
				c.wf[(((o/C)*wt.In+i)*9+t)*C+o%C] = x
				c.wb[(((i/C)*wt.Out+o)*9+(8-t))*C+i%C] = x
			}
		}
	}
	c.vpr = (w + v.lanes - 1) / v.lanes
	c.nt = (h*c.vpr + v.convP - 1) / v.convP
	n := workers().n
	c.fwd = convJob{c: c, wts: c.wf, bias: c.bf, nIn: wt.In, nOut: wt.Out, flags: flagReLU, args: make([]convArgs, n)}
	c.bwd = convJob{c: c, wts: c.wb, bias: zeros[:], nIn: wt.Out, nOut: wt.In, args: make([]convArgs, n)}
	c.padF = padJob{c: c, nch: wt.In}
	c.padB = padJob{c: c, nch: wt.Out}
	k.mu.Lock()
	k.pad = grow(k.pad, max(wt.In, wt.Out)*c.padChanElems+padSlack)
	k.mu.Unlock()
	return c
}

func (c *conv) Forward(out, in []float32) {
	if len(in) != c.nIn*c.h*c.w || len(out) != c.nOut*c.h*c.w {
		panic(fmt.Sprintf("fast: Forward with %d inputs, %d outputs for %dx%d, %d->%d", len(in), len(out), c.h, c.w, c.nIn, c.nOut))
	}
	c.run(&c.padF, &c.fwd, out, in)
}

func (c *conv) BackwardInput(dIn, dOut []float32) {
	if len(dOut) != c.nOut*c.h*c.w || len(dIn) != c.nIn*c.h*c.w {
		panic(fmt.Sprintf("fast: BackwardInput with %d inputs, %d outputs for %dx%d, %d->%d", len(dOut), len(dIn), c.h, c.w, c.nIn, c.nOut))
	}
	c.run(&c.padB, &c.bwd, dIn, dOut)
}

func (c *conv) run(pj *padJob, cj *convJob, out, in []float32) {
	k := c.k
	k.mu.Lock()
	defer k.mu.Unlock()
	p := workers()
	pad := k.pad[:pj.nch*c.padChanElems+padSlack]
	pj.src, pj.dst = in, pad
	p.do(pj, &k.wg)
	cj.pad, cj.out = pad, out
	p.do(cj, &k.wg)
	pj.src, pj.dst, cj.pad, cj.out = nil, nil, nil, nil
}

// padJob copies nch channels of src into dst with a zero border.
type padJob struct {
	c        *conv
	nch      int
	src, dst []float32
}

func (j *padJob) run(part, nparts int) {
	c := j.c
	h, w, wp := c.h, c.w, c.wp
	lo, hi := j.nch*part/nparts, j.nch*(part+1)/nparts
	for ch := lo; ch < hi; ch++ {
		d := j.dst[ch*c.padChanElems : (ch+1)*c.padChanElems]
		s := j.src[ch*h*w : (ch+1)*h*w]
		clear(d[:wp+1])
		for y := 0; y < h; y++ {
			r := d[(y+1)*wp+1:]
			copy(r[:w], s[y*w:(y+1)*w])
			r[w], r[w+1] = 0, 0 // right border of this row, left border of the next
		}
		clear(d[(h+1)*wp:])
	}
}

// convJob runs the micro-kernel over every (tile, channel block) pair.
type convJob struct {
	c         *conv
	wts, bias []float32
	nIn, nOut int
	flags     int64
	args      []convArgs
	pad, out  []float32
}

func (j *convJob) run(part, nparts int) {
	c, v := j.c, j.c.v
	C, P, L := v.convC, v.convP, v.lanes
	a := &j.args[part]
	a.in = unsafe.Pointer(&j.pad[0])
	a.out = unsafe.Pointer(&j.out[0])
	a.nIn = int64(j.nIn)
	a.inChan = int64(c.padChanElems * 4)
	a.row = int64(c.wp * 4)
	a.outChan = int64(c.h * c.w * 4)
	a.flags = j.flags
	nv := c.h * c.vpr
	nb := (j.nOut + C - 1) / C
	blockW := j.nIn * 9 * C
	lo, hi := c.nt*part/nparts, c.nt*(part+1)/nparts
	// Tiles go in groups of tileGroup: within a group every channel block
	// runs over all tiles, so a block's weights are reused from cache
	// across the group while the group's input stays in L2.
	G := v.tileGroup
	for g0 := lo; g0 < hi; g0 += G {
		for b := 0; b < nb; b++ {
			a.w = unsafe.Pointer(&j.wts[b*blockW])
			a.bias = unsafe.Pointer(&j.bias[min(b*C, len(j.bias)-C)])
			a.nValid = int64(min(C, j.nOut-b*C))
			a.out = unsafe.Pointer(&j.out[b*C*c.h*c.w])
			for t := g0; t < min(g0+G, hi); t++ {
				for p := 0; p < P; p++ {
					vi := t*P + p
					n := 0
					if vi < nv {
						n = 1
					} else {
						vi = nv - 1 // duplicate a valid vector, store nothing
					}
					y, x0 := vi/c.vpr, (vi%c.vpr)*L
					if n > 0 {
						n = min(L, c.w-x0)
					}
					a.inOff[p] = int64((y*c.wp + x0) * 4)
					a.outOff[p] = int64((y*c.w + x0) * 4)
					a.mask[p] = v.mask(n)
				}
				v.conv(a)
			}
		}
	}
	a.in, a.w, a.bias, a.out = nil, nil, nil, nil
}

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
	k         *kernels
	v         *variant
	nIn, nOut int
	h, w, wp  int
	vpr       int       // vectors per row
	wf, bf    []float32 // forward weights [nOut/C][nIn][9][C] and bias
	wb        []float32 // backward weights [nIn/C][nOut][9][C]
	// u holds the Winograd-transformed weights [16][nOut][nIn] when either
	// direction uses Winograd; the direct packings exist only for the
	// directions that do not.
	u        []float32
	fwd, bwd dirJob
}

// NewConv packs the weights for both directions and sizes the workers'
// band buffers. A direction runs as Winograd's F(2x2, 3x3) where that
// pays (see useWino), else as the direct convolution.
func (k *kernels) NewConv(wt *nn.ConvWeights, h, w int) nn.Conv {
	if len(wt.Kernel) != 9*wt.In*wt.Out || len(wt.Bias) != wt.Out || h < 1 || w < 1 {
		panic(fmt.Sprintf("fast: bad convolution %dx%d, %d->%d, %d weights, %d biases",
			h, w, wt.In, wt.Out, len(wt.Kernel), len(wt.Bias)))
	}
	v := k.v
	C := v.convC
	c := &conv{k: k, v: v, nIn: wt.In, nOut: wt.Out, h: h, w: w, wp: w + 2}
	winoF := v.useWino(wt.In, wt.Out, h, w)
	winoB := v.useWino(wt.Out, wt.In, h, w)
	nbF := (wt.Out + C - 1) / C
	nbB := (wt.In + C - 1) / C
	c.bf = make([]float32, nbF*C)
	copy(c.bf, wt.Bias)
	if !winoF {
		c.wf = make([]float32, nbF*wt.In*9*C)
	}
	if !winoB {
		c.wb = make([]float32, nbB*wt.Out*9*C)
	}
	for t := 0; t < 9; t++ {
		for i := 0; i < wt.In; i++ {
			for o := 0; o < wt.Out; o++ {
				x := wt.Kernel[(t*wt.In+i)*wt.Out+o]
				if c.wf != nil {
					c.wf[(((o/C)*wt.In+i)*9+t)*C+o%C] = x
				}
				if c.wb != nil {
					c.wb[(((i/C)*wt.Out+o)*9+(8-t))*C+i%C] = x
				}
			}
		}
	}
	if winoF || winoB {
		blockC := 0
		if v.wgemmB != nil {
			blockC = C
		}
		c.u = winoWeights(wt, blockC)
	}
	c.vpr = (w + v.lanes - 1) / v.lanes
	n := k.parts
	elems := 0
	if winoF {
		j := newWinoJob(c, wt.In, wt.Out, true, n)
		c.fwd, elems = j, max(elems, j.elems)
	} else {
		j := &convJob{c: c, wts: c.wf, bias: c.bf, nIn: wt.In, nOut: wt.Out, flags: flagReLU, args: make([]convArgs, n)}
		j.setBands(n)
		c.fwd, elems = j, max(elems, j.bandElems)
	}
	if winoB {
		j := newWinoJob(c, wt.Out, wt.In, false, n)
		c.bwd, elems = j, max(elems, j.elems)
	} else {
		j := &convJob{c: c, wts: c.wb, bias: zeros[:], nIn: wt.Out, nOut: wt.In, args: make([]convArgs, n)}
		j.setBands(n)
		c.bwd, elems = j, max(elems, j.bandElems)
	}
	k.mu.Lock()
	for len(k.bands) < n {
		k.bands = append(k.bands, nil)
	}
	for i := range k.bands {
		k.bands[i] = grow(k.bands[i], elems)
	}
	k.mu.Unlock()
	return c
}

func (c *conv) Forward(out, in []float32) {
	if len(in) != c.nIn*c.h*c.w || len(out) != c.nOut*c.h*c.w {
		panic(fmt.Sprintf("fast: Forward with %d inputs, %d outputs for %dx%d, %d->%d", len(in), len(out), c.h, c.w, c.nIn, c.nOut))
	}
	c.run(c.fwd, out, in)
}

func (c *conv) BackwardInput(dIn, dOut []float32) {
	if len(dOut) != c.nOut*c.h*c.w || len(dIn) != c.nIn*c.h*c.w {
		panic(fmt.Sprintf("fast: BackwardInput with %d inputs, %d outputs for %dx%d, %d->%d", len(dOut), len(dIn), c.h, c.w, c.nIn, c.nOut))
	}
	c.run(c.bwd, dIn, dOut)
}

// convIO is a direction's binding to one call's tensors and the workers'
// buffers.
type convIO struct {
	src, out []float32
	bands    [][]float32
}

type dirJob interface {
	job
	io() *convIO
}

func (j *convJob) io() *convIO { return &j.convIO }

func (c *conv) run(jj dirJob, out, in []float32) {
	k := c.k
	k.mu.Lock()
	defer k.mu.Unlock()
	b := jj.io()
	b.src, b.out, b.bands = in, out, k.bands
	k.do(jj)
	*b = convIO{}
}

// convJob is one direction of a convolution. The image is cut into bands
// of rows; each worker takes whole bands, copies a band's input rows (with
// a one-pixel zero border and the halo rows) into its own buffer, and runs
// the micro-kernel over the band's tiles and every block of output
// channels. The padded copy thus stays in cache and needs no
// synchronisation between workers.
type convJob struct {
	c         *conv
	wts, bias []float32
	nIn, nOut int
	flags     int64
	args      []convArgs
	// Each band has bandRows output rows; the buffer holds bandRows+2
	// padded rows per channel.
	bandRows, nBands int
	bandChan         int // floats per channel in a band buffer
	bandElems        int
	convIO
}

// setBands sizes the bands: as many rows as fit the variant's band bytes
// (at least 8), a multiple of the kernel's vectors so that tiles never
// straddle bands, and at least one band per worker.
func (j *convJob) setBands(nparts int) {
	c := j.c
	P := c.v.convP
	up := func(x, m int) int { return (x + m - 1) / m * m }
	rowBytes := j.nIn * c.wp * 4
	br := up(max(8, c.v.bandBytes/rowBytes-2), P)
	br = min(br, up((c.h+nparts-1)/nparts, P))
	j.bandRows, j.nBands = br, (c.h+br-1)/br
	j.bandChan = (br + 2) * c.wp
	j.bandElems = j.nIn*j.bandChan + padSlack
}

// run takes every nparts-th band, so that the parts differ by at most one
// band.
func (j *convJob) run(part, nparts int) {
	for b := part; b < j.nBands; b += nparts {
		j.band(part, b*j.bandRows)
	}
}

// band computes output rows y0 .. y0+bandRows-1 on worker part.
func (j *convJob) band(part, y0 int) {
	c, v := j.c, j.c.v
	C, P, L := v.convC, v.convP, v.lanes
	h, w, wp := c.h, c.w, c.wp
	buf := j.bands[part][:j.bandElems]
	// Padded row r of the band is input row y0-1+r.
	for ch := 0; ch < j.nIn; ch++ {
		d := buf[ch*j.bandChan : (ch+1)*j.bandChan]
		s := j.src[ch*h*w : (ch+1)*h*w]
		for r := 0; r < j.bandRows+2; r++ {
			row := d[r*wp : (r+1)*wp]
			y := y0 - 1 + r
			if y < 0 || y >= h {
				clear(row)
				continue
			}
			row[0], row[wp-1] = 0, 0
			copy(row[1:wp-1], s[y*w:(y+1)*w])
		}
	}

	a := &j.args[part]
	a.outChan = int64(h * w * 4)
	a.inChan = int64(j.bandChan * 4)
	a.row = int64(wp * 4)
	nv := min(j.bandRows, h-y0) * c.vpr // valid vectors in the band
	nt := (j.bandRows*c.vpr + P - 1) / P
	nt = min(nt, (nv+P-1)/P)
	nb := (j.nOut + C - 1) / C
	blockW := j.nIn * 9 * C
	ic := j.nIn
	if v.inChunk > 0 {
		ic = min(ic, v.inChunk)
	}
	// Tiles go in groups of tileGroup: within a group every channel block
	// runs over all tiles, so a block's weights are reused from cache
	// across the group.
	G := v.tileGroup
	for g0 := 0; g0 < nt; g0 += G {
		for i0 := 0; i0 < j.nIn; i0 += ic {
			ni := min(ic, j.nIn-i0)
			a.nIn = int64(ni)
			a.in = unsafe.Pointer(&buf[i0*j.bandChan])
			a.flags = 0
			if i0 > 0 {
				a.flags |= flagAccum
			}
			if i0+ni == j.nIn {
				a.flags |= j.flags
			}
			for b := 0; b < nb; b++ {
				a.w = unsafe.Pointer(&j.wts[b*blockW+i0*9*C])
				a.bias = unsafe.Pointer(&j.bias[min(b*C, len(j.bias)-C)])
				a.nValid = int64(min(C, j.nOut-b*C))
				a.out = unsafe.Pointer(&j.out[b*C*h*w])
				for t := g0; t < min(g0+G, nt); t++ {
					for p := 0; p < P; p++ {
						vi, n := t*P+p, 1
						if vi >= nv {
							vi, n = nv-1, 0 // duplicate a valid vector, store nothing
						}
						r, x0 := vi/c.vpr, (vi%c.vpr)*L
						if n > 0 {
							n = min(L, w-x0)
						}
						a.inOff[p] = int64((r*wp + x0) * 4)
						a.outOff[p] = int64(((y0+r)*w + x0) * 4)
						a.mask[p] = v.mask(n)
					}
					v.conv(a)
				}
			}
		}
	}
	a.in, a.w, a.bias, a.out = nil, nil, nil, nil
}

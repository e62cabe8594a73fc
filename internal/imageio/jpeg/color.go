package jpeg

import (
	"runtime"
	"sync"
)

// libjpeg's YCbCr->RGB tables (jdcolor.c: SCALEBITS 16, FIX(x) = round(x*2^16)).
var crR, cbB, crG, cbG [256]int32

func init() {
	const half = 1 << 15
	fix := func(x float64) int64 { return int64(x*(1<<16) + 0.5) }
	for i := range 256 {
		x := int64(i - 128)
		crR[i] = int32((fix(1.40200)*x + half) >> 16)
		cbB[i] = int32((fix(1.77200)*x + half) >> 16)
		crG[i] = int32(-fix(0.71414) * x)
		cbG[i] = int32(-fix(0.34414)*x + half)
	}
}

func sat8(x int32) uint8 {
	if uint32(x) > 255 {
		if x < 0 {
			return 0
		}
		return 255
	}
	return uint8(x)
}

// muldiv255 is Pillow's MULDIV255: a*b/255 rounded, in integers.
func muldiv255(a, b int32) int32 {
	t := a*b + 128
	return (t>>8 + t) >> 8
}

// finish transforms what the scans left, upsamples and converts to RGB.
func (d *decoder) finish() (*Image, error) {
	if d.progressive {
		for i := 0; i < d.nComp; i++ {
			c := &d.comp[i]
			q := &c.quant // zero for a component no scan carried: mid-grey
			stride := c.bw * 8
			parallel(c.bh, 4, func(lo, hi int) {
				for by := lo; by < hi; by++ {
					for bx := 0; bx < c.bw; bx++ {
						blk := (*[64]int16)(c.coef[(by*c.bw+bx)*64:][:64])
						idctISLOW(blk, q, c.plane[by*8*stride+bx*8:], stride)
					}
				}
			})
			c.coef = nil
		}
	} else {
		for i := 0; i < d.nComp; i++ {
			if c := &d.comp[i]; !c.scanned { // libjpeg's coefficients stay zero: mid-grey
				for j := range c.plane {
					c.plane[j] = 128
				}
			}
		}
	}
	out := &Image{W: d.width, H: d.height, Pix: make([]uint8, 3*d.width*d.height)}
	cs := d.colorSpace()
	parallel(d.height, 16, func(lo, hi int) {
		d.convertRows(out, cs, lo, hi)
	})
	return out, nil
}

// parallel splits rows 0..n into one contiguous range per CPU.
func parallel(n, minRows int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(minRows, 1))
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range workers {
		lo, hi := n*i/workers, n*(i+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// upsampler produces one component's samples at full resolution, a row at
// a time, as libjpeg's jdsample.c does.
type upsampler struct {
	c      *component
	hr, vr int // expansion factors
	fancy  bool
	row    []uint8 // output row (unless the component is full size)
	colsum []int32 // h2v2: the vertical pass
}

func (d *decoder) newUpsampler(c *component) *upsampler {
	u := &upsampler{c: c, hr: d.hmax / c.h, vr: d.vmax / c.v}
	switch {
	case u.hr == 2 && u.vr == 1, u.hr == 2 && u.vr == 2:
		u.fancy = c.dw > 2 // jinit_upsampler: narrower chroma is replicated
	case u.hr == 1 && u.vr == 2:
		u.fancy = true
	}
	if u.hr != 1 || u.vr != 1 {
		u.row = make([]uint8, c.dw*u.hr)
	}
	if u.fancy && u.vr == 2 && u.hr == 2 {
		u.colsum = make([]int32, c.dw)
	}
	return u
}

// at returns the row of component samples that output row y draws on.
func (u *upsampler) at(y int) []uint8 {
	c := u.c
	stride := c.bw * 8
	plane := func(r int) []uint8 { return c.plane[r*stride:][:c.dw] }
	if u.hr == 1 && u.vr == 1 {
		return plane(y)
	}
	out := u.row
	if !u.fancy {
		in := plane(y / u.vr)
		for x := range out {
			out[x] = in[x/u.hr]
		}
		return out
	}
	w := c.dw
	switch {
	case u.vr == 1: // h2v1: 3/4 nearer sample + 1/4 farther, biases 1 and 2
		in := plane(y)
		out[0] = in[0]
		for x := 1; x < w; x++ {
			out[2*x-1] = uint8((3*int32(in[x-1]) + int32(in[x]) + 2) >> 2)
			out[2*x] = uint8((3*int32(in[x]) + int32(in[x-1]) + 1) >> 2)
		}
		out[2*w-1] = in[w-1]
	case u.hr == 1: // h1v2: the same vertically, the farther row above for even rows
		cy := y / 2
		near := plane(cy)
		far, bias := plane(max(cy-1, 0)), int32(1)
		if y%2 == 1 {
			far, bias = plane(min(cy+1, c.dh-1)), 2
		}
		for x := 0; x < w; x++ {
			out[x] = uint8((3*int32(near[x]) + int32(far[x]) + bias) >> 2)
		}
	default: // h2v2: vertical pass kept at 4x, then horizontal, biases 8 and 7
		cy := y / 2
		near := plane(cy)
		far := plane(max(cy-1, 0))
		if y%2 == 1 {
			far = plane(min(cy+1, c.dh-1))
		}
		cs := u.colsum[:w]
		for x := range cs {
			cs[x] = 3*int32(near[x]) + int32(far[x])
		}
		out[0] = uint8((4*cs[0] + 8) >> 4)
		for x := 1; x < w; x++ {
			out[2*x-1] = uint8((3*cs[x-1] + cs[x] + 7) >> 4)
			out[2*x] = uint8((3*cs[x] + cs[x-1] + 8) >> 4)
		}
		out[2*w-1] = uint8((4*cs[w-1] + 7) >> 4)
	}
	return out
}

// convertRows writes output rows lo..hi as RGB.
func (d *decoder) convertRows(out *Image, cs ColorSpace, lo, hi int) {
	var ups [maxComponents]*upsampler
	for i := 0; i < d.nComp; i++ {
		ups[i] = d.newUpsampler(&d.comp[i])
	}
	w := d.width
	for y := lo; y < hi; y++ {
		dst := out.Pix[3*w*y:][:3*w]
		switch cs {
		case Gray:
			g := ups[0].at(y)[:w]
			for x, v := range g {
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		case RGB:
			r, g, b := ups[0].at(y)[:w], ups[1].at(y)[:w], ups[2].at(y)[:w]
			for x := range w {
				dst[3*x], dst[3*x+1], dst[3*x+2] = r[x], g[x], b[x]
			}
		case YCbCr:
			yy, cb, cr := ups[0].at(y)[:w], ups[1].at(y)[:w], ups[2].at(y)[:w]
			for x := range w {
				l, b, r := int32(yy[x]), cb[x], cr[x]
				dst[3*x] = sat8(l + crR[r])
				dst[3*x+1] = sat8(l + (cbG[b]+crG[r])>>16)
				dst[3*x+2] = sat8(l + cbB[b])
			}
		case CMYK, YCCK:
			// libjpeg gives Adobe's inverted CMYK (from YCCK: 255 minus
			// the YCC->RGB of the first three); Pillow reads it as "CMYK;I"
			// (inverting it back) and converts with its cmyk2rgb.
			p0, p1, p2, p3 := ups[0].at(y)[:w], ups[1].at(y)[:w], ups[2].at(y)[:w], ups[3].at(y)[:w]
			for x := range w {
				var c, m, ye int32 // Pillow's CMYK values
				if cs == YCCK {
					l, b, r := int32(p0[x]), p1[x], p2[x]
					c = int32(sat8(l + crR[r]))
					m = int32(sat8(l + (cbG[b]+crG[r])>>16))
					ye = int32(sat8(l + cbB[b]))
				} else {
					c, m, ye = 255-int32(p0[x]), 255-int32(p1[x]), 255-int32(p2[x])
				}
				nk := int32(p3[x]) // 255 - Pillow's K
				dst[3*x] = sat8(nk - muldiv255(c, nk))
				dst[3*x+1] = sat8(nk - muldiv255(m, nk))
				dst[3*x+2] = sat8(nk - muldiv255(ye, nk))
			}
		}
	}
}

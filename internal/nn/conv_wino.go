package nn

// winoCore is a convolution by Winograd's minimal filtering F(2,3) along
// the rows (and direct along the columns): two neighbouring outputs of one
// kernel row, y0 = g0 d0 + g1 d1 + g2 d2 and y1 = g0 d1 + g1 d2 + g2 d3, are
//
//	y0 = m0 + m1 + m2,  y1 = m1 - m2 - m3,
//	m0 = (d0 - d2) g0,  m1 = (d1 + d2) (g0 + g1 + g2) / 2,
//	m2 = (d2 - d1) (g0 - g1 + g2) / 2,  m3 = (d1 - d3) g2,
//
// 4 multiplications instead of 6. The m's are linear in the input, so
// they are summed over input channels and kernel rows before the output
// transform: 4 multiply-adds per input channel, kernel row and pair of
// pixels, against 6 for the direct kernel. The input is transformed once per
// call (d's to the 4 transformed values of each tile), the weights once per
// Conv. Each of the 4 components is a sum of products of its own, so the
// micro-kernel computes them one after the other for a block of output
// channels x tiles, reusing each loaded value across the block as the direct
// kernel does. The transformed input is laid out
// [padded row][tile block][component][channel][tile], so that the inner loop
// over input channels reads three contiguous streams, and the rows of a tile
// block stay in cache while the output channels go by.
type winoCore struct {
	ci, co, h, w int
	nob          int       // output-channel blocks of winoOut
	tiles        int       // tiles of 2 pixels per row: ceil(w/2)
	ntb          int       // tile blocks of winoT
	row          int       // transformed row length: ntb*4*ci*winoT
	u            []float32 // transformed weights: [nob][4][ci][3 (ky)][winoOut]
	bias         []float32 // nob*winoOut values, or nil for no bias and no ReLU
	scratch      *scratch

	// during a call
	in, v, out []float32
	xf         winoTransform

	rowsPer, rowChunks int
	obPer, obGroups    int
}

func newWinoCore(ci, co, h, w int, sc *scratch) *winoCore {
	c := &winoCore{ci: ci, co: co, h: h, w: w, scratch: sc}
	c.nob = (co + winoOut - 1) / winoOut
	c.tiles = (w + 1) / 2
	c.ntb = (c.tiles + winoT - 1) / winoT
	c.row = c.ntb * 4 * ci * winoT
	c.u = make([]float32, c.nob*4*ci*3*winoOut)
	c.xf.c = c
	// Output channels go in groups whose weights stay in L2 while the
	// tiles go by (the tiles' inputs stay in L1 while the group's output
	// channels go by); rows are split so that there are parts enough for
	// the cores to share evenly.
	c.obPer = max(1, min(c.nob, (128<<10)/(4*ci*3*winoOut*4)))
	c.obGroups = (c.nob + c.obPer - 1) / c.obPer
	c.rowChunks = min(h, max(1, 16/c.obGroups))
	c.rowsPer = (h + c.rowChunks - 1) / c.rowChunks
	c.rowChunks = (h + c.rowsPer - 1) / c.rowsPer
	return c
}

// setWeights sets the kernel row ky (taps g0, g1, g2) from input channel i
// to output channel o.
func (c *winoCore) setWeights(ky, i, o int, g0, g1, g2 float32) {
	at := func(k int) *float32 {
		return &c.u[(((o/winoOut*4+k)*c.ci+i)*3+ky)*winoOut+o%winoOut]
	}
	*at(0) = g0
	*at(1) = (g0 + g1 + g2) / 2
	*at(2) = (g0 - g1 + g2) / 2
	*at(3) = g2
}

// winoTransform is the input transform's parallel task: one padded row
// per part.
type winoTransform struct{ c *winoCore }

func (x *winoTransform) run(yy int) {
	c := x.c
	ci, h, w, row := c.ci, c.h, c.w, c.row
	dst := c.v[yy*row:][:row]
	if yy == 0 || yy == h+1 {
		clear(dst)
		return
	}
	for i := 0; i < ci; i++ {
		src := c.in[(i*h+yy-1)*w:][:w]
		// Tile t reads padded columns 2t..2t+3, image columns 2t-1..2t+2;
		// the tiles that fill the last block are zero.
		for t := 0; t < c.ntb*winoT; t++ {
			x0 := 2*t - 1
			var d0, d1, d2, d3 float32
			if x0 >= 0 && x0+3 < w {
				s := (*[4]float32)(src[x0 : x0+4])
				d0, d1, d2, d3 = s[0], s[1], s[2], s[3]
			} else {
				get := func(x int) float32 {
					if x < 0 || x >= w {
						return 0
					}
					return src[x]
				}
				d0, d1, d2, d3 = get(x0), get(x0+1), get(x0+2), get(x0+3)
			}
			at := ((t/winoT*4)*ci+i)*winoT + t%winoT
			step := ci * winoT // from one component to the next
			dst[at], dst[at+step], dst[at+2*step], dst[at+3*step] = d0-d2, d1+d2, d2-d1, d1-d3
		}
	}
}

// exec sets out (co x h x w) to the convolution of in (ci x h x w).
func (c *winoCore) exec(out, in []float32) {
	c.in = in[:c.ci*c.h*c.w]
	c.out = out[:c.co*c.h*c.w]
	n := (c.h + 2) * c.row
	buf := c.scratch.get(n)
	c.v = buf[:n]
	parallel(c.h+2, &c.xf)
	parallel(c.rowChunks*c.obGroups, c)
	c.in, c.out, c.v = nil, nil, nil
	c.scratch.put(buf)
}

func (c *winoCore) run(t int) {
	rc, og := t%c.rowChunks, t/c.rowChunks
	y0, y1 := rc*c.rowsPer, min(c.h, (rc+1)*c.rowsPer)
	ob0, ob1 := og*c.obPer, min(c.nob, (og+1)*c.obPer)
	for y := y0; y < y1; y++ {
		for tb := 0; tb < c.ntb; tb++ {
			for ob := ob0; ob < ob1; ob++ {
				c.block(ob, y, tb)
			}
		}
	}
}

// store applies the output transform (and the bias and ReLU) to a block's
// sums m[component][channel][tile].
func (c *winoCore) store(m *[4][winoOut][winoT]float32, ob, y, tb int) {
	hw, w := c.h*c.w, c.w
	for o := 0; o < winoOut; o++ {
		oc := ob*winoOut + o
		if oc >= c.co {
			return
		}
		var b float32
		if c.bias != nil {
			b = c.bias[oc]
		}
		dst := c.out[oc*hw+y*w:][:w]
		for t := 0; t < winoT; t++ {
			x := 2 * (tb*winoT + t)
			if x >= w {
				break
			}
			y0 := m[0][o][t] + m[1][o][t] + m[2][o][t]
			y1 := m[1][o][t] - m[2][o][t] - m[3][o][t]
			if c.bias != nil {
				y0, y1 = max(0, y0+b), max(0, y1+b)
			}
			dst[x] = y0
			if x+1 < w {
				dst[x+1] = y1
			}
		}
	}
}

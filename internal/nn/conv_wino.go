package nn

// winoCore is a convolution by Winograd's minimal filtering F(4,3) along
// the rows (and direct along the columns). Four neighbouring outputs of one
// kernel row g, y_j = g0 d_j + g1 d_j+1 + g2 d_j+2 for j < 4, come from 6
// products m_k = U_k V_k of the transformed kernel row U = G g and the
// transformed inputs V = B^T d (d the tile's 6 inputs), as y = A^T m:
//
//	V0 = 4d0 - 5d2 + d4          U0 = g0/4
//	V1 = -4d1 - 4d2 + d3 + d4    U1 = -(g0 + g1 + g2)/6
//	V2 = 4d1 - 4d2 - d3 + d4     U2 = -(g0 - g1 + g2)/6
//	V3 = -2d1 - d2 + 2d3 + d4    U3 = g0/24 + g1/12 + g2/6
//	V4 = 2d1 - d2 - 2d3 + d4     U4 = g0/24 - g1/12 + g2/6
//	V5 = 4d1 - 5d3 + d5          U5 = g2
//
//	y0 = m0 + m1 + m2 + m3 + m4,   y1 = m1 - m2 + 2m3 - 2m4,
//	y2 = m1 + m2 + 4m3 + 4m4,      y3 = m1 - m2 + 8m3 - 8m4 + m5,
//
// 6 multiplications instead of 12. The m's are linear in the input, so
// they are summed over input channels and kernel rows before the output
// transform: 1.5 multiply-adds per input channel, kernel row and pixel,
// against 3 for the direct kernel. The input is transformed once per call,
// the weights once per Conv. Each component is a sum of products of its
// own, so the micro-kernel computes them one after the other for a block of
// output channels x tiles, reusing each loaded value across the block as the
// direct kernel does. The transformed input is laid out
// [padded row][tile block][component][channel][tile], so that the inner loop
// over input channels reads three contiguous streams, and the rows of a tile
// block stay in cache while the output channels go by.
type winoCore struct {
	ci, co, h, w int
	nob          int       // output-channel blocks of winoOut
	tiles        int       // tiles of winoM pixels per row
	ntb          int       // tile blocks of winoT
	row          int       // transformed row length: ntb*winoK*ci*winoT
	u            []float32 // transformed weights: [nob][winoK][ci][3 (ky)][winoOut]
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
	c.tiles = (w + winoM - 1) / winoM
	c.ntb = (c.tiles + winoT - 1) / winoT
	c.row = c.ntb * winoK * ci * winoT
	c.u = make([]float32, c.nob*winoK*ci*3*winoOut)
	c.xf.c = c
	// Output channels go in groups whose weights stay in L2 while the
	// tiles go by (the tiles' inputs stay in L1 while the group's output
	// channels go by); rows are split so that there are parts enough for
	// the cores to share evenly.
	maxPer := max(1, (128<<10)/(winoK*ci*3*winoOut*4))
	c.obGroups = (c.nob + maxPer - 1) / maxPer
	c.obPer = (c.nob + c.obGroups - 1) / c.obGroups // groups of even size
	c.obGroups = (c.nob + c.obPer - 1) / c.obPer
	// Many parts, so that the last ones to finish leave little idle time.
	c.rowChunks = min(h, max(1, 64/c.obGroups))
	c.rowsPer = (h + c.rowChunks - 1) / c.rowChunks
	c.rowChunks = (h + c.rowsPer - 1) / c.rowsPer
	return c
}

// setWeights sets the kernel row ky (taps g0, g1, g2) from input channel i
// to output channel o.
func (c *winoCore) setWeights(ky, i, o int, g0, g1, g2 float32) {
	// In float64, so that each transformed weight is rounded once.
	a, b, d := float64(g0), float64(g1), float64(g2)
	u := [winoK]float64{a / 4, -(a + b + d) / 6, -(a - b + d) / 6, a/24 + b/12 + d/6, a/24 - b/12 + d/6, d}
	for k, v := range u {
		c.u[(((o/winoOut*winoK+k)*c.ci+i)*3+ky)*winoOut+o%winoOut] = float32(v)
	}
}

// winoTransform is the input transform's parallel task: one padded row
// per part.
type winoTransform struct{ c *winoCore }

func (x *winoTransform) Run(yy int) {
	c := x.c
	ci, h, w, row := c.ci, c.h, c.w, c.row
	dst := c.v[yy*row:][:row]
	if yy == 0 || yy == h+1 {
		clear(dst)
		return
	}
	for i := 0; i < ci; i++ {
		src := c.in[(i*h+yy-1)*w:][:w]
		// Tile t reads padded columns 4t..4t+5, image columns 4t-1..4t+4;
		// the tiles that fill the last block are zero.
		for t := 0; t < c.ntb*winoT; t++ {
			x0 := winoM*t - 1
			var d [6]float32
			if x0 >= 0 && x0+6 <= w {
				d = *(*[6]float32)(src[x0 : x0+6])
			} else {
				for j := range d {
					if x := x0 + j; x >= 0 && x < w {
						d[j] = src[x]
					}
				}
			}
			at := ((t/winoT*winoK)*ci+i)*winoT + t%winoT
			step := ci * winoT // from one component to the next
			o := dst[at : at+5*step+1]
			o[0] = 4*d[0] - 5*d[2] + d[4]
			o[step] = -4*d[1] - 4*d[2] + d[3] + d[4]
			o[2*step] = 4*d[1] - 4*d[2] - d[3] + d[4]
			o[3*step] = -2*d[1] - d[2] + 2*d[3] + d[4]
			o[4*step] = 2*d[1] - d[2] - 2*d[3] + d[4]
			o[5*step] = 4*d[1] - 5*d[3] + d[5]
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

func (c *winoCore) Run(t int) {
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
func (c *winoCore) store(m *[winoK][winoOut][winoT]float32, ob, y, tb int) {
	hw, w := c.h*c.w, c.w
	for o := 0; o < winoOut; o++ {
		oc := ob*winoOut + o
		if oc >= c.co {
			return
		}
		dst := c.out[oc*hw+y*w:][:w]
		for t := 0; t < winoT; t++ {
			x := winoM * (tb*winoT + t)
			if x >= w {
				break
			}
			m0, m1, m2, m3, m4, m5 := m[0][o][t], m[1][o][t], m[2][o][t], m[3][o][t], m[4][o][t], m[5][o][t]
			y := [winoM]float32{
				m0 + m1 + m2 + m3 + m4,
				m1 - m2 + 2*m3 - 2*m4,
				m1 + m2 + 4*m3 + 4*m4,
				m1 - m2 + 8*m3 - 8*m4 + m5,
			}
			if c.bias != nil {
				b := c.bias[oc]
				for j := range y {
					y[j] = max(0, y[j]+b)
				}
			}
			copy(dst[x:min(w, x+winoM)], y[:])
		}
	}
}

const (
	winoM = 4         // outputs per tile
	winoK = winoM + 2 // transformed components per tile
)

package nn

// The portable convolution is direct: the input is copied once into a
// zero-padded buffer, and a micro-kernel computes 4 output channels x 3
// neighbouring pixels of one row at a time, its 12 sums kept in registers,
// looping over the input channels and the 9 taps with the weights packed in
// the order it reads them. Backward to the input is the same convolution of
// the padded output gradient with the kernel flipped and its channel axes
// swapped.

const (
	blockOut = 4 // output channels per micro-kernel call
	blockPix = 3 // pixels per micro-kernel call
)

// convCore is one direct convolution (either direction) for one size.
type convCore struct {
	ci, co, h, w int
	nob          int       // output-channel blocks
	stride       int       // padded row length: w rounded up to blockPix, plus 2
	plane        int       // (h+2) * stride
	wp           []float32 // packed weights: [nob][ci][3][3][blockOut]
	bias         []float32 // nob*blockOut values, or nil for no bias and no ReLU
	scratch      *scratch
	pad          []float32 // during a call: ci x (h+2) x stride, borders zero

	// the current call's output, and its task split
	out       []float32
	rowsPer   int
	rowChunks int
	obPer     int
	obGroups  int
}

func newConvCore(ci, co, h, w int, sc *scratch) *convCore {
	c := &convCore{ci: ci, co: co, h: h, w: w, scratch: sc}
	c.nob = (co + blockOut - 1) / blockOut
	c.stride = (w+blockPix-1)/blockPix*blockPix + 2
	c.plane = (h + 2) * c.stride
	c.wp = make([]float32, c.nob*ci*9*blockOut)
	// Enough parts for the cores to share evenly, few enough that each
	// part keeps its rows and weights in cache.
	c.rowChunks = min(h, 16)
	c.rowsPer = (h + c.rowChunks - 1) / c.rowChunks
	c.rowChunks = (h + c.rowsPer - 1) / c.rowsPer
	c.obGroups = min(c.nob, max(1, 16/c.rowChunks))
	c.obPer = (c.nob + c.obGroups - 1) / c.obGroups
	c.obGroups = (c.nob + c.obPer - 1) / c.obPer
	return c
}

// setWeight sets the weight from input channel i to output channel o at
// tap (ky, kx) in the packed layout.
func (c *convCore) setWeight(ky, kx, i, o int, v float32) {
	c.wp[(((o/blockOut*c.ci+i)*3+ky)*3+kx)*blockOut+o%blockOut] = v
}

// exec sets out (co x h x w) to the convolution of in (ci x h x w).
func (c *convCore) exec(out, in []float32) {
	h, w, stride := c.h, c.w, c.stride
	in = in[:c.ci*h*w]
	c.out = out[:c.co*h*w]
	buf := c.scratch.get(c.ci * c.plane)
	c.pad = buf[:c.ci*c.plane]
	// The buffer is shared with other convolutions: write the borders too.
	for i := 0; i < c.ci; i++ {
		p := c.pad[i*c.plane:][:c.plane]
		clear(p[:stride+1])
		for y := 0; y < h; y++ {
			row := p[(y+1)*stride+1:][:stride]
			copy(row[:w], in[(i*h+y)*w:][:w])
			clear(row[w:])
		}
		clear(p[(h+1)*stride+1:])
	}
	parallel(c.rowChunks*c.obGroups, c)
	c.out, c.pad = nil, nil
	c.scratch.put(buf)
}

func (c *convCore) run(t int) {
	rc, og := t%c.rowChunks, t/c.rowChunks
	y0, y1 := rc*c.rowsPer, min(c.h, (rc+1)*c.rowsPer)
	ob0, ob1 := og*c.obPer, min(c.nob, (og+1)*c.obPer)
	for ob := ob0; ob < ob1; ob++ {
		for y := y0; y < y1; y++ {
			for x := 0; x < c.w; x += blockPix {
				c.block(ob, y, x)
			}
		}
	}
}

// block computes output channels ob*4..ob*4+3 at pixels (y, x..x+2).
func (c *convCore) block(ob, y, x int) {
	ci, stride, plane := c.ci, c.stride, c.plane
	pad, wp := c.pad, c.wp
	off := y*stride + x
	wo := ob * ci * 36
	var v float32
	var s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32 float32
	for i := 0; i < ci; i++ {
		wv := (*[36]float32)(wp[wo : wo+36])
		r0 := (*[5]float32)(pad[off : off+5])
		r1 := (*[5]float32)(pad[off+1*stride : off+1*stride+5])
		r2 := (*[5]float32)(pad[off+2*stride : off+2*stride+5])
		v = r0[0]
		s00 += wv[0] * v
		s10 += wv[1] * v
		s20 += wv[2] * v
		s30 += wv[3] * v
		v = r0[1]
		s00 += wv[4] * v
		s10 += wv[5] * v
		s20 += wv[6] * v
		s30 += wv[7] * v
		s01 += wv[0] * v
		s11 += wv[1] * v
		s21 += wv[2] * v
		s31 += wv[3] * v
		v = r0[2]
		s00 += wv[8] * v
		s10 += wv[9] * v
		s20 += wv[10] * v
		s30 += wv[11] * v
		s01 += wv[4] * v
		s11 += wv[5] * v
		s21 += wv[6] * v
		s31 += wv[7] * v
		s02 += wv[0] * v
		s12 += wv[1] * v
		s22 += wv[2] * v
		s32 += wv[3] * v
		v = r0[3]
		s01 += wv[8] * v
		s11 += wv[9] * v
		s21 += wv[10] * v
		s31 += wv[11] * v
		s02 += wv[4] * v
		s12 += wv[5] * v
		s22 += wv[6] * v
		s32 += wv[7] * v
		v = r0[4]
		s02 += wv[8] * v
		s12 += wv[9] * v
		s22 += wv[10] * v
		s32 += wv[11] * v
		v = r1[0]
		s00 += wv[12] * v
		s10 += wv[13] * v
		s20 += wv[14] * v
		s30 += wv[15] * v
		v = r1[1]
		s00 += wv[16] * v
		s10 += wv[17] * v
		s20 += wv[18] * v
		s30 += wv[19] * v
		s01 += wv[12] * v
		s11 += wv[13] * v
		s21 += wv[14] * v
		s31 += wv[15] * v
		v = r1[2]
		s00 += wv[20] * v
		s10 += wv[21] * v
		s20 += wv[22] * v
		s30 += wv[23] * v
		s01 += wv[16] * v
		s11 += wv[17] * v
		s21 += wv[18] * v
		s31 += wv[19] * v
		s02 += wv[12] * v
		s12 += wv[13] * v
		s22 += wv[14] * v
		s32 += wv[15] * v
		v = r1[3]
		s01 += wv[20] * v
		s11 += wv[21] * v
		s21 += wv[22] * v
		s31 += wv[23] * v
		s02 += wv[16] * v
		s12 += wv[17] * v
		s22 += wv[18] * v
		s32 += wv[19] * v
		v = r1[4]
		s02 += wv[20] * v
		s12 += wv[21] * v
		s22 += wv[22] * v
		s32 += wv[23] * v
		v = r2[0]
		s00 += wv[24] * v
		s10 += wv[25] * v
		s20 += wv[26] * v
		s30 += wv[27] * v
		v = r2[1]
		s00 += wv[28] * v
		s10 += wv[29] * v
		s20 += wv[30] * v
		s30 += wv[31] * v
		s01 += wv[24] * v
		s11 += wv[25] * v
		s21 += wv[26] * v
		s31 += wv[27] * v
		v = r2[2]
		s00 += wv[32] * v
		s10 += wv[33] * v
		s20 += wv[34] * v
		s30 += wv[35] * v
		s01 += wv[28] * v
		s11 += wv[29] * v
		s21 += wv[30] * v
		s31 += wv[31] * v
		s02 += wv[24] * v
		s12 += wv[25] * v
		s22 += wv[26] * v
		s32 += wv[27] * v
		v = r2[3]
		s01 += wv[32] * v
		s11 += wv[33] * v
		s21 += wv[34] * v
		s31 += wv[35] * v
		s02 += wv[28] * v
		s12 += wv[29] * v
		s22 += wv[30] * v
		s32 += wv[31] * v
		v = r2[4]
		s02 += wv[32] * v
		s12 += wv[33] * v
		s22 += wv[34] * v
		s32 += wv[35] * v
		off += plane
		wo += 36
	}

	s := [blockOut][blockPix]float32{
		{s00, s01, s02},
		{s10, s11, s12},
		{s20, s21, s22},
		{s30, s31, s32},
	}
	c.store(&s, ob, y, x)
}

func (c *convCore) store(s *[blockOut][blockPix]float32, ob, y, x int) {
	hw := c.h * c.w
	np := min(blockPix, c.w-x)
	for o := 0; o < blockOut; o++ {
		oc := ob*blockOut + o
		if oc >= c.co {
			return
		}
		dst := c.out[oc*hw+y*c.w+x:][:np]
		if c.bias != nil {
			b := c.bias[oc]
			for p := range dst {
				dst[p] = max(0, s[o][p]+b)
			}
		} else {
			for p := range dst {
				dst[p] = s[o][p]
			}
		}
	}
}

// portableConv is the portable Conv: one core per direction.
type portableConv struct {
	fwd, bwd *convCore
}

func newPortableConv(wt *ConvWeights, h, w int, sc *scratch) *portableConv {
	ci, co := wt.In, wt.Out
	if len(wt.Kernel) != 9*ci*co || len(wt.Bias) != co || h < 1 || w < 1 {
		panic("nn: NewConv: weights do not match their shape")
	}
	fwd := newConvCore(ci, co, h, w, sc)
	bwd := newConvCore(co, ci, h, w, sc)
	fwd.bias = make([]float32, fwd.nob*blockOut)
	copy(fwd.bias, wt.Bias)
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			for i := 0; i < ci; i++ {
				for o := 0; o < co; o++ {
					v := wt.Kernel[((ky*3+kx)*ci+i)*co+o]
					fwd.setWeight(ky, kx, i, o, v)
					// dIn[i](y, x) gathers dOut[o](y-ky+1, x-kx+1): a
					// convolution with the tap mirrored.
					bwd.setWeight(2-ky, 2-kx, o, i, v)
				}
			}
		}
	}
	return &portableConv{fwd: fwd, bwd: bwd}
}

func (c *portableConv) Forward(out, in []float32) {
	c.fwd.exec(out, in)
}

func (c *portableConv) BackwardInput(dIn, dOut []float32) {
	c.bwd.exec(dIn, dOut)
}

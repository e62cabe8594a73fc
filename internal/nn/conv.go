package nn

//go:generate go run gen_conv.go

// The portable convolutions. Backward to the input is the same convolution
// of the output gradient with the kernel mirrored and its channel axes
// swapped, so each Conv holds two cores of one kind: Winograd's
// (conv_wino.go) for most layers, which does 4 multiply-adds where the
// direct one does 6, and the direct one (below) where there are few output
// channels.
//
// The direct core copies the input once into a zero-padded buffer, and its
// micro-kernel (conv_kernel.go) computes a few output channels x a few
// neighbouring pixels of one row at a time, its sums kept in registers,
// looping over the input channels and the 9 taps with the weights packed in
// the order it reads them.

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

func (c *convCore) Run(t int) {
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

// core is one convolution direction for one size.
type core interface {
	// exec sets out to the convolution of in.
	exec(out, in []float32)
}

// portableConv is the portable Conv: one core per direction.
type portableConv struct {
	fwd, bwd core
}

func newPortableConv(wt *ConvWeights, h, w int, sc *scratch) *portableConv {
	ci, co := wt.In, wt.Out
	if len(wt.Kernel) != 9*ci*co || len(wt.Bias) != co || h < 1 || w < 1 {
		panic("nn: NewConv: weights do not match their shape")
	}
	k := func(ky, kx, i, o int) float32 { return wt.Kernel[((ky*3+kx)*ci+i)*co+o] }
	// With few outputs (the backward pass of the first layer, 3 channels),
	// the input transform costs more than the Winograd kernel saves.
	newCore := func(ci, co int, bias []float32, set func(ky, kx, i, o int) float32) core {
		if co < 8 {
			c := newConvCore(ci, co, h, w, sc)
			if bias != nil {
				c.bias = make([]float32, c.nob*blockOut)
				copy(c.bias, bias)
			}
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					for i := 0; i < ci; i++ {
						for o := 0; o < co; o++ {
							c.setWeight(ky, kx, i, o, set(ky, kx, i, o))
						}
					}
				}
			}
			return c
		}
		c := newWinoCore(ci, co, h, w, sc)
		if bias != nil {
			c.bias = make([]float32, c.nob*winoOut)
			copy(c.bias, bias)
		}
		for ky := 0; ky < 3; ky++ {
			for i := 0; i < ci; i++ {
				for o := 0; o < co; o++ {
					c.setWeights(ky, i, o, set(ky, 0, i, o), set(ky, 1, i, o), set(ky, 2, i, o))
				}
			}
		}
		return c
	}
	return &portableConv{
		fwd: newCore(ci, co, wt.Bias, k),
		// dIn[i](y, x) gathers dOut[o](y-ky+1, x-kx+1): a convolution with
		// the taps mirrored and the channel axes swapped.
		bwd: newCore(co, ci, nil, func(ky, kx, o, i int) float32 { return k(2-ky, 2-kx, i, o) }),
	}
}

// newDirectConv is the direct convolution, kept as the reference point of
// the Winograd one in benchmarks.
func newDirectConv(wt *ConvWeights, h, w int, sc *scratch) *portableConv {
	ci, co := wt.In, wt.Out
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

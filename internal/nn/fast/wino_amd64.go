//go:build amd64 && !purego

package fast

import (
	"unsafe"

	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// Winograd's F(2x2, 3x3) convolution: each 2x2 block of output pixels (a
// tile) costs 16 multiply-adds per input and output channel instead of 36,
// the price being passes over memory that the direct kernel does not make:
// the input transform (V: 16 values per tile and input channel, 4x the
// input), the output transform (from M, 4x the output) and the 16
// per-component GEMMs between them.
//
// Flops, per row of L tiles (L = 16 with AVX-512): the GEMMs do 16 x Cin x
// Cout vector multiply-adds, 2.25x fewer than the direct kernel, with its
// register-blocked micro-kernel (weights read at a stride); the input
// transform about 32 loads, 40 vector ops and 16 stores per input channel,
// the output transform about 24 loads, 32 ops and 4 stores per output
// channel. At 64 channels that is 65536 multiply-adds against about 11000
// other instructions (CPU profile at 512x512, conv1_2: GEMM 51%, input
// transform 22%, output 12%, copies 10% before the band and copy changes),
// at 256 and more channels the transforms are a few percent. Measured per
// layer (BenchmarkWinograd, CPU time): 1.25x the direct kernel at 64
// channels, 1.5-1.85x from 128.
//
// Bytes: per band of tile rows x tile vectors and worker, V takes 16 x Cin x
// T floats and M 16 x Cout x T (T tiles in the band), sized to winoBandBytes
// (1 MiB: BenchmarkWinoBands) so that they stay in the worker's L2; a tile
// row of 512 pixels at 64 channels is 2 MiB, so wide rows split into
// segments. The transformed weights U take 16 x Cin x Cout floats per layer
// (the direct packings, 2 x 9 x Cin x Cout, are dropped when both directions
// use Winograd), and serve both directions: backward to the input reads U
// transposed, with the components permuted (the mirrored kernel's transform
// is U[p(a)][p(b)], p swapping 0 and 3). U is stored in blocks of convC
// outputs so that the transposed reads take whole C x C tiles (wgemmB; see
// winoWeights).
//
// Error: the transforms' coefficients are 0, ±1 and ±1/2, and each GEMM sums
// Cin products where the direct kernel sums 9 x Cin, so the error against
// the float64 reference is about half the direct kernel's
// (TestWinogradLayerError, TestNetworkWinograd).

// winoInPerm selects the even, then the odd lanes of two AVX-512 vectors;
// winoOutPerm interleaves two vectors' lanes (low then high halves).
var (
	winoInPerm  [32]int32
	winoOutPerm [32]int32
)

func init() {
	for i := 0; i < 16; i++ {
		winoInPerm[i], winoInPerm[16+i] = int32(2*i), int32(2*i+1)
	}
	for i := 0; i < 8; i++ {
		winoOutPerm[2*i], winoOutPerm[2*i+1] = int32(i), int32(16+i)
		winoOutPerm[16+2*i], winoOutPerm[16+2*i+1] = int32(8+i), int32(24+i)
	}
}

// winoG is F(2x2, 3x3)'s weight transform.
var winoG = [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}

// winoMirror maps a component index of the mirrored kernel's transform to
// the original's: G J = P G with P swapping rows 0 and 3.
var winoMirror = [4]int{3, 1, 2, 0}

// useWino reports whether a direction with nIn inputs and nOut outputs on
// h x w pixels runs as Winograd: enough channels for the transforms to be
// a small part, and a tile row wide enough to fill most of a vector.
func (v *variant) useWino(nIn, nOut, h, w int) bool {
	return v.winoIn != nil && nIn >= v.winoMinChan && nOut >= v.winoMinChan && w >= v.winoMinWidth
}

// winoBlockStride is the distance in floats between U's blocks of C
// outputs for ci inputs: ci*C, plus a cache line where that is a multiple
// of 1 KiB. The backward GEMM reads one tile per block, a block apart; at a
// multiple of 4 KiB (512 inputs: 8 KiB with AVX2's 4-output blocks, 12 KiB
// with AVX-512's 6) all the tiles fell in one L1 set, and AVX2's conv4
// backward took 1.8x as long as with the unblocked layout.
func winoBlockStride(ci, C int) int {
	if ci*C*4%1024 == 0 {
		return ci*C + 16
	}
	return ci * C
}

// winoWeights returns U: U[4a+b][o][i] = (G g G^T)[a][b] of the 3x3 kernel
// g from input i to output o, with slack after the end for the GEMMs'
// reads of a partial last block. With C > 0 it is laid out in blocks of C
// outputs, [16][ceil(Out/C)][In][C] (the last block's missing outputs
// zero), so that both directions read whole cache lines: forward a block's
// C weights of one input are contiguous, backward to the input (reading U
// transposed, C inputs at a time down the outputs) a block's C x C tile of
// C outputs is, where in the [16][Out][In] layout (C = 0) each output's C
// weights were 24 of a cache line's 64 bytes, a row of In floats apart: at
// 512 channels the backward GEMMs took 15-20% longer than the forward ones.
// The blocks are winoBlockStride floats apart. AVX2 keeps C = 0 (see
// gen.go's wgemmB).
func winoWeights(wt *nn.ConvWeights, C int) []float32 {
	ci, co := wt.In, wt.Out
	at := func(xi, o, i int) int { return (xi*co+o)*ci + i }
	size := 16 * ci * co
	if C > 0 {
		nbo, bs := (co+C-1)/C, winoBlockStride(ci, C)
		at = func(xi, o, i int) int { return (xi*nbo+o/C)*bs + i*C + o%C }
		size = 16 * nbo * bs
	}
	u := make([]float32, size+8*max(ci, co)+C*C)
	var gk [3][3]float64
	var t [4][3]float64 // G g
	for o := 0; o < co; o++ {
		for i := 0; i < ci; i++ {
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					gk[ky][kx] = float64(wt.Kernel[((ky*3+kx)*ci+i)*co+o])
				}
			}
			for a := 0; a < 4; a++ {
				for kx := 0; kx < 3; kx++ {
					t[a][kx] = winoG[a][0]*gk[0][kx] + winoG[a][1]*gk[1][kx] + winoG[a][2]*gk[2][kx]
				}
			}
			for a := 0; a < 4; a++ {
				for b := 0; b < 4; b++ {
					s := t[a][0]*winoG[b][0] + t[a][1]*winoG[b][1] + t[a][2]*winoG[b][2]
					u[at(a*4+b, o, i)] = float32(s)
				}
			}
		}
	}
	return u
}

// winoJob is one direction of a Winograd convolution. The image's tile rows
// are cut into bands; a worker takes whole bands and, for each, copies the
// input rows with a zero border into its buffer, transforms them to V, runs
// the 16 GEMMs into M and transforms M to the output rows, with bias and
// ReLU in the forward direction.
type winoJob struct {
	c         *conv
	nIn, nOut int
	forward   bool
	L, P, C   int
	tvpr, wp  int // tile vectors per tile row; padded row length of a band
	tileRows  int
	bandTR    int // tile rows per band
	bandTV    int // tile vectors per band and tile row
	segs      int // bands across a tile row
	nBands    int
	T         int // tiles per band
	padChan   int // floats per channel of the padded band
	padElems  int
	vElems    int
	elems     int           // floats of a worker's buffer
	lanes     [][4][8]int32 // per part: AVX2's load masks of winoInM
	gargs     []convArgs
	wargs     []winoArgs
	convIO
}

func (j *winoJob) io() *convIO { return &j.convIO }

func newWinoJob(c *conv, nIn, nOut int, forward bool, nparts int) *winoJob {
	v := c.v
	L := v.lanes
	j := &winoJob{c: c, nIn: nIn, nOut: nOut, forward: forward, L: L, P: v.convP, C: v.convC}
	j.tvpr = ((c.w+1)/2 + L - 1) / L
	j.tileRows = (c.h + 1) / 2
	// A band is bandTR tile rows x bandTV tile vectors: about
	// winoBandBytes of V and M (one worker's L2), at least one GEMM group
	// of P vectors, and enough bands for every worker.
	vecBytes := 16 * (nIn + nOut) * L * 4
	want := max(j.P, v.winoBandBytes/vecBytes)
	br, bv := 1, j.tvpr
	if j.tvpr > want {
		segs := (j.tvpr + want - 1) / want
		bv = (j.tvpr + segs - 1) / segs
	} else {
		br = max(1, want/j.tvpr)
	}
	bands := func() int { return (j.tileRows + br - 1) / br * ((j.tvpr + bv - 1) / bv) }
	for br > 1 && bands() < nparts {
		br--
	}
	// Then narrower segments, down to one GEMM group, for many cores on
	// few tile rows.
	for bv > j.P && bands() < nparts {
		bv = max(j.P, (bv+1)/2)
	}
	j.bandTR, j.bandTV = br, bv
	j.segs = (j.tvpr + bv - 1) / bv
	j.nBands = (j.tileRows + br - 1) / br * j.segs
	j.wp = 2*L*bv + 2
	j.T = br * bv * L
	j.padChan = (2*br + 2) * j.wp
	j.padElems = nIn*j.padChan + padSlack
	j.vElems = 16 * nIn * j.T
	j.elems = j.padElems + j.vElems + 16*nOut*j.T
	j.gargs = make([]convArgs, nparts)
	j.wargs = make([]winoArgs, nparts)
	j.lanes = make([][4][8]int32, nparts)
	return j
}

func (j *winoJob) run(part, nparts int) {
	for b := part; b < j.nBands; b += nparts {
		j.band(part, b/j.segs*j.bandTR, b%j.segs*j.bandTV)
	}
}

// band computes the outputs of tile rows r0 .. r0+bandTR-1, tile vectors
// tv0 .. tv0+bandTV-1 on worker part.
func (j *winoJob) band(part, r0, tv0 int) {
	buf := j.bands[part][:j.elems]
	pad := buf[:j.padElems]
	vb := buf[j.padElems : j.padElems+j.vElems]
	mb := buf[j.padElems+j.vElems:]
	nr := min(j.bandTR, j.tileRows-r0)
	bv := min(j.bandTV, j.tvpr-tv0)
	// A tile whose input rows all lie in the image is transformed
	// straight from the input, at the left and right edges with masked
	// loads; the others (the first and last tile rows) from the band's
	// padded copy, where padded row pr is input row 2*r0-1+pr and padded
	// column q input column x0+q (zero outside the image). Only those
	// tiles' cells are copied: at 512x512 the whole copy took 6% of an
	// iteration, and copying the edge tiles of every row took 4% at
	// 1024x1024 (half the tiles of the 128-pixel-wide layers are edge
	// tiles); the masked loads made the convolutions 3-9% faster.
	j.padBand(pad, r0, tv0, nr, bv)
	j.transformIn(part, pad, vb, r0, tv0, nr, bv)
	j.gemms(part, vb, mb, nr, bv)
	j.transformOut(part, mb, r0, tv0, nr, bv)
}

// interior reports whether the tile at band row tr and vector tv of the
// band at tile row r0 and vector tv0 lies wholly in the image.
func (j *winoJob) interior(r0, tv0, tr, tv int) bool {
	L := j.L
	x := 2*L*(tv0+tv) - 1
	return j.rowsInside(r0+tr) && x >= 0 && x+2*L+2 <= j.c.w
}

// rowsInside reports whether the four input rows of tile row r lie in the
// image. Such a row's tiles are transformed from the input, those at the
// left and right edges with masked loads (winoInM) where the variant has
// them.
func (j *winoJob) rowsInside(r int) bool {
	y := 2*r - 1
	return y >= 0 && y+4 <= j.c.h
}

// fromInput reports whether the tile vector is transformed from the input
// rather than from the padded copy.
func (j *winoJob) fromInput(r0, tv0, tr, tv int) bool {
	if j.c.v.winoInM != nil {
		return j.rowsInside(r0 + tr)
	}
	return j.interior(r0, tv0, tr, tv)
}

// edgeMasks sets wa.mask to the load masks of winoInM for the tile vector
// whose first column (of 2L+2) is input column x: lane l of column offset
// q (0, L, 2, L+2) is loaded where that column lies in the image. AVX2's
// masks point into lanes, this part's own.
func (j *winoJob) edgeMasks(wa *winoArgs, lanes *[4][8]int32, x int) {
	L, w := j.L, j.c.w
	for q, off := range [4]int{0, L, 2, L + 2} {
		var bits uint64
		for l := 0; l < L; l++ {
			in := x+off+l >= 0 && x+off+l < w
			if in {
				bits |= 1 << uint(l)
			}
			if L == 8 {
				lanes[q][l] = 0
				if in {
					lanes[q][l] = -1
				}
			}
		}
		wa.mask[q] = bits
		if L == 8 {
			wa.mask[q] = uint64(uintptr(unsafe.Pointer(&lanes[q][0])))
		}
	}
}

// padBand copies the cells of the band's tiles that are not interior into
// its padded buffer, zero outside the image.
func (j *winoJob) padBand(pad []float32, r0, tv0, nr, bv int) {
	h, w, wp, L := j.c.h, j.c.w, j.wp, j.L
	x0 := 2*L*tv0 - 1
	for tr := 0; tr < nr; tr++ {
		for tv := 0; tv < bv; tv++ {
			if j.fromInput(r0, tv0, tr, tv) {
				continue
			}
			// padded cells rows 2tr..2tr+3, columns q0..q0+2L+1
			q0 := 2 * L * tv
			lo, hi := max(0, x0+q0), min(w, x0+q0+2*L+2) // input columns present
			for ch := 0; ch < j.nIn; ch++ {
				d := pad[ch*j.padChan : (ch+1)*j.padChan]
				s := j.src[ch*h*w : (ch+1)*h*w]
				for pr := 2 * tr; pr < 2*tr+4; pr++ {
					row := d[pr*wp+q0 : pr*wp+q0+2*L+2]
					y := 2*r0 - 1 + pr
					if y < 0 || y >= h || lo >= hi {
						clear(row)
						continue
					}
					clear(row[:lo-x0-q0])
					copy(row[lo-x0-q0:hi-x0-q0], s[y*w+lo:y*w+hi])
					clear(row[hi-x0-q0:])
				}
			}
		}
	}
}

// transformIn applies the input transform to the band's tiles, from the
// input for interior tiles and from the padded copy for the others.
func (j *winoJob) transformIn(part int, pad, vb []float32, r0, tv0, nr, bv int) {
	h, w, wp, L := j.c.h, j.c.w, j.wp, j.L
	x0 := 2*L*tv0 - 1
	T := j.T
	wa := &j.wargs[part]
	wa.perm = unsafe.Pointer(&winoInPerm[0])
	wa.n = int64(j.nIn)
	wa.dstChan = int64(T * 4)
	wa.xi = int64(j.nIn * T * 4)
	for tr := 0; tr < nr; tr++ {
		for tv := 0; tv < bv; tv++ {
			wa.dst = unsafe.Pointer(&vb[(tr*j.bandTV+tv)*L])
			switch {
			case j.interior(r0, tv0, tr, tv):
				wa.src = unsafe.Pointer(&j.src[(2*(r0+tr)-1)*w+x0+2*L*tv])
				wa.srcChan, wa.srcRow = int64(h*w*4), int64(w*4)
				j.c.v.winoIn(wa)
			case j.fromInput(r0, tv0, tr, tv):
				// At the left edge the first column is -1: the element
				// before the row, inside the slice because the first
				// row is at least 1.
				x := x0 + 2*L*tv
				j.edgeMasks(wa, &j.lanes[part], x)
				wa.src = unsafe.Pointer(&j.src[(2*(r0+tr)-1)*w+x])
				wa.srcChan, wa.srcRow = int64(h*w*4), int64(w*4)
				j.c.v.winoInM(wa)
			default:
				wa.src = unsafe.Pointer(&pad[2*tr*wp+2*L*tv])
				wa.srcChan, wa.srcRow = int64(j.padChan*4), int64(wp*4)
				j.c.v.winoIn(wa)
			}
		}
	}
	wa.mask = [4]uint64{}
	wa.src, wa.dst, wa.perm = nil, nil, nil
}

// gemms computes the band's 16 element-wise products as GEMMs.
func (j *winoJob) gemms(part int, vb, mb []float32, nr, bv int) {
	c, v := j.c, j.c.v
	T, P, C := j.T, j.P, j.C
	L := j.L
	// The GEMMs: M[xi][o][t] = sum_i U[xi][o][i] V[xi][i][t] (forward), or
	// with U[xi'] transposed (backward).
	ga := &j.gargs[part]
	ga.bias = unsafe.Pointer(&zeros[0])
	ga.nIn = int64(j.nIn)
	ga.inChan = int64(T * 4)
	ga.outChan = int64(T * 4)
	ga.flags = 0
	ci, co := c.nIn, c.nOut    // the convolution's own channels, U's axes
	blocked := v.wgemmB != nil // U's layout; see winoWeights
	nbo, bs := (co+C-1)/C, winoBlockStride(ci, C)
	switch {
	case blocked && j.forward:
		ga.row, ga.wStep = 4, int64(C*4)
	case blocked:
		ga.wStep = int64(bs * 4) // from one block of outputs to the next
		ga.nIn, ga.nRem = int64(co/C), int64(co%C)
	case j.forward:
		ga.row, ga.wStep = int64(ci*4), 4
	default:
		ga.row, ga.wStep = 4, int64(ci*4)
	}
	// The band's vectors, row by row; a partial last segment leaves gaps
	// that the GEMM computes too (from the zero padding, never stored).
	nv := (nr-1)*j.bandTV + bv
	nb := (j.nOut + C - 1) / C
	for xi := 0; xi < 16; xi++ {
		uxi := xi
		if !j.forward {
			uxi = 4*winoMirror[xi/4] + winoMirror[xi%4]
		}
		ga.in = unsafe.Pointer(&vb[xi*j.nIn*T])
		for g0 := 0; g0 < nv; g0 += P {
			gemm := v.wgemm
			if n := nv - g0; n < P && v.wgemmTail != nil {
				gemm = v.wgemmTail[n]
			}
			if blocked && !j.forward {
				gemm = v.wgemmB[min(P, nv-g0)]
			}
			for p := 0; p < P; p++ {
				vi, m := g0+p, v.mask(L)
				if vi >= nv {
					vi, m = nv-1, v.mask(0)
				}
				ga.inOff[p] = int64(vi * L * 4)
				ga.outOff[p] = int64(vi * L * 4)
				ga.mask[p] = m
			}
			for b := 0; b < nb; b++ {
				switch {
				case blocked && j.forward:
					ga.w = unsafe.Pointer(&c.u[(uxi*nbo+b)*bs])
				case blocked:
					ga.w = unsafe.Pointer(&c.u[uxi*nbo*bs+b*C*C])
				case j.forward:
					ga.w = unsafe.Pointer(&c.u[(uxi*co+b*C)*ci])
				default:
					ga.w = unsafe.Pointer(&c.u[uxi*co*ci+b*C])
				}
				ga.nValid = int64(min(C, j.nOut-b*C))
				ga.out = unsafe.Pointer(&mb[(xi*j.nOut+b*C)*T])
				gemm(ga)
			}
		}
	}
	ga.in, ga.w, ga.bias, ga.out = nil, nil, nil, nil
	ga.nRem = 0
}

// transformOut applies the output transform (with bias and ReLU forward)
// and writes the band's output rows.
func (j *winoJob) transformOut(part int, mb []float32, r0, tv0, nr, bv int) {
	c, v := j.c, j.c.v
	h, w, L, T := c.h, c.w, j.L, j.T
	wa := &j.wargs[part]
	wa.perm = unsafe.Pointer(&winoOutPerm[0])
	wa.n = int64(j.nOut)
	wa.srcChan = int64(T * 4)
	wa.xi = int64(j.nOut * T * 4)
	wa.dstChan = int64(h * w * 4)
	wa.dstRow = int64(w * 4)
	wa.flags = 0
	wa.bias = unsafe.Pointer(&zeros[0])
	if j.forward {
		wa.flags = flagReLU
		wa.bias = unsafe.Pointer(&c.bf[0])
	}
	for tr := 0; tr < nr; tr++ {
		y := 2 * (r0 + tr)
		for tv := 0; tv < bv; tv++ {
			n := min(2*L, w-2*L*(tv0+tv))
			m0, m1 := v.mask(min(L, n)), v.mask(max(0, n-L))
			wa.mask[0], wa.mask[1] = m0, m1
			if y+1 < h {
				wa.mask[2], wa.mask[3] = m0, m1
			} else {
				wa.mask[2], wa.mask[3] = v.mask(0), v.mask(0)
			}
			wa.src = unsafe.Pointer(&mb[(tr*j.bandTV+tv)*L])
			wa.dst = unsafe.Pointer(&j.out[y*w+2*L*(tv0+tv)])
			v.winoOut(wa)
		}
	}
	wa.src, wa.dst, wa.bias, wa.perm = nil, nil, nil, nil
}

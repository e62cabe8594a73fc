package imageio

import (
	"fmt"
	"math"
)

// Resize reproduces Pillow 9.4's Image.resize((w, h)) of an 8-bit RGB image
// (libImaging/Resample.c), which is what the reference's imresize calls: the
// default bicubic filter (a = -0.5) with its support widened by the scale
// when shrinking (antialiasing), coefficients normalised to sum 1 and turned
// into 22-bit fixed point, a horizontal pass over only the source rows the
// vertical pass needs, rounding to uint8 in between, then a vertical pass.

// Pillow keeps 8 bits for the result and 2 for overflow of the int32 sums.
const precisionBits = 32 - 8 - 2

// Resize returns img resized to w x h as Pillow's Image.resize default for RGB does
// (bicubic, support widened when shrinking), on values clipped to 0..255 and truncated to uint8 first.
// Same size returns a copy with values clipped+truncated exactly as Pillow's Image.fromarray(arr.astype(uint8)) path does.
// Sizes below 1 are a programmer error (Pillow raises) and panic; callers check
// sizes computed from user input first.
func Resize(img *Image, w, h int) *Image {
	if w < 1 || h < 1 {
		panic(fmt.Sprintf("imageio: resize to %d x %d", w, h))
	}
	out := New(w, h)
	needH, needV := w != img.W, h != img.H
	if !needH && !needV {
		parallel(len(img.Pix), 1<<16, func(lo, hi int) {
			for i, v := range img.Pix[lo:hi] {
				out.Pix[lo+i] = float32(clip8(v))
			}
		})
		return out
	}

	vert := newCoeffs(img.H, h)
	var src []uint8 // input of the vertical pass, inW pixels a row
	inW := img.W
	if needH {
		// Only rows first..last of the source feed the vertical pass.
		first := vert.bounds[0]
		last := vert.bounds[2*(h-1)] + vert.bounds[2*(h-1)+1]
		for i := 0; i < h; i++ {
			vert.bounds[2*i] -= first
		}
		horiz := newCoeffs(img.W, w)
		src = make([]uint8, w*(last-first)*3)
		parallel(last-first, 16, func(lo, hi int) {
			row := make([]uint8, img.W*3) // one source row, clipped and truncated
			for y := lo; y < hi; y++ {
				for i, v := range img.Pix[(first+y)*img.W*3 : (first+y+1)*img.W*3] {
					row[i] = clip8(v)
				}
				resampleRow(src[y*w*3:(y+1)*w*3], row, horiz)
			}
		})
		inW = w
	} else {
		src = make([]uint8, len(img.Pix))
		parallel(len(src), 1<<16, func(lo, hi int) {
			for i, v := range img.Pix[lo:hi] {
				src[lo+i] = clip8(v)
			}
		})
	}
	if needV {
		parallel(h, 16, func(lo, hi int) {
			resampleColumns(out.Pix, src, inW, vert, lo, hi)
		})
	} else {
		for i, v := range src {
			out.Pix[i] = float32(v)
		}
	}
	return out
}

// coeffs are one pass's filter taps: output i reads k[i*ksize : i*ksize+bounds[2i+1]]
// times inputs bounds[2i] onwards.
type coeffs struct {
	ksize  int
	bounds []int
	k      []int32
}

// bicubic is Pillow's bicubic_filter; the conversions stop Go fusing
// multiply-adds, which the C build (plain x86-64 SSE2) does not do either.
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return float64(float64(float64(float64((a+2)*x)-(a+3))*x)*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

// newCoeffs is Pillow's precompute_coeffs with box (0, inSize) followed by
// normalize_coeffs_8bpc.
func newCoeffs(inSize, outSize int) coeffs {
	// (double)(in1 - in0) / outSize with in1, in0 C floats.
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := max(scale, 1.0)
	support := 2.0 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	kk := make([]float64, ksize)
	ss := 1.0 / filterscale
	for xx := 0; xx < outSize; xx++ {
		center := float64(float64(xx)+0.5) * scale
		xmin := int(center - support + 0.5) // C (int) truncates toward zero, as Go does
		xmin = max(xmin, 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w := bicubic(float64(float64(x+xmin)-center+0.5) * ss)
			kk[x] = w
			ww += w
		}
		k := c.k[xx*ksize : (xx+1)*ksize]
		for x := 0; x < xmax; x++ {
			v := kk[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				k[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

// clipPrec is Pillow's clip8: the fixed-point sum shifted down (flooring) and
// saturated to 0..255.
func clipPrec(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resampleRow is ImagingResampleHorizontal_8bpc for one RGB row.
func resampleRow(out, in []uint8, c coeffs) {
	const half = 1 << (precisionBits - 1)
	for xx := 0; 3*xx+2 < len(out); xx++ {
		xmin, n := c.bounds[2*xx], c.bounds[2*xx+1]
		k := c.k[xx*c.ksize : xx*c.ksize+n]
		p := in[xmin*3 : (xmin+n)*3]
		s0, s1, s2 := int32(half), int32(half), int32(half)
		for _, kv := range k {
			s0 += int32(p[0]) * kv
			s1 += int32(p[1]) * kv
			s2 += int32(p[2]) * kv
			p = p[3:]
		}
		out[3*xx], out[3*xx+1], out[3*xx+2] = clipPrec(s0), clipPrec(s1), clipPrec(s2)
	}
}

// resampleColumns is ImagingResampleVertical_8bpc for RGB, writing float32
// output rows lo..hi. It accumulates whole rows at a time (cache friendly);
// integer addition is associative, so the sums equal Pillow's pixel-by-pixel
// ones exactly.
func resampleColumns(dst []float32, src []uint8, w int, c coeffs, lo, hi int) {
	const half = 1 << (precisionBits - 1)
	n := w * 3
	acc := make([]int32, n)
	for yy := lo; yy < hi; yy++ {
		ymin, cnt := c.bounds[2*yy], c.bounds[2*yy+1]
		for i := range acc {
			acc[i] = half
		}
		for y, kv := range c.k[yy*c.ksize : yy*c.ksize+cnt] {
			row := src[(ymin+y)*n : (ymin+y+1)*n]
			row = row[:len(acc)]
			for i, v := range row {
				acc[i] += int32(v) * kv
			}
		}
		out := dst[yy*n : (yy+1)*n]
		for i, v := range acc {
			out[i] = float32(clipPrec(v))
		}
	}
}

// ScaledSize: the reference's imresize with a float factor: int(w*f), int(h*f) (truncation, float64 arithmetic).
// A size past the int32 range saturates (NaN gives 0) rather than wrapping,
// so a caller's range check sees it.
func ScaledSize(w, h int, factor float64) (int, int) {
	return pyInt(float64(w) * factor), pyInt(float64(h) * factor)
}

// pyInt is Python's int() of a float (truncation toward zero), saturated to
// the int32 range where Go's conversion would be implementation-defined.
func pyInt(v float64) int {
	switch {
	case v != v:
		return 0
	case v >= math.MaxInt32:
		return math.MaxInt32
	case v <= math.MinInt32:
		return math.MinInt32
	}
	return int(v)
}

// StyleScaleFactor: factor = scale * contentW / styleW computed like Python: style_scale * target_shape[1] / style_images[i].shape[1]  (left to right, float64).
func StyleScaleFactor(scale float64, contentW, styleW int) float64 {
	return float64(scale*float64(contentW)) / float64(styleW)
}

// WidthSize: --width: height = floor(float(H)/W * width).
func WidthSize(w, h, width int) (int, int) {
	return width, pyInt(math.Floor(float64(float64(h)/float64(w)) * float64(width)))
}

package imageio

import "fmt"

// Pillow converts between RGB and JPEG/JFIF YCbCr with 6-bit fixed-point
// lookup tables (libImaging/ConvertYCbCr.c). The tables hold
// (int)(v*coef*64 + 0.5), C truncation toward zero, for the coefficients
//
//	Y  = 0.29900 R + 0.58700 G + 0.11400 B
//	Cb = -0.16874 R - 0.33126 G + 0.50000 B + 128
//	Cr = 0.50000 R - 0.41869 G - 0.08131 B + 128
//	R  = Y + 1.40200 (Cr-128)
//	G  = Y - 0.34414 (Cb-128) - 0.71414 (Cr-128)
//	B  = Y + 1.77200 (Cb-128)
//
// and sums are shifted right (flooring) by 6 bits. Rebuilding them from the
// coefficients reproduces every entry; the exact values matter because the
// reference's colour-preserving step rounds through these tables twice.
const ycbcrShift = 6

var (
	tYR, tYG, tYB    [256]int32
	tCbR, tCbG, tCbB [256]int32
	tCrG, tCrB       [256]int32 // Cr's R table equals Cb's B table (both 0.5)
	tRCr, tGCb       [256]int32
	tGCr, tBCb       [256]int32
)

func init() {
	fixed := func(v float64) int32 { return int32(float64(v*64) + 0.5) }
	for i := range 256 {
		f := float64(i)
		tYR[i] = fixed(f * 0.29900)
		tYG[i] = fixed(f * 0.58700)
		tYB[i] = fixed(f * 0.11400)
		tCbR[i] = fixed(f * -0.16874)
		tCbG[i] = fixed(f * -0.33126)
		tCbB[i] = fixed(f * 0.50000)
		tCrG[i] = fixed(f * -0.41869)
		tCrB[i] = fixed(f * -0.08131)
		d := float64(i - 128)
		tRCr[i] = fixed(d * 1.40200)
		tGCb[i] = fixed(d * -0.34414)
		tGCr[i] = fixed(d * -0.71414)
		tBCb[i] = fixed(d * 1.77200)
	}
}

// rgbToYCbCr is Pillow's ImagingConvertRGB2YCbCr for one pixel.
func rgbToYCbCr(r, g, b uint8) (y, cb, cr uint8) {
	y = uint8((tYR[r] + tYG[g] + tYB[b]) >> ycbcrShift)
	cb = uint8(((tCbR[r] + tCbG[g] + tCbB[b]) >> ycbcrShift) + 128)
	cr = uint8(((tCbB[r] + tCrG[g] + tCrB[b]) >> ycbcrShift) + 128)
	return y, cb, cr
}

// ycbcrToRGB is Pillow's ImagingConvertYCbCr2RGB for one pixel.
func ycbcrToRGB(y, cb, cr uint8) (r, g, b uint8) {
	yy := int32(y)
	return sat8(yy + tRCr[cr]>>ycbcrShift),
		sat8(yy + (tGCb[cb]+tGCr[cr])>>ycbcrShift),
		sat8(yy + tBCb[cb]>>ycbcrShift)
}

func sat8(v int32) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// PreserveColors returns the reference's colour-preserving transfer: Y of the styled
// image's luma (see docs/SPEC.md section 5 and testdata/pillow/make_pillow_golden.py, preserve_colors), Cb/Cr of
// content, back to RGB with Pillow's YCbCr conversions.
//
// Step by step as the reference: the styled image is clipped to 0..255, its luma
// 0.299 R + 0.587 G + 0.114 B is computed in float64 and stored in a float32
// array, truncated to uint8 and replicated to a gray RGB image, whose Pillow Y
// (not always equal to the gray level) becomes the result's Y; Cb and Cr come
// from the content clipped and truncated to uint8.
func PreserveColors(content, styled *Image) *Image {
	if content.W != styled.W || content.H != styled.H {
		panic(fmt.Sprintf("imageio: PreserveColors of a %d x %d content and a %d x %d styled image",
			content.W, content.H, styled.W, styled.H))
	}
	out := New(content.W, content.H)
	c, s, o := content.Pix, styled.Pix, out.Pix
	for i := 0; i+2 < len(o); i += 3 {
		gray := clip8(float32(luma(clipf(s[i]), clipf(s[i+1]), clipf(s[i+2]))))
		y, _, _ := rgbToYCbCr(gray, gray, gray)
		_, cb, cr := rgbToYCbCr(clip8(c[i]), clip8(c[i+1]), clip8(c[i+2]))
		r, g, b := ycbcrToRGB(y, cb, cr)
		o[i], o[i+1], o[i+2] = float32(r), float32(g), float32(b)
	}
	return out
}

// luma is np.dot(rgb, [0.299, 0.587, 0.114]) on float32 values promoted to
// float64; the explicit conversions keep the compiler from fusing the
// multiply-adds, which would round differently from NumPy.
func luma(r, g, b float32) float64 {
	return float64(float64(r)*0.299) + float64(float64(g)*0.587) + float64(float64(b)*0.114)
}

// clipf is np.clip(v, 0, 255) on a float32; NaN passes through as NumPy's does.
func clipf(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return v
}

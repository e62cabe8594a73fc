package imageio

import "image"

// JPEG files are decoded by package jpeg, which reproduces libjpeg-turbo
// (and so Pillow) exactly. What is here serves the *image.YCbCr other
// decoders return (lossy WebP): chroma subsampled 2:1 is upsampled with
// libjpeg's triangle filter ("fancy upsampling", jdsample.c) rather than
// replicated, and YCbCr becomes RGB through libjpeg's 16-bit tables
// (jdcolor.c), the closest of the two conventions to a decoder's own.

// libjpeg's YCbCr->RGB tables (SCALEBITS 16, FIX(x) = round(x * 2^16)).
var jCrR, jCbB, jCrG, jCbG [256]int32

func init() {
	const half = 1 << 15
	fix := func(x float64) int64 { return int64(x*(1<<16) + 0.5) }
	for i := range 256 {
		x := int64(i - 128)
		jCrR[i] = int32((fix(1.40200)*x + half) >> 16)
		jCbB[i] = int32((fix(1.77200)*x + half) >> 16)
		jCrG[i] = int32(-fix(0.71414) * x)
		jCbG[i] = int32(-fix(0.34414)*x + half)
	}
}

// jpegYCCToRGB is libjpeg's ycc_rgb_convert for one pixel.
func jpegYCCToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy := int32(y)
	return sat8(yy + jCrR[cr]), sat8(yy + (jCbG[cb]+jCrG[cr])>>16), sat8(yy + jCbB[cb])
}

// ycbcrRows converts rows lo..hi (relative to the image's top) of a decoded
// JPEG to RGB float32 in dst (3*width values a row). Chroma at 4:2:0 and
// 4:2:2 is upsampled as libjpeg's h2v2/h2v1_fancy_upsample do: 3/4 of the
// nearer sample and 1/4 of the farther one in each subsampled direction,
// edge samples repeated, with its rounding biases. Like libjpeg, chroma only
// 1 or 2 samples wide is replicated instead, as are the rarer layouts (4:4:0,
// 4:1:1, 4:1:0), where libjpeg-turbo's handling has not been checked.
func ycbcrRows(dst []float32, m *image.YCbCr, lo, hi int, cbRow, crRow []int32) {
	b := m.Rect
	w := b.Dx()
	// Chroma sample counts libjpeg works with (downsampled_width/height).
	cw, ch := (w+1)/2, (b.Dy()+1)/2
	ratio := m.SubsampleRatio
	if (ratio == image.YCbCrSubsampleRatio420 || ratio == image.YCbCrSubsampleRatio422) && cw <= 2 {
		ratio = -1 // libjpeg's jinit_upsampler: fancy only for downsampled_width > 2
	}
	for y := lo; y < hi; y++ {
		out := dst[y*w*3 : (y+1)*w*3]
		ys := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):][:w]
		switch ratio {
		case image.YCbCrSubsampleRatio420:
			// Vertical pass: colsum = 3*nearer row + farther row, kept in 4x scale.
			cy := y / 2
			ny := cy - 1
			if y%2 == 1 {
				ny = cy + 1
			}
			ny = min(max(ny, 0), ch-1)
			near := m.COffset(b.Min.X, b.Min.Y+2*cy)
			far := m.COffset(b.Min.X, b.Min.Y+2*ny)
			for c := 0; c < cw; c++ {
				cbRow[c] = 3*int32(m.Cb[near+c]) + int32(m.Cb[far+c])
				crRow[c] = 3*int32(m.Cr[near+c]) + int32(m.Cr[far+c])
			}
			for x, yv := range ys {
				c := x / 2
				var cb, cr int32
				if x%2 == 0 {
					p := max(c-1, 0)
					cb = (3*cbRow[c] + cbRow[p] + 8) >> 4
					cr = (3*crRow[c] + crRow[p] + 8) >> 4
				} else {
					n := min(c+1, cw-1)
					cb = (3*cbRow[c] + cbRow[n] + 7) >> 4
					cr = (3*crRow[c] + crRow[n] + 7) >> 4
				}
				r, g, bb := jpegYCCToRGB(yv, uint8(cb), uint8(cr))
				out[3*x], out[3*x+1], out[3*x+2] = float32(r), float32(g), float32(bb)
			}
		case image.YCbCrSubsampleRatio422:
			ci := m.COffset(b.Min.X, b.Min.Y+y)
			cbs, crs := m.Cb[ci:ci+cw], m.Cr[ci:ci+cw]
			for x, yv := range ys {
				c := x / 2
				var cb, cr int32
				if x%2 == 0 {
					p := max(c-1, 0)
					cb = (3*int32(cbs[c]) + int32(cbs[p]) + 1) >> 2
					cr = (3*int32(crs[c]) + int32(crs[p]) + 1) >> 2
				} else {
					n := min(c+1, cw-1)
					cb = (3*int32(cbs[c]) + int32(cbs[n]) + 2) >> 2
					cr = (3*int32(crs[c]) + int32(crs[n]) + 2) >> 2
				}
				r, g, bb := jpegYCCToRGB(yv, uint8(cb), uint8(cr))
				out[3*x], out[3*x+1], out[3*x+2] = float32(r), float32(g), float32(bb)
			}
		case image.YCbCrSubsampleRatio444:
			ci := m.COffset(b.Min.X, b.Min.Y+y)
			cbs, crs := m.Cb[ci:ci+w], m.Cr[ci:ci+w]
			for x, yv := range ys {
				r, g, bb := jpegYCCToRGB(yv, cbs[x], crs[x])
				out[3*x], out[3*x+1], out[3*x+2] = float32(r), float32(g), float32(bb)
			}
		default:
			for x, yv := range ys {
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := jpegYCCToRGB(yv, m.Cb[ci], m.Cr[ci])
				out[3*x], out[3*x+1], out[3*x+2] = float32(r), float32(g), float32(bb)
			}
		}
	}
}

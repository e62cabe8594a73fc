package imageio

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// TestJPEGMatchesPillow compares Read of two Pillow-written JPEGs (4:2:0, and
// progressive 4:2:2) with Pillow's own decoding: every value must be equal
// (package jpeg reproduces libjpeg-turbo's IDCT, upsampling and colour
// conversion; Go's image/jpeg was up to 3 levels off, 12 before chroma
// upsampling was redone).
func TestJPEGMatchesPillow(t *testing.T) {
	for _, name := range []string{"photo420", "photo422"} {
		t.Run(name, func(t *testing.T) {
			got := mustRead(t, "testdata/"+name+".jpg")
			want := mustRead(t, "testdata/"+name+".png")
			if got.W != want.W || got.H != want.H {
				t.Fatalf("size %d x %d, want %d x %d", got.W, got.H, want.W, want.H)
			}
			off := 0
			var worst float32
			for i := range got.Pix {
				if d := float32(math.Abs(float64(got.Pix[i] - want.Pix[i]))); d != 0 {
					off++
					worst = max(worst, d)
				}
			}
			if off != 0 {
				t.Errorf("%d of %d values differ, worst by %v: want all equal", off, len(got.Pix), worst)
			}
		})
	}
}

// TestJPEGColorTables checks libjpeg's fixed-point YCbCr->RGB against the
// JFIF formulas: R and B are the nearest integers, G within rounding.
func TestJPEGColorTables(t *testing.T) {
	for cb := 0; cb < 256; cb++ {
		for cr := 0; cr < 256; cr++ {
			r, g, b := jpegYCCToRGB(100, uint8(cb), uint8(cr))
			x, z := float64(cb-128), float64(cr-128)
			wr := math.Min(math.Max(100+math.Round(1.402*z), 0), 255)
			wb := math.Min(math.Max(100+math.Round(1.772*x), 0), 255)
			wg := math.Min(math.Max(100-0.34414*x-0.71414*z, 0), 255)
			if float64(r) != wr || float64(b) != wb || math.Abs(float64(g)-wg) > 0.5+1e-3 { // a tie may go either way in 16-bit fixed point
				t.Fatalf("jpegYCCToRGB(100, %d, %d) = %d %d %d, want %v %.2f %v", cb, cr, r, g, b, wr, wg, wb)
			}
		}
	}
}

// upsampleRef is libjpeg's fancy upsampling written per output sample, from
// the clamped neighbours, rather than streamed like ycbcrRows.
func upsampleRef(m *image.YCbCr, x, y int) (cb, cr uint8) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	at := func(p []uint8, cx, cy int) int32 {
		cx, cy = min(max(cx, 0), cw-1), min(max(cy, 0), ch-1)
		if m.SubsampleRatio == image.YCbCrSubsampleRatio422 {
			return int32(p[y*m.CStride+cx])
		}
		return int32(p[cy*m.CStride+cx])
	}
	dx := 1 // the farther column
	if x%2 == 0 {
		dx = -1
	}
	one := func(p []uint8) uint8 {
		c := x / 2
		if m.SubsampleRatio == image.YCbCrSubsampleRatio422 {
			bias := int32(1)
			if x%2 == 1 {
				bias = 2
			}
			return uint8((3*at(p, c, 0) + at(p, c+dx, 0) + bias) >> 2)
		}
		dy := 1
		if y%2 == 0 {
			dy = -1
		}
		col := func(cx int) int32 { return 3*at(p, cx, y/2) + at(p, cx, y/2+dy) }
		bias := int32(8)
		if x%2 == 1 {
			bias = 7
		}
		return uint8((3*col(c) + col(c+dx) + bias) >> 4)
	}
	return one(m.Cb), one(m.Cr)
}

func TestFancyUpsampling(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422} {
		for _, sz := range [][2]int{{5, 3}, {6, 4}, {13, 9}, {8, 1}, {4, 7}, {3, 3}, {1, 5}} {
			m := image.NewYCbCr(image.Rect(0, 0, sz[0], sz[1]), ratio)
			for i := range m.Y {
				m.Y[i] = uint8(i * 37)
			}
			for i := range m.Cb {
				m.Cb[i], m.Cr[i] = uint8(i*53+7), uint8(255-i*29)
			}
			img := fromImage(m, sz[0], sz[1])
			fancy := (sz[0]+1)/2 > 2
			for y := 0; y < sz[1]; y++ {
				for x := 0; x < sz[0]; x++ {
					ci := m.COffset(x, y)
					cb, cr := m.Cb[ci], m.Cr[ci] // replicated, for narrow chroma
					if fancy {
						cb, cr = upsampleRef(m, x, y)
					}
					r, g, b := jpegYCCToRGB(m.Y[m.YOffset(x, y)], cb, cr)
					wantPixel(t, img, x, y, [3]float32{float32(r), float32(g), float32(b)}, 0)
				}
			}
		}
	}
}

// Layouts without fancy upsampling, and sub-images (not straight from a
// decoder), replicate chroma.
func TestYCbCrOtherLayouts(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440,
		image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for _, ratio := range ratios {
		m := image.NewYCbCr(image.Rect(0, 0, 13, 9), ratio)
		for i := range m.Y {
			m.Y[i] = uint8(i * 37)
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(i*53+7), uint8(255-i*29)
		}
		img := fromImage(m, 13, 9)
		for y := 0; y < 9; y++ {
			for x := 0; x < 13; x++ {
				ci := m.COffset(x, y)
				r, g, b := jpegYCCToRGB(m.Y[m.YOffset(x, y)], m.Cb[ci], m.Cr[ci])
				wantPixel(t, img, x, y, [3]float32{float32(r), float32(g), float32(b)}, 0)
			}
		}
		sub := m.SubImage(image.Rect(3, 1, 12, 8)).(*image.YCbCr)
		img = fromImage(sub, 12, 8)
		for y := 1; y < 8; y++ {
			for x := 3; x < 12; x++ {
				c := color.NRGBAModel.Convert(sub.At(x, y)).(color.NRGBA)
				wantPixel(t, img, x, y, [3]float32{float32(c.R), float32(c.G), float32(c.B)}, 0)
			}
		}
	}
}

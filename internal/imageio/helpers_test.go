package imageio

// Test-only views of images: whole-image colour conversions and pixel
// access, which the package itself does per pixel.

// At returns the channel c of the pixel at column x, row y.
func (m *Image) At(x, y, c int) float32 { return m.Pix[(y*m.W+x)*3+c] }

// RGBToYCbCr returns Pillow's Image.convert("YCbCr") of img (after the
// reference's clip to 0..255 and truncation to uint8), with Y, Cb and Cr in
// channels 0, 1 and 2.
func RGBToYCbCr(img *Image) *Image {
	out := New(img.W, img.H)
	p := img.Pix
	for i := 0; i+2 < len(p); i += 3 {
		y, cb, cr := rgbToYCbCr(clip8(p[i]), clip8(p[i+1]), clip8(p[i+2]))
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = float32(y), float32(cb), float32(cr)
	}
	return out
}

// YCbCrToRGB is the inverse of RGBToYCbCr: Pillow's conversion of a "YCbCr"
// image (channels 0, 1, 2 = Y, Cb, Cr, clipped and truncated to uint8) to "RGB".
func YCbCrToRGB(img *Image) *Image {
	out := New(img.W, img.H)
	p := img.Pix
	for i := 0; i+2 < len(p); i += 3 {
		r, g, b := ycbcrToRGB(clip8(p[i]), clip8(p[i+1]), clip8(p[i+2]))
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = float32(r), float32(g), float32(b)
	}
	return out
}

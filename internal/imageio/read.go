package imageio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // registered decoders: Read accepts every format listed in the package doc
	_ "image/png"
	"io"
	"io/fs"
	"os"
	"strings"

	_ "golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the pixel limit Read applies when ReadOptions.MaxPixels is 0.
const DefaultMaxPixels = 100_000_000

// ReadOptions: MaxPixels 0 means the default limit of 100 megapixels; a
// negative MaxPixels disables the limit.
type ReadOptions struct{ MaxPixels int }

// CheckSize refuses a w x h image over the pixel limit (an error wrapping
// ErrTooLarge). Read applies it to every header; callers apply it to the
// sizes they resize to, so that no path exhausts memory.
func (o ReadOptions) CheckSize(w, h int) error {
	limit := o.MaxPixels
	if limit == 0 {
		limit = DefaultMaxPixels
	}
	if limit > 0 && int64(w)*int64(h) > int64(limit) {
		return &detailError{kind: ErrTooLarge, msg: fmt.Sprintf("%d x %d pixels exceeds the limit of %d", w, h, limit)}
	}
	return nil
}

// Read decodes a JPEG, PNG, GIF (first frame), BMP, TIFF or WebP file into RGB
// float32 0..255. The header is checked against the pixel limit before any
// pixel memory is allocated. EXIF orientation (JPEG, PNG, WebP, TIFF) is
// applied; grayscale is replicated to three channels; alpha is dropped without
// compositing (the colour channels are taken un-premultiplied, as the
// reference's img[:, :, :3] does); palette, CMYK/YCCK and 16-bit images are
// converted to 8-bit RGB. JPEG is decoded by package jpeg, to the values
// Pillow (libjpeg-turbo) gives.
func Read(path string, opts ReadOptions) (*Image, error) {
	fail := func(err error) error { return &Error{Op: "read", Path: path, Err: err} }
	f, err := os.Open(path)
	if err != nil {
		return nil, fail(osCause(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fail(osCause(err))
	}
	if st.IsDir() {
		return nil, fail(&detailError{kind: ErrUnsupported, msg: "is a directory, not an image"})
	}
	if st.Size() == 0 {
		return nil, fail(&detailError{kind: ErrUnsupported, msg: "empty file, not an image"})
	}

	br := bufio.NewReaderSize(f, 64<<10)
	if head, _ := br.Peek(2); isJPEG(head) {
		img, err := readJPEG(br, opts)
		if err != nil {
			return nil, fail(err)
		}
		return orient(img, readOrientation(f, st.Size(), "jpeg")), nil
	}
	var format string
	cfg, err := recovered(func() (c image.Config, err error) {
		c, format, err = image.DecodeConfig(br)
		return c, err
	})
	if err != nil {
		return nil, fail(decodeCause(err, f, "", st.Size()))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fail(&detailError{kind: ErrCorrupt, msg: fmt.Sprintf("%s header gives an empty %d x %d image", format, cfg.Width, cfg.Height)})
	}
	if err := opts.CheckSize(cfg.Width, cfg.Height); err != nil {
		return nil, fail(err)
	}

	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fail(err)
	}
	br.Reset(f)
	decodeFn := func() (image.Image, error) { m, _, err := image.Decode(br); return m, err }
	if format == "tiff" {
		// Given the file, the TIFF decoder reads strips with ReadAt; through
		// image.Decode's buffered reader it would copy the file into memory.
		decodeFn = func() (image.Image, error) { return tiff.Decode(f) }
	}
	m, err := recovered(decodeFn)
	if err != nil {
		return nil, fail(decodeCause(err, f, format, st.Size()))
	}
	canvas := image.Rect(0, 0, cfg.Width, cfg.Height)
	if b := m.Bounds(); b.Empty() || !b.In(canvas) {
		return nil, fail(&detailError{kind: ErrCorrupt, msg: fmt.Sprintf("%s decodes to pixels %v outside its %d x %d header",
			format, b, cfg.Width, cfg.Height)})
	}
	img := fromImage(m, cfg.Width, cfg.Height)
	return orient(img, readOrientation(f, st.Size(), format)), nil
}

// recovered calls fn, turning a decoder panic on hostile input into an
// error.
func recovered[T any](fn func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, fmt.Errorf("decoder failed: %v", p)
		}
	}()
	return fn()
}

// osCause drops the *fs.PathError wrapper, whose text would repeat the path.
func osCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decodeCause classifies a decoder error: not an image, truncated, or corrupt.
// Decoders report a cut file in their own words ("not enough pixel data"), so
// a missing end marker also counts as truncation.
func decodeCause(err error, f io.ReaderAt, format string, size int64) error {
	if errors.Is(err, image.ErrFormat) {
		head := make([]byte, 32)
		n, _ := f.ReadAt(head, 0)
		if name := knownUnsupported(head[:n]); name != "" {
			return &detailError{kind: ErrUnsupported, msg: name + " images are not supported (use JPEG, PNG, GIF, BMP, TIFF or WebP)"}
		}
		return &detailError{kind: ErrUnsupported, msg: "not an image, or an unsupported format (use JPEG, PNG, GIF, BMP, TIFF or WebP)"}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "unexpected EOF") ||
		!hasTrailer(f, format, size) {
		return &detailError{kind: ErrTruncated, msg: "truncated image (the file ends before the image data)", cause: err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return &detailError{kind: ErrCorrupt, msg: "corrupt image data", cause: err}
}

// hasTrailer reports whether the file ends with its format's end marker;
// formats without one are taken as complete.
func hasTrailer(f io.ReaderAt, format string, size int64) bool {
	var end []byte
	switch format {
	case "png":
		end = []byte("\x00\x00\x00\x00IEND\xae\x42\x60\x82")
	case "jpeg":
		end = []byte{0xff, 0xd9}
	case "gif":
		end = []byte{0x3b}
	default:
		return true
	}
	if size < int64(len(end)) {
		return false
	}
	got := make([]byte, len(end))
	if _, err := f.ReadAt(got, size-int64(len(end))); err != nil {
		return false
	}
	return bytes.Equal(got, end)
}

// knownUnsupported names common image formats without a decoder here, so the
// message can say what the file is rather than just what it is not.
func knownUnsupported(h []byte) string {
	switch {
	case len(h) >= 12 && string(h[4:8]) == "ftyp":
		switch string(h[8:12]) {
		case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
			return "HEIC/HEIF"
		case "avif", "avis":
			return "AVIF"
		}
	case bytes.HasPrefix(h, []byte{0xff, 0x0a}), bytes.HasPrefix(h, []byte("\x00\x00\x00\x0cJXL ")):
		return "JPEG XL"
	case bytes.HasPrefix(h, []byte("8BPS")):
		return "Photoshop (PSD)"
	case bytes.HasPrefix(h, []byte("\x00\x00\x01\x00")):
		return "ICO"
	case bytes.HasPrefix(h, []byte("<svg")), bytes.HasPrefix(h, []byte("<?xml")):
		return "SVG/XML"
	}
	return ""
}

// fromImage converts a decoded image to a w x h RGB float32 canvas (a GIF's
// first frame may cover only part of its logical screen; the rest stays black),
// taking colour channels un-premultiplied and ignoring alpha.
func fromImage(m image.Image, w, h int) *Image {
	b := m.Bounds()
	out := New(w, h)
	o := out.Pix
	// rowOut is the output offset of pixel (b.Min.X, y).
	rowOut := func(y int) int { return (y*w + b.Min.X) * 3 }
	n := b.Dx()
	switch m := m.(type) {
	case *image.YCbCr:
		if b == m.Rect && b.Min == (image.Point{}) {
			// A decoded JPEG: convert as libjpeg does, rows in parallel.
			parallel(b.Dy(), 64, func(lo, hi int) {
				cw := (b.Dx() + 1) / 2
				ycbcrRows(o, m, lo, hi, make([]int32, cw), make([]int32, cw))
			})
			break
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			for x := 0; x < n; x++ {
				ci := m.COffset(b.Min.X+x, y)
				r, g, bb := color.YCbCrToRGB(m.Y[m.YOffset(b.Min.X+x, y)], m.Cb[ci], m.Cr[ci])
				dst[3*x], dst[3*x+1], dst[3*x+2] = float32(r), float32(g), float32(bb)
			}
		}
	case *image.NYCbCrA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			for x := 0; x < n; x++ {
				yi := m.YOffset(b.Min.X+x, y)
				ci := m.COffset(b.Min.X+x, y)
				r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				dst[3*x], dst[3*x+1], dst[3*x+2] = float32(r), float32(g), float32(bb)
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			src := m.Pix[m.PixOffset(b.Min.X, y):][:n]
			for x, v := range src {
				f := float32(v)
				dst[3*x], dst[3*x+1], dst[3*x+2] = f, f, f
			}
		}
	case *image.Gray16:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			src := m.Pix[m.PixOffset(b.Min.X, y):][:2*n]
			for x := 0; x < n; x++ {
				f := float32(src[2*x]) // the high byte, as Pillow keeps it
				dst[3*x], dst[3*x+1], dst[3*x+2] = f, f, f
			}
		}
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			src := m.Pix[m.PixOffset(b.Min.X, y):][:4*n]
			for x := 0; x < n; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = float32(src[4*x]), float32(src[4*x+1]), float32(src[4*x+2])
			}
		}
	case *image.NRGBA64:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			src := m.Pix[m.PixOffset(b.Min.X, y):][:8*n]
			for x := 0; x < n; x++ {
				dst[3*x], dst[3*x+1], dst[3*x+2] = float32(src[8*x]), float32(src[8*x+2]), float32(src[8*x+4])
			}
		}
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			src := m.Pix[m.PixOffset(b.Min.X, y):][:4*n]
			for x := 0; x < n; x++ {
				p := src[4*x : 4*x+4]
				r, g, bb := p[0], p[1], p[2]
				if p[3] != 0xff {
					c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
					r, g, bb = c.R, c.G, c.B
				}
				dst[3*x], dst[3*x+1], dst[3*x+2] = float32(r), float32(g), float32(bb)
			}
		}
	case *image.Paletted:
		var pal [256][3]float32 // indexes past the palette read black
		for i, c := range m.Palette {
			if i >= len(pal) {
				break
			}
			nc, ok := c.(color.NRGBA) // keeps the colour of fully transparent entries
			if !ok {
				nc = color.NRGBAModel.Convert(c).(color.NRGBA)
			}
			pal[i] = [3]float32{float32(nc.R), float32(nc.G), float32(nc.B)}
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			src := m.Pix[m.PixOffset(b.Min.X, y):][:n]
			for x, v := range src {
				c := pal[v]
				dst[3*x], dst[3*x+1], dst[3*x+2] = c[0], c[1], c[2]
			}
		}
	case *image.CMYK:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			src := m.Pix[m.PixOffset(b.Min.X, y):][:4*n]
			for x := 0; x < n; x++ {
				r, g, bb := color.CMYKToRGB(src[4*x], src[4*x+1], src[4*x+2], src[4*x+3])
				dst[3*x], dst[3*x+1], dst[3*x+2] = float32(r), float32(g), float32(bb)
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			dst := o[rowOut(y):][:3*n]
			for x := 0; x < n; x++ {
				c := color.NRGBAModel.Convert(m.At(b.Min.X+x, y)).(color.NRGBA)
				dst[3*x], dst[3*x+1], dst[3*x+2] = float32(c.R), float32(c.G), float32(c.B)
			}
		}
	}
	return out
}

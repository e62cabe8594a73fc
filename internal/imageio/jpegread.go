package imageio

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"io"

	"github.com/neuralstyle/neuralstyle/internal/imageio/jpeg"
)

// isJPEG reports whether a file starts with a JPEG SOI marker.
func isJPEG(head []byte) bool { return bytes.HasPrefix(head, []byte{0xff, 0xd8}) }

// readJPEG decodes a JPEG with the Pillow-exact decoder of package jpeg
// (libjpeg-turbo's IDCT, upsampling and colour conversion), checking the
// frame's size against the pixel limit before any pixel memory exists.
func readJPEG(r io.Reader, opts ReadOptions) (*Image, error) {
	m, err := jpeg.Decode(r, &jpeg.Options{CheckSize: opts.checkDecode})
	if err != nil {
		return nil, jpegCause(err)
	}
	out := New(m.W, m.H)
	row := 3 * m.W
	parallel(m.H, 64, func(lo, hi int) {
		dst := out.Pix[lo*row : hi*row]
		for i, v := range m.Pix[lo*row : hi*row] {
			dst[i] = float32(v)
		}
	})
	return out, nil
}

// jpegCause classifies a decoder error as the other formats' are.
func jpegCause(err error) error {
	var unsupported jpeg.UnsupportedError
	var format jpeg.FormatError
	switch {
	case errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &detailError{kind: ErrTruncated, msg: "truncated image (the file ends before the image data)", cause: err}
	case errors.As(err, &unsupported):
		return &detailError{kind: ErrUnsupported, msg: "JPEG with " + string(unsupported) + " is not supported"}
	case errors.As(err, &format):
		return &detailError{kind: ErrCorrupt, msg: "corrupt JPEG data", cause: err}
	}
	return err // a read error from the operating system
}

// JPEG's header is registered with package image for the size check of
// piped input (readStream's image.DecodeConfig); its pixels never go through
// image.Decode: Read hands JPEG to readJPEG.
func init() {
	image.RegisterFormat("jpeg", "\xff\xd8", func(io.Reader) (image.Image, error) {
		return nil, errors.New("imageio: JPEG pixels are decoded by readJPEG")
	}, func(r io.Reader) (image.Config, error) {
		c, err := jpeg.DecodeConfig(r)
		if err != nil {
			return image.Config{}, jpegCause(err)
		}
		return image.Config{ColorModel: color.RGBAModel, Width: c.Width, Height: c.Height}, nil
	})
}

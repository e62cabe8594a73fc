// Package imageio reads, resizes, colour-converts and writes images the way the
// reference neural_style.py does with Pillow and NumPy, so that results can be
// compared level for level.
//
// Images are RGB float32 in 0..255, height x width x 3, row-major (HWC). Reading
// normalises whatever a camera or browser produced (palette, grayscale, 16-bit,
// CMYK, alpha, EXIF orientation) to that form. Resizing and the YCbCr
// conversions reproduce Pillow 9.4's fixed-point integer arithmetic exactly,
// because the reference rounds through uint8 at every step and those roundings
// are visible in its output.
package imageio

import (
	"errors"
	"fmt"
)

// Image is an RGB image, float32 values nominally 0..255, H x W x 3 row-major (HWC).
type Image struct {
	W, H int
	Pix  []float32
}

// New returns a black w x h image.
func New(w, h int) *Image {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("imageio: negative image size %d x %d", w, h))
	}
	return &Image{W: w, H: h, Pix: make([]float32, w*h*3)}
}

// Error is the error returned by Read, Save and CheckWritable: the operation,
// the file, and what is wrong. Err is one of the sentinel errors below (via
// errors.Is) or an operating-system error such as fs.ErrNotExist.
type Error struct {
	Op   string // "read", "save" or "check output"
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Kinds of failure, for errors.Is.
var (
	// ErrUnsupported: not an image, or an image format this program cannot read or write.
	ErrUnsupported = errors.New("unsupported image format")
	// ErrTruncated: the file ends before the image data does.
	ErrTruncated = errors.New("truncated image")
	// ErrCorrupt: the image data is malformed.
	ErrCorrupt = errors.New("corrupt image")
	// ErrTooLarge: the image has more pixels than the configured limit.
	ErrTooLarge = errors.New("image too large")
)

// detailError carries a specific message while matching a sentinel kind with
// errors.Is, so messages read naturally ("4000 x 3000 pixels exceeds ...")
// without repeating the sentinel's text.
type detailError struct {
	kind  error
	msg   string
	cause error
}

func (e *detailError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *detailError) Is(target error) bool { return target == e.kind || errors.Is(e.kind, target) }

func (e *detailError) Unwrap() error { return e.cause }

// clip8 converts a value the way the reference's np.clip(x, 0, 255).astype(np.uint8)
// does: clip, then truncate toward zero. NaN, which NumPy leaves undefined, maps to 0.
func clip8(v float32) uint8 {
	if v >= 255 {
		return 255
	}
	if v > 0 {
		return uint8(v)
	}
	return 0
}

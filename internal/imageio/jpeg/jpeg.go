// Package jpeg decodes JPEG files to 8-bit RGB with the values Pillow (and so
// the reference neural_style.py) gets from libjpeg-turbo with its defaults:
// the accurate integer inverse DCT (JDCT_ISLOW), fancy (triangle-filter)
// chroma upsampling for h2v1, h2v2 and h1v2, integer YCbCr->RGB tables, and
// Pillow's own CMYK->RGB for Adobe CMYK and YCCK files.
//
// It is written from ITU-T T.81 and libjpeg's documented algorithms. Go's
// image/jpeg differs from libjpeg in the IDCT (a few levels on ordinary
// photos) and replicates chroma where libjpeg interpolates (up to tens of
// levels at 4:4:0); this package exists so that JPEG inputs give the
// reference's numbers exactly.
//
// Supported: baseline and extended sequential Huffman (SOF0, SOF1) and
// progressive (SOF2) files, 8-bit samples, restart markers, 1, 3 or 4
// components with any integral sampling factors (4:4:4, 4:2:2, 4:2:0, 4:4:0,
// 4:1:1, ...). Refused with an UnsupportedError: 12-bit samples, arithmetic
// coding, lossless and hierarchical files, DNL-defined heights, fractional
// sampling ratios. Damaged data is treated as libjpeg treats it: a marker
// where entropy-coded data should be gives zero bits, then the rest of the
// restart interval mid-grey; running out of file is io.ErrUnexpectedEOF,
// as Pillow reports it (truncated) too.
//
// Not reproduced: libjpeg's block smoothing of progressive files whose scans
// leave low-frequency coefficients undefined (complete files, which every
// encoder writes, do not use it), and the 16-bit wrap-around of
// libjpeg-turbo's SIMD IDCT when a coefficient times its quantiser exceeds
// 16 bits, which no encoder's output reaches.
package jpeg

import (
	"errors"
	"fmt"
	"io"
)

// A FormatError reports that the input is not a valid JPEG.
type FormatError string

func (e FormatError) Error() string { return "invalid JPEG format: " + string(e) }

// An UnsupportedError reports that the input uses a valid but unimplemented
// JPEG feature.
type UnsupportedError string

func (e UnsupportedError) Error() string { return "unsupported JPEG feature: " + string(e) }

// ColorSpace is the colour model of the coded components, as libjpeg infers
// it from the component count, the JFIF and Adobe markers and the component
// identifiers.
type ColorSpace int

const (
	Gray ColorSpace = iota
	YCbCr
	RGB
	CMYK
	YCCK
)

func (c ColorSpace) String() string {
	switch c {
	case Gray:
		return "gray"
	case YCbCr:
		return "YCbCr"
	case RGB:
		return "RGB"
	case CMYK:
		return "CMYK"
	case YCCK:
		return "YCCK"
	}
	return fmt.Sprintf("ColorSpace(%d)", int(c))
}

// Config is what the frame header says.
type Config struct {
	Width, Height int
	Components    int
	Progressive   bool
	ColorSpace    ColorSpace
}

// Image is decoded 8-bit RGB, W*H pixels of 3 bytes, row-major.
type Image struct {
	W, H int
	Pix  []uint8
}

// Options tune Decode.
type Options struct {
	// CheckSize, when set, is called with the frame's size before any pixel
	// memory is allocated; its error aborts the decode and is returned as is.
	CheckSize func(w, h int) error
}

// DecodeConfig reads the markers up to the frame header.
func DecodeConfig(r io.Reader) (Config, error) {
	d := newDecoder(r)
	if err := d.readHeaders(true); err != nil {
		return Config{}, err
	}
	return d.config(), nil
}

// Decode reads a whole JPEG file and returns its pixels as RGB.
func Decode(r io.Reader, opts *Options) (*Image, error) {
	d := newDecoder(r)
	if opts != nil {
		d.checkSize = opts.CheckSize
	}
	if err := d.readHeaders(false); err != nil {
		return nil, err
	}
	return d.finish()
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

package imageio

import (
	"bytes"
	"encoding/binary"
	"io"
)

// EXIF orientation. The reference (Pillow's Image.open) ignores it, so phone
// photos came out sideways; Read applies it. The tag is looked for where each
// format keeps it: a JPEG APP1 "Exif" segment, a PNG eXIf chunk, a WebP EXIF
// chunk, or IFD0 of a TIFF file itself. Malformed metadata means "no
// orientation", never an error: the pixels are still good.

const tagOrientation = 0x0112

// maxMetaRead bounds what is read while looking for the tag.
const maxMetaRead = 1 << 20

func readOrientation(r io.ReaderAt, size int64, format string) int {
	switch format {
	case "jpeg":
		return jpegOrientation(r, size)
	case "png":
		return pngOrientation(r, size)
	case "webp":
		return webpOrientation(r, size)
	case "tiff":
		return tiffOrientation(io.NewSectionReader(r, 0, size))
	}
	return 1
}

func readAt(r io.ReaderAt, off int64, n int) []byte {
	b := make([]byte, n)
	if got, _ := r.ReadAt(b, off); got != n {
		return nil
	}
	return b
}

func jpegOrientation(r io.ReaderAt, size int64) int {
	pos := int64(2) // after SOI
	for seg := 0; seg < 1000 && pos+4 <= size; seg++ {
		h := readAt(r, pos, 4)
		if h == nil || h[0] != 0xff {
			return 1
		}
		marker := h[1]
		switch {
		case marker == 0xff: // fill byte
			pos++
			continue
		case marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7):
			pos += 2
			continue
		case marker == 0xda || marker == 0xd9: // image data starts: no metadata after
			return 1
		}
		n := int64(binary.BigEndian.Uint16(h[2:]))
		if n < 2 {
			return 1
		}
		if marker == 0xe1 && n >= 8 {
			if p := readAt(r, pos+4, int(n-2)); bytes.HasPrefix(p, []byte("Exif\x00\x00")) {
				return tiffOrientation(bytes.NewReader(p[6:]))
			}
		}
		pos += 2 + n
	}
	return 1
}

func pngOrientation(r io.ReaderAt, size int64) int {
	pos := int64(8)
	for pos+8 <= size {
		h := readAt(r, pos, 8)
		if h == nil {
			return 1
		}
		n := int64(binary.BigEndian.Uint32(h))
		switch string(h[4:]) {
		case "eXIf":
			if n > maxMetaRead {
				return 1
			}
			return tiffOrientation(bytes.NewReader(bytes.TrimPrefix(readAt(r, pos+8, int(n)), []byte("Exif\x00\x00"))))
		case "IEND":
			return 1
		}
		pos += 12 + n
	}
	return 1
}

func webpOrientation(r io.ReaderAt, size int64) int {
	pos := int64(12) // after "RIFF" size "WEBP"
	for pos+8 <= size {
		h := readAt(r, pos, 8)
		if h == nil {
			return 1
		}
		n := int64(binary.LittleEndian.Uint32(h[4:]))
		if string(h[:4]) == "EXIF" {
			if n > maxMetaRead {
				return 1
			}
			return tiffOrientation(bytes.NewReader(bytes.TrimPrefix(readAt(r, pos+8, int(n)), []byte("Exif\x00\x00"))))
		}
		pos += 8 + n + n&1
	}
	return 1
}

// tiffOrientation reads the orientation tag of IFD0 of a TIFF structure.
func tiffOrientation(r io.ReaderAt) int {
	h := readAt(r, 0, 8)
	if h == nil {
		return 1
	}
	var bo binary.ByteOrder
	switch string(h[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(h[2:]) != 42 {
		return 1
	}
	ifd := int64(bo.Uint32(h[4:]))
	cnt := readAt(r, ifd, 2)
	if cnt == nil {
		return 1
	}
	n := int(bo.Uint16(cnt))
	if n > 1000 {
		return 1
	}
	entries := readAt(r, ifd+2, 12*n)
	for i := 0; i+12 <= len(entries); i += 12 {
		e := entries[i : i+12]
		if bo.Uint16(e) != tagOrientation {
			continue
		}
		if typ := bo.Uint16(e[2:]); typ != 3 || bo.Uint32(e[4:]) < 1 { // SHORT
			return 1
		}
		if v := int(bo.Uint16(e[8:])); v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orient returns img as displayed for EXIF orientation o (1..8): the pixel
// at displayed (x, y) comes from the stored image at src(x, y).
func orient(img *Image, o int) *Image {
	if o <= 1 || o > 8 {
		return img
	}
	w, h := img.W, img.H
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	var src func(x, y int) (int, int)
	switch o {
	case 2: // mirrored horizontally
		src = func(x, y int) (int, int) { return w - 1 - x, y }
	case 3: // rotated 180
		src = func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }
	case 4: // mirrored vertically
		src = func(x, y int) (int, int) { return x, h - 1 - y }
	case 5: // transposed
		src = func(x, y int) (int, int) { return y, x }
	case 6: // needs a 90 degree clockwise turn
		src = func(x, y int) (int, int) { return y, h - 1 - x }
	case 7: // transversed
		src = func(x, y int) (int, int) { return w - 1 - y, h - 1 - x }
	case 8: // needs a 90 degree anticlockwise turn
		src = func(x, y int) (int, int) { return w - 1 - y, x }
	}
	out := New(ow, oh)
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			sx, sy := src(x, y)
			copy(out.Pix[(y*ow+x)*3:][:3], img.Pix[(sy*w+sx)*3:][:3])
		}
	}
	return out
}

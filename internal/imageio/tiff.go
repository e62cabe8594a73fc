package imageio

import (
	"encoding/binary"
	"fmt"
	"image"
	"io"
)

// encodeTIFF writes m as Pillow writes an RGB image by default: baseline
// TIFF, little-endian, uncompressed, 8-bit RGB without an alpha sample (the
// x/image encoder always adds one), in one strip.
func encodeTIFF(w io.Writer, m image.Image) error {
	rgba, ok := m.(*image.RGBA)
	if !ok {
		return fmt.Errorf("tiff: %T, want *image.RGBA", m)
	}
	b := rgba.Rect
	width, height := b.Dx(), b.Dy()
	pixBytes := uint64(width) * uint64(height) * 3
	if pixBytes > 1<<32-1024 {
		return fmt.Errorf("tiff: %dx%d is too large for one TIFF file", width, height)
	}
	const (
		tShort = 3
		tLong  = 4
	)
	type entry struct {
		tag, typ uint16
		value    uint32
		count    uint32
	}
	// Layout: header, pixels, the three BitsPerSample shorts, the IFD.
	pixOff := uint32(8)
	bpsOff := pixOff + uint32(pixBytes)
	ifdOff := (bpsOff + 6 + 1) &^ 1 // IFDs start on a word boundary
	entries := []entry{             // in ascending tag order
		{256, tLong, uint32(width), 1},    // ImageWidth
		{257, tLong, uint32(height), 1},   // ImageLength
		{258, tShort, bpsOff, 3},          // BitsPerSample: 8, 8, 8
		{259, tShort, 1, 1},               // Compression: none
		{262, tShort, 2, 1},               // PhotometricInterpretation: RGB
		{273, tLong, pixOff, 1},           // StripOffsets
		{277, tShort, 3, 1},               // SamplesPerPixel
		{278, tLong, uint32(height), 1},   // RowsPerStrip
		{279, tLong, uint32(pixBytes), 1}, // StripByteCounts
		{284, tShort, 1, 1},               // PlanarConfiguration: chunky
	}
	le := binary.LittleEndian
	head := le.AppendUint32([]byte("II*\x00"), ifdOff)
	if _, err := w.Write(head); err != nil {
		return err
	}
	row := make([]byte, 3*width)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		src := rgba.Pix[rgba.PixOffset(b.Min.X, y):][:4*width]
		for x := 0; x < width; x++ {
			copy(row[3*x:3*x+3], src[4*x:4*x+3])
		}
		if _, err := w.Write(row); err != nil {
			return err
		}
	}
	tail := []byte{8, 0, 8, 0, 8, 0}
	if (bpsOff+6)%2 == 1 {
		tail = append(tail, 0)
	}
	tail = le.AppendUint16(tail, uint16(len(entries)))
	for _, e := range entries {
		tail = le.AppendUint16(tail, e.tag)
		tail = le.AppendUint16(tail, e.typ)
		tail = le.AppendUint32(tail, e.count)
		if e.typ == tShort && e.count == 1 {
			tail = le.AppendUint16(tail, uint16(e.value))
			tail = le.AppendUint16(tail, 0)
		} else {
			tail = le.AppendUint32(tail, e.value)
		}
	}
	tail = le.AppendUint32(tail, 0) // no next IFD
	_, err := w.Write(tail)
	return err
}

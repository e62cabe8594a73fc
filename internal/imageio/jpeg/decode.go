package jpeg

import (
	"fmt"
	"io"
	"math"
)

// Marker codes (T.81 table B.1).
const (
	mSOF0  = 0xc0 // baseline
	mSOF1  = 0xc1 // extended sequential, Huffman
	mSOF2  = 0xc2 // progressive, Huffman
	mSOF3  = 0xc3 // lossless
	mDHT   = 0xc4
	mJPG   = 0xc8
	mDAC   = 0xcc
	mRST0  = 0xd0
	mRST7  = 0xd7
	mSOI   = 0xd8
	mEOI   = 0xd9
	mSOS   = 0xda
	mDQT   = 0xdb
	mDNL   = 0xdc
	mDRI   = 0xdd
	mAPP0  = 0xe0
	mAPP14 = 0xee
	mTEM   = 0x01
)

const (
	maxComponents = 4
	maxBlocksMCU  = 10 // libjpeg's D_MAX_BLOCKS_IN_MCU, as T.81 B.2.3 limits it
)

type component struct {
	id     uint8
	h, v   int // sampling factors
	tq     int // quantisation table
	bw, bh int // blocks across and down, padded to whole MCUs
	// Blocks a single-component scan covers (libjpeg's width_in_blocks,
	// height_in_blocks) and the samples that are image (downsampled_width,
	// downsampled_height).
	wib, hib int
	dw, dh   int
	plane    []uint8   // bw*8 x bh*8 samples after the IDCT
	coef     []int16   // progressive: all coefficients, 64 a block, natural order
	scanned  bool      // some scan has carried this component
	quant    [64]int32 // its quantisation table, as at its first scan
	// scan state
	dcPred       int32
	dcTab, acTab int
}

type decoder struct {
	src       *source
	checkSize func(w, h int) error

	// frame
	width, height int
	nComp         int
	comp          [maxComponents]component
	hmax, vmax    int
	mcusX, mcusY  int
	progressive   bool
	sawSOF        bool
	sawJFIF       bool
	sawAdobe      bool
	adobeXform    int
	allocated     bool

	quant    [4][64]int32 // natural order
	quantSet [4]bool
	huff     [2][4]huffTable // [class: 0 DC, 1 AC][id]
	restart  int             // restart interval in MCUs, 0 for none

	// scan
	bits bitReader
	err  error // sticky end-of-file error from fill
	// insufficient: the scan's data ran out (a marker came early); as in
	// libjpeg, the rest of the restart interval is left zero.
	insufficient bool
	eob          int // progressive end-of-band run
}

func newDecoder(r io.Reader) *decoder { return &decoder{src: newSource(r)} }

func (d *decoder) config() Config {
	return Config{Width: d.width, Height: d.height, Components: d.nComp, Progressive: d.progressive, ColorSpace: d.colorSpace()}
}

// colorSpace is libjpeg's guess (jdapimin.c default_decompress_parms).
func (d *decoder) colorSpace() ColorSpace {
	switch d.nComp {
	case 1:
		return Gray
	case 3:
		switch {
		case d.sawJFIF:
			return YCbCr
		case d.sawAdobe:
			if d.adobeXform == 0 {
				return RGB
			}
			return YCbCr
		case d.comp[0].id == 'R' && d.comp[1].id == 'G' && d.comp[2].id == 'B':
			return RGB
		}
		return YCbCr
	case 4:
		if d.sawAdobe && d.adobeXform != 0 {
			return YCCK
		}
		return CMYK
	}
	return YCbCr
}

// peekMarker skips to the next marker, passing over stray bytes and fill
// bytes as libjpeg does, and returns its code, leaving it unread.
func (d *decoder) peekMarker() (byte, error) {
	s := d.src
	for {
		if !s.ensure(2) {
			return 0, s.readErr()
		}
		if s.buf[s.pos] != 0xff {
			s.pos++
			continue
		}
		switch m := s.buf[s.pos+1]; m {
		case 0xff: // a fill byte
			s.pos++
		case 0x00: // stuffing, not a marker
			s.pos += 2
		default:
			return m, nil
		}
	}
}

// nextMarker reads the next marker.
func (d *decoder) nextMarker() (byte, error) {
	m, err := d.peekMarker()
	if err == nil {
		d.src.pos += 2
	}
	return m, err
}

// segment reads a marker segment's length and returns the payload length.
func (d *decoder) segmentLength(marker byte) (int, error) {
	n, err := d.src.readUint16()
	if err != nil {
		return 0, err
	}
	if n < 2 {
		return 0, FormatError(fmt.Sprintf("marker 0x%02x segment length %d", marker, n))
	}
	return n - 2, nil
}

// readHeaders parses the file up to the frame header (configOnly) or to the
// end, decoding every scan.
func (d *decoder) readHeaders(configOnly bool) error {
	b0, err0 := d.src.readByte()
	b1, err1 := d.src.readByte()
	if err0 != nil || err1 != nil || b0 != 0xff || b1 != mSOI {
		if err1 != nil && b0 == 0xff {
			return io.ErrUnexpectedEOF
		}
		return FormatError("missing SOI marker")
	}
	for {
		marker, err := d.nextMarker()
		if err != nil {
			return err
		}
		switch {
		case marker == mEOI:
			if !d.sawSOF {
				return FormatError("EOI before any frame")
			}
			if configOnly {
				return nil
			}
			if !d.allocated {
				return FormatError("no image data before EOI")
			}
			return nil
		case marker == mSOI:
			return FormatError("second SOI marker")
		case marker == mTEM || (marker >= mRST0 && marker <= mRST7):
			continue // standalone markers; a stray RST is ignored as libjpeg does
		}
		n, err := d.segmentLength(marker)
		if err != nil {
			return err
		}
		switch {
		case marker == mSOF0 || marker == mSOF1 || marker == mSOF2:
			if err := d.readSOF(marker, n); err != nil {
				return err
			}
			if configOnly {
				return nil
			}
		case marker == mSOF3 || (marker >= 0xc5 && marker <= 0xcf && marker != mJPG && marker != mDAC && marker != mDHT):
			return sofUnsupported(marker)
		case marker == mDHT:
			err = d.readDHT(n)
		case marker == mDQT:
			err = d.readDQT(n)
		case marker == mDRI:
			err = d.readDRI(n)
		case marker == mSOS:
			if !d.sawSOF {
				return FormatError("SOS before SOF")
			}
			if configOnly {
				return nil
			}
			err = d.readScan(n)
		case marker == mDNL:
			return UnsupportedError("a DNL marker")
		case marker == mAPP0:
			err = d.readAPP0(n)
		case marker == mAPP14:
			err = d.readAPP14(n)
		default: // other APPn, COM, DAC, JPG and reserved markers
			err = d.src.skip(n)
		}
		if err != nil {
			return err
		}
	}
}

func sofUnsupported(marker byte) error {
	switch marker {
	case 0xc3:
		return UnsupportedError("lossless coding (SOF3)")
	case 0xc5, 0xc6, 0xc7:
		return UnsupportedError(fmt.Sprintf("hierarchical coding (SOF%d)", marker-0xc0))
	}
	return UnsupportedError(fmt.Sprintf("arithmetic coding (SOF%d)", marker-0xc0))
}

func (d *decoder) readAPP0(n int) error {
	if n < 14 { // libjpeg's APP0_DATA_LEN
		return d.src.skip(n)
	}
	var p [14]byte
	if err := d.src.readFull(p[:]); err != nil {
		return err
	}
	if string(p[:5]) == "JFIF\x00" {
		d.sawJFIF = true
	}
	return d.src.skip(n - len(p))
}

func (d *decoder) readAPP14(n int) error {
	if n < 12 { // libjpeg's APP14_DATA_LEN
		return d.src.skip(n)
	}
	var p [12]byte
	if err := d.src.readFull(p[:]); err != nil {
		return err
	}
	if string(p[:5]) == "Adobe" {
		d.sawAdobe = true
		d.adobeXform = int(p[11])
	}
	return d.src.skip(n - len(p))
}

func (d *decoder) readDRI(n int) error {
	if n != 2 {
		return FormatError(fmt.Sprintf("DRI length %d", n+2))
	}
	v, err := d.src.readUint16()
	d.restart = v
	return err
}

func (d *decoder) readDQT(n int) error {
	for n > 0 {
		pt, err := d.src.readByte()
		if err != nil {
			return err
		}
		n--
		pq, tq := pt>>4, int(pt&15)
		if tq > 3 || pq > 1 {
			return FormatError(fmt.Sprintf("DQT table %d precision %d", tq, pq))
		}
		size := 64 << pq
		if n < size {
			return FormatError("DQT segment too short")
		}
		var raw [128]byte
		if err := d.src.readFull(raw[:size]); err != nil {
			return err
		}
		n -= size
		for k := 0; k < 64; k++ {
			v := int32(raw[k])
			if pq == 1 {
				v = int32(raw[2*k])<<8 | int32(raw[2*k+1])
			}
			d.quant[tq][zigzag[k]] = v
		}
		d.quantSet[tq] = true
	}
	return nil
}

func (d *decoder) readDHT(n int) error {
	for n > 0 {
		if n < 17 {
			return FormatError("DHT segment too short")
		}
		var head [17]byte
		if err := d.src.readFull(head[:]); err != nil {
			return err
		}
		n -= 17
		tc, th := head[0]>>4, int(head[0]&15)
		if tc > 1 || th > 3 {
			return FormatError(fmt.Sprintf("DHT class %d id %d", tc, th))
		}
		total := 0
		for _, c := range head[1:] {
			total += int(c)
		}
		if total > 256 || total > n {
			return FormatError("DHT counts exceed the segment")
		}
		var vals [256]byte
		if err := d.src.readFull(vals[:total]); err != nil {
			return err
		}
		n -= total
		var counts [16]byte
		copy(counts[:], head[1:])
		if err := d.huff[tc][th].build(counts, vals[:total], tc == 0); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) readSOF(marker byte, n int) error {
	if d.sawSOF {
		return FormatError("second SOF marker")
	}
	if n < 6 {
		return FormatError("SOF segment too short")
	}
	var p [6 + 3*255]byte
	if n > len(p) {
		return FormatError("SOF segment too long")
	}
	if err := d.src.readFull(p[:n]); err != nil {
		return err
	}
	if p[0] != 8 {
		return UnsupportedError(fmt.Sprintf("%d-bit samples (only 8-bit)", p[0]))
	}
	d.height = int(p[1])<<8 | int(p[2])
	d.width = int(p[3])<<8 | int(p[4])
	d.nComp = int(p[5])
	if d.height == 0 {
		return UnsupportedError("a height set by a DNL marker")
	}
	if d.width == 0 {
		return FormatError("zero image width")
	}
	switch d.nComp {
	case 1, 3, 4:
	default:
		return UnsupportedError(fmt.Sprintf("%d components (1, 3 or 4 are read)", d.nComp))
	}
	if n != 6+3*d.nComp {
		return FormatError(fmt.Sprintf("SOF length %d for %d components", n+2, d.nComp))
	}
	d.progressive = marker == mSOF2
	d.hmax, d.vmax = 1, 1
	for i := 0; i < d.nComp; i++ {
		c := &d.comp[i]
		c.id = p[6+3*i]
		c.h, c.v = int(p[7+3*i]>>4), int(p[7+3*i]&15)
		c.tq = int(p[8+3*i])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return FormatError(fmt.Sprintf("component %d sampling factors %dx%d", c.id, c.h, c.v))
		}
		if c.tq > 3 {
			return FormatError(fmt.Sprintf("component %d quantisation table %d", c.id, c.tq))
		}
		for j := 0; j < i; j++ {
			if d.comp[j].id == c.id {
				return FormatError(fmt.Sprintf("component id %d repeated", c.id))
			}
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	for i := 0; i < d.nComp; i++ {
		c := &d.comp[i]
		if d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return UnsupportedError(fmt.Sprintf("fractional sampling (component %d is %dx%d of %dx%d)", c.id, c.h, c.v, d.hmax, d.vmax))
		}
	}
	d.mcusX = ceilDiv(d.width, 8*d.hmax)
	d.mcusY = ceilDiv(d.height, 8*d.vmax)
	for i := 0; i < d.nComp; i++ {
		c := &d.comp[i]
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.dw, c.dh = ceilDiv(d.width*c.h, d.hmax), ceilDiv(d.height*c.v, d.vmax)
		c.wib, c.hib = ceilDiv(c.dw, 8), ceilDiv(c.dh, 8)
	}
	d.sawSOF = true
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// allocate sizes the sample planes (and, progressive, the coefficients)
// once the frame is known to be within the caller's limit.
func (d *decoder) allocate() error {
	if d.allocated {
		return nil
	}
	if d.checkSize != nil {
		if err := d.checkSize(d.width, d.height); err != nil {
			return err
		}
	}
	// Sizes in int64: 65535 x 65535 overflows a 32-bit int. Coefficients
	// take 2 bytes a sample, and RGB 3 bytes a pixel.
	if need := 3 * int64(d.width) * int64(d.height); need > math.MaxInt/2 {
		return UnsupportedError(fmt.Sprintf("%d x %d pixels, more than this machine can address", d.width, d.height))
	}
	for i := 0; i < d.nComp; i++ {
		c := &d.comp[i]
		if need := 2 * 64 * int64(c.bw) * int64(c.bh); need > math.MaxInt/2 {
			return UnsupportedError(fmt.Sprintf("%d x %d pixels, more than this machine can address", d.width, d.height))
		}
	}
	for i := 0; i < d.nComp; i++ {
		c := &d.comp[i]
		c.plane = make([]uint8, c.bw*8*c.bh*8)
		if d.progressive {
			c.coef = make([]int16, c.bw*c.bh*64)
		}
	}
	d.allocated = true
	return nil
}

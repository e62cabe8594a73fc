package jpeg

import "io"

// lookBits is the Huffman lookahead: codes up to this long decode with one
// table read, as in libjpeg's HUFF_LOOKAHEAD.
const lookBits = 9

// huffTable is a Huffman table (T.81 C and F.2.2.3): a lookahead table for
// short codes and the maxcode/valptr form for the rest.
type huffTable struct {
	defined bool
	// look[code prefix] = length<<8 | symbol, 0 where the code is longer.
	look [1 << lookBits]uint16
	// fast (AC tables) decodes a whole coefficient where its code and its
	// extra bits fit in the lookahead: value<<16 | run<<8 | bits used; 0
	// where not (EOB, ZRL, longer codes).
	fast    [1 << lookBits]int32
	maxcode [18]int32 // largest code of each length, -1 if none; [17] sentinel
	valptr  [17]int32 // index in vals of the first code of each length, minus that code
	vals    [256]uint8
}

// build derives the decoding tables from the DHT counts and symbols,
// refusing tables whose codes overflow their length (as libjpeg's
// jpeg_make_d_derived_tbl does) and DC symbols over 15.
func (t *huffTable) build(counts [16]byte, vals []byte, dc bool) error {
	*t = huffTable{}
	copy(t.vals[:], vals)
	if dc {
		for _, v := range vals {
			if v > 15 {
				return FormatError("DC Huffman symbol over 15")
			}
		}
	}
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		if code+n > 1<<l {
			return FormatError("bad Huffman table")
		}
		if n == 0 {
			t.maxcode[l] = -1
		} else {
			t.valptr[l] = k - code
			if l <= lookBits {
				for i := int32(0); i < n; i++ {
					c := code + i
					shift := lookBits - l
					entry := uint16(l)<<8 | uint16(vals[k+i])
					for j := c << shift; j < (c+1)<<shift; j++ {
						t.look[j] = entry
					}
				}
			}
			code += n
			k += n
			t.maxcode[l] = code - 1
		}
		code <<= 1
	}
	t.maxcode[17] = 0x7fffffff
	if !dc {
		for i, e := range t.look {
			l, rs := int(e>>8), e&0xff
			r, sz := int(rs>>4), int(rs&15)
			if l == 0 || sz == 0 || l+sz > lookBits {
				continue
			}
			x := int32(i>>(lookBits-l-sz)) & (1<<sz - 1)
			if x < 1<<(sz-1) {
				x += -1<<sz + 1
			}
			t.fast[i] = x<<16 | int32(r)<<8 | int32(l+sz)
		}
	}
	t.defined = true
	return nil
}

// bitReader holds entropy-coded bits, the newest in the low end of acc.
type bitReader struct {
	acc       uint64
	n         uint // valid bits in acc
	hitMarker bool // a marker (or the end of the file) stops the data: zeros follow, as in libjpeg
	pad       uint // zero bits appended after the data stopped
}

// exhausted reports whether decoding has used bits past the data.
func (b *bitReader) exhausted() bool { return b.hitMarker && b.n < b.pad }

// fill tops the bit buffer up to more than 56 bits, undoing byte stuffing
// (0xff 0x00) and stopping before a marker, after which zero bits are
// supplied. Running out of file sets d.err.
func (d *decoder) fill() {
	s := d.src
	for d.bits.n <= 56 {
		if d.bits.hitMarker {
			d.bits.acc <<= 8
			d.bits.n += 8
			d.bits.pad = min(d.bits.pad+8, 64)
			continue
		}
		if s.end-s.pos < 2 && !s.ensure(2) {
			if s.end-s.pos == 0 || s.buf[s.pos] == 0xff {
				d.bits.hitMarker = true
				if d.err == nil {
					d.err = unexpectedEOF(s.readErrOrEOF())
				}
				continue
			}
		}
		b := s.buf[s.pos]
		if b != 0xff {
			s.pos++
			d.bits.acc = d.bits.acc<<8 | uint64(b)
			d.bits.n += 8
			continue
		}
		switch s.buf[s.pos+1] {
		case 0x00:
			s.pos += 2
			d.bits.acc = d.bits.acc<<8 | 0xff
			d.bits.n += 8
		case 0xff: // a fill byte: libjpeg reads on through 0xff runs
			s.pos++
		default:
			d.bits.hitMarker = true
		}
	}
}

func (s *source) readErrOrEOF() error {
	if s.err == nil {
		return io.EOF
	}
	return s.err
}

// decodeHuff decodes one symbol.
func (d *decoder) decodeHuff(t *huffTable) (uint8, bool) {
	if d.bits.n < 16 {
		d.fill()
	}
	n := d.bits.n
	e := t.look[(d.bits.acc>>(n-lookBits))&(1<<lookBits-1)]
	if e != 0 {
		d.bits.n = n - uint(e>>8)
		return uint8(e), true
	}
	code := int32(d.bits.acc>>(n-16)) & 0xffff
	for l := lookBits + 1; l <= 16; l++ {
		c := code >> (16 - l)
		if c <= t.maxcode[l] {
			d.bits.n = n - uint(l)
			return t.vals[t.valptr[l]+c], true
		}
	}
	return 0, false
}

// receiveExtend reads s bits (s <= 16) as a signed coefficient difference
// (T.81 F.2.2.1 EXTEND).
func (d *decoder) receiveExtend(s uint8) int32 {
	if s == 0 {
		return 0
	}
	if d.bits.n < uint(s) {
		d.fill()
	}
	d.bits.n -= uint(s)
	x := int32(d.bits.acc>>d.bits.n) & (1<<s - 1)
	if x < 1<<(s-1) {
		x += -1<<s + 1
	}
	return x
}

func (d *decoder) getBits(s uint8) int32 {
	if d.bits.n < uint(s) {
		d.fill()
	}
	d.bits.n -= uint(s)
	return int32(d.bits.acc>>d.bits.n) & (1<<s - 1)
}

func (d *decoder) getBit() bool {
	if d.bits.n == 0 {
		d.fill()
	}
	d.bits.n--
	return d.bits.acc>>d.bits.n&1 != 0
}

package matfile

import (
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
)

// inflater decodes a DEFLATE stream (RFC 1951) read from a section of a
// file. It does what compress/flate does, about twice as fast on the nearly
// incompressible data of network weights, where nearly every symbol is a
// literal: it refills a 64-bit bit buffer eight bytes at a time, decodes
// symbols with two-level tables, and decodes straight into its window, from
// which Read copies.
type inflater struct {
	r        io.ReaderAt
	off, end int64 // next file offset to read; end of the compressed data

	in    []byte
	ip    int
	bits  uint64
	nbits uint
	pad   uint // zero bits added to bits past the end of the input

	out    []byte
	op, rp int // decoded up to op, returned by Read up to rp

	state      int
	final      bool // the block being decoded is the last one
	storedLeft int
	lit, dist  *huffTable
	dyn        [2]huffTable // tables of the current dynamic block
	clen       huffTable
	lens       [maxLit + maxDist]uint8
	err        error
}

const (
	winSize  = 32 << 10
	outSize  = winSize + 512<<10
	inSize   = 256 << 10
	maxMatch = 258
	maxLit   = 288
	maxDist  = 32

	litBits  = 10 // bits of the first-level tables
	distBits = 8
)

// Decoder states.
const (
	stHeader = iota
	stStored
	stHuffman
	stEOF
)

var errCorrupt = errors.New("corrupt deflate data")

// huffTable maps the next bits of the stream to a symbol. An entry holds
// sym<<16 | n, n the code length, or, with bit 0x100 set, the offset<<16 of
// a second-level table and its index bits. A zero entry is an invalid code.
type huffTable struct {
	t     []uint32
	pbits uint
}

// build makes the table of the canonical code with the given lengths.
func (h *huffTable) build(lengths []uint8, pbits uint) error {
	var count [16]int
	maxLen := uint(0)
	for _, l := range lengths {
		count[l]++
		if uint(l) > maxLen {
			maxLen = uint(l)
		}
	}
	count[0] = 0
	left := 1
	for l := 1; l <= 15; l++ {
		left = left<<1 - count[l]
		if left < 0 {
			return errCorrupt // oversubscribed
		}
	}
	var next [16]int
	code := 0
	for l := 1; l <= 15; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	psize := 1 << pbits
	h.pbits = pbits
	if cap(h.t) < psize {
		h.t = make([]uint32, psize, 2*psize)
	}
	h.t = h.t[:psize]
	clear(h.t)
	for sym, l := range lengths {
		if l == 0 {
			continue
		}
		n := uint(l)
		c := next[n]
		next[n]++
		rev := int(bits.Reverse16(uint16(c)) >> (16 - n))
		e := uint32(sym)<<16 | uint32(n)
		if n <= pbits {
			for i := rev; i < psize; i += 1 << n {
				h.t[i] = e
			}
			continue
		}
		p := rev & (psize - 1)
		if h.t[p] == 0 {
			sb := maxLen - pbits
			off := len(h.t)
			h.t = append(h.t, make([]uint32, 1<<sb)...)
			h.t[p] = uint32(off)<<16 | 0x100 | uint32(sb)
		}
		link := h.t[p]
		off, sb := int(link>>16), uint(link&0xff)
		for i := rev >> pbits; i < 1<<sb; i += 1 << (n - pbits) {
			h.t[off+i] = e
		}
	}
	return nil
}

var (
	fixedLit, fixedDist huffTable
	lenBase             = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra            = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase            = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra           = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clenOrder           = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

func init() {
	var l [maxLit]uint8
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	var d [maxDist]uint8
	for i := range d {
		d[i] = 5
	}
	if fixedLit.build(l[:], litBits) != nil || fixedDist.build(d[:], distBits) != nil {
		panic("matfile: fixed Huffman tables")
	}
}

// reset starts decoding the n bytes of deflate data at offset off of r.
func (z *inflater) reset(r io.ReaderAt, off, n int64) {
	if z.out == nil {
		z.out = make([]byte, outSize)
		z.in = make([]byte, 0, inSize)
	}
	*z = inflater{r: r, off: off, end: off + n, in: z.in[:0], out: z.out, dyn: z.dyn, clen: z.clen}
}

// fill reads more input, keeping what is left unread. It reports whether
// there was any.
func (z *inflater) fill() bool {
	if z.off >= z.end {
		return false
	}
	k := copy(z.in[:cap(z.in)], z.in[z.ip:])
	n := int(min(int64(cap(z.in)-k), z.end-z.off))
	got, err := z.r.ReadAt(z.in[k:k+n], z.off)
	z.in = z.in[:k+got]
	z.ip = 0
	z.off += int64(got)
	if got < n {
		// The element's byte count was checked against the file size, so
		// this is an I/O error or a file that shrank.
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		z.err = err
		z.off = z.end
	}
	return got > 0
}

// refill makes nbits at least 56, adding zero bits past the end of the
// input; reading them is found by overran.
func (z *inflater) refill() {
	if z.ip+8 <= len(z.in) {
		z.bits |= binary.LittleEndian.Uint64(z.in[z.ip:]) << z.nbits
		z.ip += int((63 - z.nbits) >> 3)
		z.nbits |= 56
		return
	}
	for z.nbits <= 56 {
		if z.ip >= len(z.in) && !z.fill() {
			z.pad += 8
			z.nbits += 8
			continue
		}
		z.bits |= uint64(z.in[z.ip]) << z.nbits
		z.ip++
		z.nbits += 8
	}
}

// overran reports whether bits past the end of the input were consumed.
func (z *inflater) overran() bool { return z.nbits < z.pad }

func (z *inflater) getBits(n uint) uint32 {
	if z.nbits < n {
		z.refill()
	}
	v := uint32(z.bits & (1<<n - 1))
	z.bits >>= n
	z.nbits -= n
	return v
}

// decodeSym decodes one symbol with h; -1 for an invalid code.
func (z *inflater) decodeSym(h *huffTable) int {
	if z.nbits < 15 {
		z.refill()
	}
	e := h.t[z.bits&(1<<h.pbits-1)]
	if e&0x100 != 0 {
		e = h.t[e>>16+uint32(z.bits>>h.pbits)&(1<<(e&0xff)-1)]
	}
	n := uint(e & 0xff)
	if n == 0 {
		return -1
	}
	z.bits >>= n
	z.nbits -= n
	return int(e >> 16)
}

// Read returns inflated data.
func (z *inflater) Read(p []byte) (int, error) {
	for {
		if z.rp < z.op {
			n := copy(p, z.out[z.rp:z.op])
			z.rp += n
			return n, nil
		}
		if z.err != nil {
			return 0, z.err
		}
		if z.state == stEOF {
			return 0, io.EOF
		}
		if z.op >= len(z.out)-maxMatch {
			copy(z.out, z.out[z.op-winSize:z.op])
			z.op, z.rp = winSize, winSize
		}
		start := z.op
		err := z.step()
		if z.overran() {
			// Whatever went wrong, it was decoding bits past the end.
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			z.op = start // what was decoded from missing input is garbage
			z.err = err
		}
	}
}

// step decodes a block header or some of a block's data.
func (z *inflater) step() error {
	switch z.state {
	case stHeader:
		if z.final {
			z.state = stEOF
			return nil
		}
		h := z.getBits(3)
		z.final = h&1 != 0
		switch h >> 1 {
		case 0:
			z.getBits(z.nbits % 8)
			n := z.getBits(16)
			if nn := z.getBits(16); nn != ^n&0xffff {
				return errCorrupt
			}
			z.storedLeft = int(n)
			z.state = stStored
		case 1:
			z.lit, z.dist = &fixedLit, &fixedDist
			z.state = stHuffman
		case 2:
			if err := z.readDynamic(); err != nil {
				return err
			}
			z.state = stHuffman
		default:
			return errCorrupt
		}
		return nil
	case stStored:
		return z.stored()
	case stHuffman:
		return z.huffman()
	}
	return nil
}

// stored copies a stored block.
func (z *inflater) stored() error {
	limit := len(z.out) - maxMatch
	for z.storedLeft > 0 && z.op < limit {
		if z.nbits >= 8 {
			// Bytes already in the bit buffer come first.
			z.out[z.op] = byte(z.bits)
			z.bits >>= 8
			z.nbits -= 8
			if z.overran() {
				return io.ErrUnexpectedEOF
			}
			z.op++
			z.storedLeft--
			continue
		}
		// The bit buffer is empty: what is left in it beyond nbits are
		// copies of bytes about to be taken directly.
		z.bits = 0
		if z.ip >= len(z.in) && !z.fill() {
			if z.err != nil {
				return z.err
			}
			return io.ErrUnexpectedEOF
		}
		n := copy(z.out[z.op:min(limit, z.op+z.storedLeft)], z.in[z.ip:])
		z.ip += n
		z.op += n
		z.storedLeft -= n
	}
	if z.storedLeft == 0 {
		z.state = stHeader
	}
	return nil
}

// readDynamic reads the code lengths of a dynamic block and builds its
// tables.
func (z *inflater) readDynamic() error {
	nlit := int(z.getBits(5)) + 257
	ndist := int(z.getBits(5)) + 1
	nclen := int(z.getBits(4)) + 4
	if nlit > 286 || ndist > 30 {
		return errCorrupt
	}
	var cl [19]uint8
	for i := range nclen {
		cl[clenOrder[i]] = uint8(z.getBits(3))
	}
	if err := z.clen.build(cl[:], 7); err != nil {
		return err
	}
	lens := z.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		sym := z.decodeSym(&z.clen)
		var rep int
		var val uint8
		switch {
		case sym < 0:
			return errCorrupt
		case sym < 16:
			lens[i] = uint8(sym)
			i++
			continue
		case sym == 16:
			if i == 0 {
				return errCorrupt
			}
			val, rep = lens[i-1], 3+int(z.getBits(2))
		case sym == 17:
			rep = 3 + int(z.getBits(3))
		default:
			rep = 11 + int(z.getBits(7))
		}
		if i+rep > len(lens) {
			return errCorrupt
		}
		for range rep {
			lens[i] = val
			i++
		}
	}
	if z.overran() {
		return io.ErrUnexpectedEOF
	}
	if lens[256] == 0 {
		return errCorrupt // no end-of-block code
	}
	if err := z.dyn[0].build(lens[:nlit], litBits); err != nil {
		return err
	}
	if err := z.dyn[1].build(lens[nlit:], distBits); err != nil {
		return err
	}
	z.lit, z.dist = &z.dyn[0], &z.dyn[1]
	return nil
}

// huffman decodes a Huffman block until its end or until the window is
// full. It is the hot loop: the state lives in locals.
func (z *inflater) huffman() error {
	var (
		out          = z.out
		op           = z.op
		limit        = len(out) - maxMatch
		bb, nb       = z.bits, z.nbits
		in, ip       = z.in, z.ip
		lt, dt       = z.lit.t, z.dist.t
		lmask, dmask = uint64(1)<<litBits - 1, uint64(1)<<distBits - 1
		err          error
	)
	for op < limit {
		if nb < 48 {
			if ip+8 <= len(in) {
				bb |= binary.LittleEndian.Uint64(in[ip:]) << nb
				ip += int((63 - nb) >> 3)
				nb |= 56
			} else {
				z.bits, z.nbits, z.ip = bb, nb, ip
				z.refill()
				bb, nb, in, ip = z.bits, z.nbits, z.in, z.ip
				if z.overran() {
					err = io.ErrUnexpectedEOF
					break
				}
			}
		}
		e := lt[bb&lmask]
		if e&0x100 != 0 {
			e = lt[e>>16+uint32(bb>>litBits)&(1<<(e&0xff)-1)]
		}
		n := uint(e & 0xff)
		if n == 0 {
			err = errCorrupt
			break
		}
		bb >>= n
		nb -= n
		sym := e >> 16
		if sym < 256 {
			out[op] = byte(sym)
			op++
			// A second literal while the bits last (at most 15 each).
			if nb >= 15 {
				e = lt[bb&lmask]
				if e&0x100 == 0 && e>>16 < 256 && e&0xff != 0 {
					n = uint(e & 0xff)
					bb >>= n
					nb -= n
					out[op] = byte(e >> 16)
					op++
				}
			}
			continue
		}
		if sym == 256 {
			z.state = stHeader
			break
		}
		sym -= 257
		if sym >= 29 {
			err = errCorrupt
			break
		}
		x := uint(lenExtra[sym])
		length := int(lenBase[sym]) + int(bb&(1<<x-1))
		bb >>= x
		nb -= x
		e = dt[bb&dmask]
		if e&0x100 != 0 {
			e = dt[e>>16+uint32(bb>>distBits)&(1<<(e&0xff)-1)]
		}
		n = uint(e & 0xff)
		ds := e >> 16
		if n == 0 || ds >= 30 {
			err = errCorrupt
			break
		}
		bb >>= n
		nb -= n
		x = uint(distExtra[ds])
		dist := int(distBase[ds]) + int(bb&(1<<x-1))
		bb >>= x
		nb -= x
		if dist > op {
			err = errCorrupt
			break
		}
		if dist >= length {
			copy(out[op:op+length], out[op-dist:])
		} else {
			for i := range length {
				out[op+i] = out[op-dist+i]
			}
		}
		op += length
	}
	z.op, z.bits, z.nbits, z.in, z.ip = op, bb, nb, in, ip
	return err
}

// trailer reads the four bytes after the end of the deflate data (the
// zlib checksum), once Read has returned io.EOF.
func (z *inflater) trailer() (uint32, error) {
	z.getBits(z.nbits % 8)
	var v uint32
	for range 4 {
		v = v<<8 | z.getBits(8)
	}
	if z.overran() {
		return 0, io.ErrUnexpectedEOF
	}
	return v, nil
}

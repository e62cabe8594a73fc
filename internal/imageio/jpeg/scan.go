package jpeg

import "fmt"

// zigzag[k] is the natural (row-major) position of the k-th coefficient in
// zigzag order (T.81 figure A.6): the anti-diagonals in turn, alternately
// going up and down.
var zigzag [64]int

func init() {
	k := 0
	for s := 0; s <= 14; s++ {
		lo, hi := max(0, s-7), min(s, 7)
		for i := lo; i <= hi; i++ {
			r := i // odd diagonals run down the rows
			if s%2 == 0 {
				r = hi - (i - lo) // even ones run up
			}
			zigzag[k] = r*8 + (s - r)
			k++
		}
	}
}

type scanComp struct {
	c            *component
	dcTab, acTab *huffTable
}

// readScan parses an SOS header and decodes its entropy-coded data.
func (d *decoder) readScan(n int) error {
	if n < 1 {
		return FormatError("SOS segment too short")
	}
	ns, err := d.src.readByte()
	if err != nil {
		return err
	}
	if ns < 1 || ns > maxComponents || n != 4+2*int(ns) {
		return FormatError(fmt.Sprintf("SOS with %d components, length %d", ns, n+2))
	}
	var p [2*maxComponents + 3]byte
	if err := d.src.readFull(p[:2*int(ns)+3]); err != nil {
		return err
	}
	var sc [maxComponents]scanComp
	blocks := 0
	for i := 0; i < int(ns); i++ {
		id, tabs := p[2*i], p[2*i+1]
		ci := -1
		for j := 0; j < d.nComp; j++ {
			if d.comp[j].id == id {
				ci = j
			}
		}
		if ci < 0 {
			return FormatError(fmt.Sprintf("SOS names component %d, not in the frame", id))
		}
		for j := 0; j < i; j++ {
			if sc[j].c == &d.comp[ci] {
				return FormatError(fmt.Sprintf("SOS names component %d twice", id))
			}
		}
		td, ta := int(tabs>>4), int(tabs&15)
		if td > 3 || ta > 3 {
			return FormatError(fmt.Sprintf("component %d Huffman tables %d/%d", id, td, ta))
		}
		sc[i] = scanComp{c: &d.comp[ci], dcTab: &d.huff[0][td], acTab: &d.huff[1][ta]}
		blocks += d.comp[ci].h * d.comp[ci].v
	}
	if ns > 1 && blocks > maxBlocksMCU {
		return FormatError(fmt.Sprintf("%d blocks in an MCU (at most %d)", blocks, maxBlocksMCU))
	}
	ss, se := int(p[2*ns]), int(p[2*ns+1])
	ah, al := uint(p[2*ns+2]>>4), uint(p[2*ns+2]&15)
	if d.progressive {
		if ss > se || se > 63 || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13 || ah > 13 {
			return FormatError(fmt.Sprintf("bad progression Ss=%d Se=%d Ah=%d Al=%d for %d components", ss, se, ah, al, ns))
		}
	} else {
		ss, se, ah, al = 0, 63, 0, 0 // libjpeg only warns about other values in a sequential file
	}
	// Tables must be defined by now (quantisation tables are used at the
	// IDCT, which here follows each sequential block straight away).
	for i := 0; i < int(ns); i++ {
		s := sc[i]
		if !d.progressive || ss == 0 {
			if ah == 0 && !s.dcTab.defined {
				return FormatError(fmt.Sprintf("component %d uses an undefined DC Huffman table", s.c.id))
			}
		}
		if (!d.progressive || ss > 0) && !s.acTab.defined {
			return FormatError(fmt.Sprintf("component %d uses an undefined AC Huffman table", s.c.id))
		}
		if !s.c.scanned && !d.quantSet[s.c.tq] {
			return FormatError(fmt.Sprintf("component %d uses undefined quantisation table %d", s.c.id, s.c.tq))
		}
	}
	if err := d.allocate(); err != nil {
		return err
	}
	for i := 0; i < int(ns); i++ {
		c := sc[i].c
		if !c.scanned { // libjpeg latches the table at the component's first scan
			c.quant = d.quant[c.tq]
			c.scanned = true
		}
		c.dcPred = 0
	}
	return d.decodeScan(sc[:ns], ss, se, ah, al)
}

// decodeScan decodes the MCUs of one scan, handling restart intervals.
func (d *decoder) decodeScan(sc []scanComp, ss, se int, ah, al uint) error {
	d.bits = bitReader{}
	d.eob = 0
	d.err = nil
	d.insufficient = false
	var mcusX, mcusY int
	if len(sc) == 1 {
		mcusX, mcusY = sc[0].c.wib, sc[0].c.hib
	} else {
		mcusX, mcusY = d.mcusX, d.mcusY
	}
	total := mcusX * mcusY
	var seq *seqRows
	if !d.progressive {
		seq = newSeqRows(sc, mcusX, total*len(sc) >= concurrentMinMCUs)
		defer seq.stop()
	}
	left := d.restart
	nextRST := 0
	for mcu := 0; mcu < total; mcu++ {
		if d.restart > 0 {
			if left == 0 {
				if err := d.readRestart(nextRST); err != nil {
					return err
				}
				nextRST = (nextRST + 1) & 7
				left = d.restart
				for i := range sc {
					sc[i].c.dcPred = 0
				}
				d.eob = 0
			}
			left--
		}
		mx, my := mcu%mcusX, mcu/mcusX
		if seq != nil {
			if mx == 0 {
				seq.start()
			}
			for i := range sc {
				c := sc[i].c
				bh, bv := 1, 1
				if len(sc) > 1 {
					bh, bv = c.h, c.v
				}
				for by := 0; by < bv; by++ {
					for bx := 0; bx < bh; bx++ {
						blk := seq.block(i, mx*bh+bx, by)
						*blk = [64]int16{}
						if d.insufficient {
							continue
						}
						if err := d.decodeSequential(&sc[i], blk); err != nil {
							seq.stop()
							return d.firstError(err)
						}
					}
				}
			}
			if mx == mcusX-1 {
				seq.submit(my)
			}
		} else {
			for i := range sc {
				c := sc[i].c
				if len(sc) == 1 {
					if err := d.decodeBlock(&sc[i], mx, my, ss, se, ah, al); err != nil {
						return d.firstError(err)
					}
					continue
				}
				for by := 0; by < c.v; by++ {
					for bx := 0; bx < c.h; bx++ {
						if err := d.decodeBlock(&sc[i], mx*c.h+bx, my*c.v+by, ss, se, ah, al); err != nil {
							return d.firstError(err)
						}
					}
				}
			}
		}
		if d.err != nil {
			seq.stop()
			return d.err
		}
		if d.bits.exhausted() {
			d.insufficient = true
		}
	}
	return nil
}

// firstError prefers running out of file to what the zeros that followed
// it decoded to.
func (d *decoder) firstError(err error) error {
	if d.err != nil {
		return d.err
	}
	return err
}

// readRestart expects a restart marker after the interval's data, dropping
// the final byte's padding bits (and, as libjpeg does, any extraneous bytes
// before the marker). Another marker in its place is left for the marker
// loop and the interval decodes from zero bits, as in libjpeg's
// jpeg_resync_to_restart; an RST marker of another number is taken as the
// expected one.
func (d *decoder) readRestart(n int) error {
	d.bits = bitReader{}
	m, err := d.peekMarker()
	if err != nil {
		return err
	}
	if m < mRST0 || m > mRST7 {
		if m < mSOF0 {
			return FormatError(fmt.Sprintf("expected RST%d marker, found 0x%02x", n, m))
		}
		d.bits.hitMarker = true
		return nil
	}
	d.src.pos += 2
	d.insufficient = false
	return nil
}

// decodeBlock decodes one progressive band of a block.
func (d *decoder) decodeBlock(s *scanComp, bx, by, ss, se int, ah, al uint) error {
	c := s.c
	if d.insufficient {
		return nil
	}
	blk := (*[64]int16)(c.coef[(by*c.bw+bx)*64:][:64])
	switch {
	case ss == 0 && ah == 0:
		t, ok := d.decodeHuff(s.dcTab)
		if !ok {
			return errBadCode(c)
		}
		c.dcPred += d.receiveExtend(t)
		blk[0] = int16(c.dcPred << al)
	case ss == 0:
		if d.getBit() {
			blk[0] |= 1 << al
		}
	case ah == 0:
		return d.decodeACFirst(s, blk, ss, se, al)
	default:
		return d.decodeACRefine(s, blk, ss, se, al)
	}
	return nil
}

func errBadCode(c *component) error {
	return FormatError(fmt.Sprintf("bad Huffman code in component %d", c.id))
}

// decodeSequential decodes a whole block of a sequential scan (T.81 F.2.2).
func (d *decoder) decodeSequential(s *scanComp, blk *[64]int16) error {
	c := s.c
	t, ok := d.decodeHuff(s.dcTab)
	if !ok {
		return errBadCode(c)
	}
	c.dcPred += d.receiveExtend(t)
	blk[0] = int16(c.dcPred)
	ac := s.acTab
	for k := 1; k < 64; k++ {
		if d.bits.n < 32 {
			d.fill()
		}
		if e := ac.fast[(d.bits.acc>>(d.bits.n-lookBits))&(1<<lookBits-1)]; e != 0 {
			k += int(e>>8) & 15
			d.bits.n -= uint(e & 0xff)
			if k > 63 {
				return FormatError(fmt.Sprintf("coefficient run past the block in component %d", c.id))
			}
			blk[zigzag[k]] = int16(e >> 16)
			continue
		}
		rs, ok := d.decodeHuff(ac)
		if !ok {
			return errBadCode(c)
		}
		r, sz := int(rs>>4), rs&15
		if sz == 0 {
			if r != 15 {
				break // EOB
			}
			k += 15 // ZRL: sixteen zeros
			continue
		}
		k += r
		if k > 63 {
			return FormatError(fmt.Sprintf("coefficient run past the block in component %d", c.id))
		}
		blk[zigzag[k]] = int16(d.receiveExtend(sz))
	}
	return nil
}

// decodeACFirst decodes the first pass over a band of AC coefficients
// (T.81 G.1.2.2), with end-of-band runs.
func (d *decoder) decodeACFirst(s *scanComp, blk *[64]int16, ss, se int, al uint) error {
	if d.eob > 0 {
		d.eob--
		return nil
	}
	for k := ss; k <= se; k++ {
		rs, ok := d.decodeHuff(s.acTab)
		if !ok {
			return errBadCode(s.c)
		}
		r, sz := int(rs>>4), rs&15
		if sz == 0 {
			if r < 15 {
				d.eob = 1<<r - 1
				if r > 0 {
					d.eob += int(d.getBits(uint8(r)))
				}
				break
			}
			k += 15
			continue
		}
		k += r
		if k > se {
			return FormatError(fmt.Sprintf("coefficient run past the band in component %d", s.c.id))
		}
		blk[zigzag[k]] = int16(d.receiveExtend(sz) << al)
	}
	return nil
}

// decodeACRefine decodes a refinement pass over a band (T.81 G.1.2.3): one
// correction bit for each coefficient already non-zero, and new coefficients
// of magnitude 1<<al placed among the zeros.
func (d *decoder) decodeACRefine(s *scanComp, blk *[64]int16, ss, se int, al uint) error {
	p1, m1 := int16(1)<<al, int16(-1)<<al
	k := ss
	if d.eob == 0 {
		for ; k <= se; k++ {
			rs, ok := d.decodeHuff(s.acTab)
			if !ok {
				return errBadCode(s.c)
			}
			r, sz := int(rs>>4), rs&15
			var val int16
			if sz != 0 {
				if sz != 1 {
					return FormatError(fmt.Sprintf("refinement coefficient of size %d in component %d", sz, s.c.id))
				}
				val = m1
				if d.getBit() {
					val = p1
				}
			} else if r != 15 {
				d.eob = 1 << r
				if r > 0 {
					d.eob += int(d.getBits(uint8(r)))
				}
				break
			}
			// Pass over r zero coefficients (refining the non-zero ones
			// on the way) and stop at the zero that takes the new value.
			for ; k <= se; k++ {
				z := zigzag[k]
				if blk[z] != 0 {
					d.refine(&blk[z], p1, m1)
				} else {
					if r == 0 {
						break
					}
					r--
				}
			}
			if val != 0 {
				if k > se {
					return FormatError(fmt.Sprintf("refinement run past the band in component %d", s.c.id))
				}
				blk[zigzag[k]] = val
			}
		}
	}
	if d.eob > 0 {
		for ; k <= se; k++ {
			if z := zigzag[k]; blk[z] != 0 {
				d.refine(&blk[z], p1, m1)
			}
		}
		d.eob--
	}
	return nil
}

func (d *decoder) refine(v *int16, p1, m1 int16) {
	if d.getBit() && *v&p1 == 0 {
		if *v >= 0 {
			*v += p1
		} else {
			*v += m1
		}
	}
}

// Package mattest writes little-endian MAT-files of version 5 for tests and
// benchmarks: numeric, char, cell and 1x1 struct arrays, each variable
// optionally zlib-compressed as MATLAB's save -v7 does. Large arrays can be
// generated piecewise, so that a full-size network file is written without
// holding it in memory, and arrays of zeros of gigabytes (zlib bombs) are
// written compressed in milliseconds. The files scipy and the hand-made cases wrote stay
// the authority on the format; this writer only makes variants of them.
package mattest

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/adler32"
	"io"
	"math"
	"strings"
	"sync"
)

// Value is an array to write.
type Value interface {
	header() (class uint32, flags uint32, dims []int)
	// contentSize is the byte size of what follows the array name.
	contentSize() int64
	writeContent(w *writer) error
}

// Var is a named top-level variable.
type Var struct {
	Name  string
	Value Value
}

// Single is a single-precision array. Data holds its values, column-major;
// or, when Data is nil, Gen is called with successive pieces of the array
// and the index of each piece's first value.
type Single struct {
	Dims []int
	Data []float32
	Gen  func(dst []float32, first int)
}

// Double is a double-precision array.
type Double struct {
	Dims []int
	Data []float64
}

// Logical is a logical (uint8) array.
type Logical struct {
	Dims []int
	Data []uint8
}

// Zeros is a numeric array of zeros, of class double or single. Its data
// element holds Numel zero values of 1 byte (miUINT8, as MATLAB stores an
// array of small integers) or, with Uint8 unset, of the class's own size.
// Compressed, the zeros are written as precomputed deflate blocks, so that
// a file declaring gigabytes of them is made in milliseconds; written plain,
// every zero byte is written.
type Zeros struct {
	Dims   []int
	Double bool
	Uint8  bool
}

// Char is a 1xN char array.
type Char string

// Cell is a cell array, its elements column-major.
type Cell struct {
	Dims  []int
	Elems []Value
}

// Struct is a 1x1 struct; Values[i] is field Fields[i].
type Struct struct {
	Fields []string
	Values []Value
}

const (
	miINT8     = 1
	miUINT8    = 2
	miUINT16   = 4
	miINT32    = 5
	miUINT32   = 6
	miSINGLE   = 7
	miDOUBLE   = 9
	miMATRIX   = 14
	miCOMPRESS = 15

	mxCELL   = 1
	mxSTRUCT = 2
	mxCHAR   = 4
	mxDOUBLE = 6
	mxSINGLE = 7
	mxUINT8  = 9

	fieldWidth = 32
)

var le = binary.LittleEndian

func pad8(n int64) int64 { return (n + 7) &^ 7 }

// elemSize is the size of a data element of n bytes, small form included.
func elemSize(n int64) int64 {
	if n > 0 && n <= 4 {
		return 8
	}
	return 8 + pad8(n)
}

func numel(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// writer is where arrays are written: the file, or the deflate stream of a
// compressed variable, which splices in runs of zeros.
type writer struct {
	*bufio.Writer
	z *zlibWriter // nil when writing plain
}

// zeros writes n zero bytes.
func (w *writer) zeros(n int64) error {
	if w.z != nil {
		if err := w.Flush(); err != nil {
			return err
		}
		return w.z.zeros(n)
	}
	var zero [4096]byte
	for n > 0 {
		k := min(n, int64(len(zero)))
		if _, err := w.Write(zero[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func writeTag(w *writer, typ uint32, n int64) {
	var b [8]byte
	le.PutUint32(b[:], typ)
	le.PutUint32(b[4:], uint32(n))
	w.Write(b[:])
}

// writeElem writes a data element, in the small form when it fits.
func writeElem(w *writer, typ uint32, data []byte) {
	n := int64(len(data))
	if n > 0 && n <= 4 {
		var b [8]byte
		le.PutUint32(b[:], uint32(n)<<16|typ)
		copy(b[4:], data)
		w.Write(b[:])
		return
	}
	writeTag(w, typ, n)
	w.Write(data)
	writePad(w, n)
}

func writePad(w *writer, n int64) {
	var zero [8]byte
	w.Write(zero[:pad8(n)-n])
}

// arraySize is the size of the miMATRIX element of v named name.
func arraySize(v Value, name string) int64 {
	_, _, dims := v.header()
	return 8 + 16 + elemSize(int64(4*len(dims))) + elemSize(int64(len(name))) + v.contentSize()
}

func writeArray(w *writer, v Value, name string) error {
	class, flags, dims := v.header()
	if n := arraySize(v, name) - 8; n > math.MaxUint32 {
		return fmt.Errorf("mattest: array %q of %d bytes does not fit a MAT-file tag", name, n)
	}
	writeTag(w, miMATRIX, arraySize(v, name)-8)
	writeTag(w, miUINT32, 8)
	var b [8]byte
	le.PutUint32(b[:], class|flags)
	w.Write(b[:])
	d := make([]byte, 4*len(dims))
	for i, v := range dims {
		le.PutUint32(d[4*i:], uint32(v))
	}
	writeElem(w, miINT32, d)
	writeElem(w, miINT8, []byte(name))
	return v.writeContent(w)
}

func (s *Single) header() (uint32, uint32, []int) { return mxSINGLE, 0, s.Dims }
func (s *Single) contentSize() int64              { return elemSize(int64(4 * numel(s.Dims))) }

func (s *Single) writeContent(w *writer) error {
	n := numel(s.Dims)
	if n == 0 {
		writeElem(w, miSINGLE, nil)
		return nil
	}
	if s.Data != nil {
		if len(s.Data) != n {
			return errors.New("mattest: single data does not match its dims")
		}
	} else if s.Gen == nil {
		return errors.New("mattest: single array without data")
	}
	if n == 1 { // the small element form, which contentSize counts
		v := make([]float32, 1)
		if s.Data != nil {
			v[0] = s.Data[0]
		} else {
			s.Gen(v, 0)
		}
		writeElem(w, miSINGLE, le.AppendUint32(nil, math.Float32bits(v[0])))
		return nil
	}
	writeTag(w, miSINGLE, int64(4*n))
	const piece = 1 << 16
	buf := make([]float32, min(n, piece))
	raw := make([]byte, 4*len(buf))
	for first := 0; first < n; first += len(buf) {
		p := buf[:min(len(buf), n-first)]
		if s.Data != nil {
			p = s.Data[first : first+len(p)]
		} else {
			s.Gen(p, first)
		}
		for i, v := range p {
			le.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(raw[:4*len(p)]); err != nil {
			return err
		}
	}
	writePad(w, int64(4*n))
	return nil
}

func (z *Zeros) header() (uint32, uint32, []int) {
	if z.Double {
		return mxDOUBLE, 0, z.Dims
	}
	return mxSINGLE, 0, z.Dims
}

// stored is the data type and size of one stored value.
func (z *Zeros) stored() (uint32, int64) {
	switch {
	case z.Uint8:
		return miUINT8, 1
	case z.Double:
		return miDOUBLE, 8
	}
	return miSINGLE, 4
}

func (z *Zeros) contentSize() int64 {
	_, size := z.stored()
	return elemSize(size * int64(numel(z.Dims)))
}

func (z *Zeros) writeContent(w *writer) error {
	typ, size := z.stored()
	n := size * int64(numel(z.Dims))
	if n <= 4 {
		writeElem(w, typ, make([]byte, n))
		return nil
	}
	writeTag(w, typ, n)
	if err := w.zeros(n); err != nil {
		return err
	}
	writePad(w, n)
	return nil
}

func (d *Double) header() (uint32, uint32, []int) { return mxDOUBLE, 0, d.Dims }
func (d *Double) contentSize() int64              { return elemSize(int64(8 * numel(d.Dims))) }

func (d *Double) writeContent(w *writer) error {
	if len(d.Data) != numel(d.Dims) {
		return errors.New("mattest: double data does not match its dims")
	}
	b := make([]byte, 0, 8*len(d.Data))
	for _, v := range d.Data {
		b = le.AppendUint64(b, math.Float64bits(v))
	}
	writeElem(w, miDOUBLE, b)
	return nil
}

func (l *Logical) header() (uint32, uint32, []int) { return mxUINT8, 0x0200, l.Dims }
func (l *Logical) contentSize() int64              { return elemSize(int64(numel(l.Dims))) }

func (l *Logical) writeContent(w *writer) error {
	if len(l.Data) != numel(l.Dims) {
		return errors.New("mattest: logical data does not match its dims")
	}
	writeElem(w, miUINT8, l.Data)
	return nil
}

func (c Char) header() (uint32, uint32, []int) { return mxCHAR, 0, []int{1, len(c)} }
func (c Char) contentSize() int64              { return elemSize(int64(2 * len(c))) }

func (c Char) writeContent(w *writer) error {
	b := make([]byte, 0, 2*len(c))
	for i := 0; i < len(c); i++ {
		b = le.AppendUint16(b, uint16(c[i]))
	}
	writeElem(w, miUINT16, b)
	return nil
}

func (c *Cell) header() (uint32, uint32, []int) { return mxCELL, 0, c.Dims }

func (c *Cell) contentSize() int64 {
	var n int64
	for _, e := range c.Elems {
		n += arraySize(e, "")
	}
	return n
}

func (c *Cell) writeContent(w *writer) error {
	if len(c.Elems) != numel(c.Dims) {
		return errors.New("mattest: cell elements do not match its dims")
	}
	for _, e := range c.Elems {
		if err := writeArray(w, e, ""); err != nil {
			return err
		}
	}
	return nil
}

func (s *Struct) header() (uint32, uint32, []int) { return mxSTRUCT, 0, []int{1, 1} }

func (s *Struct) contentSize() int64 {
	n := 8 + elemSize(int64(fieldWidth*len(s.Fields)))
	for _, v := range s.Values {
		n += arraySize(v, "")
	}
	return n
}

func (s *Struct) writeContent(w *writer) error {
	if len(s.Fields) != len(s.Values) {
		return errors.New("mattest: struct fields do not match its values")
	}
	writeElem(w, miINT32, le.AppendUint32(nil, fieldWidth))
	names := make([]byte, fieldWidth*len(s.Fields))
	for i, f := range s.Fields {
		if len(f) >= fieldWidth || strings.IndexByte(f, 0) >= 0 {
			return errors.New("mattest: bad field name " + f)
		}
		copy(names[i*fieldWidth:], f)
	}
	writeElem(w, miINT8, names)
	for _, v := range s.Values {
		if err := writeArray(w, v, ""); err != nil {
			return err
		}
	}
	return nil
}

// Options say how to write a file.
type Options struct {
	// Compress stores each variable zlib-compressed at Level (0 means
	// zlib's default level).
	Compress bool
	Level    int
}

// Write writes a MAT-file holding vars to w. Compressed variables need w to
// seek back and fill in their byte counts.
func Write(w io.WriteSeeker, opt Options, vars ...Var) error {
	bw := &writer{Writer: bufio.NewWriterSize(w, 1<<16)}
	text := "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Thu Nov 26 12:00:00 2026 (mattest)"
	h := make([]byte, 128)
	copy(h, text+strings.Repeat(" ", 116-len(text)))
	le.PutUint16(h[124:], 0x0100)
	copy(h[126:], "IM")
	bw.Write(h)
	pos := int64(128)
	for _, v := range vars {
		if !opt.Compress {
			if err := writeArray(bw, v.Value, v.Name); err != nil {
				return err
			}
			pos += arraySize(v.Value, v.Name)
			continue
		}
		writeTag(bw, miCOMPRESS, 0) // byte count filled in below
		if err := bw.Flush(); err != nil {
			return err
		}
		cw := &countWriter{w: w}
		level := opt.Level
		if level == 0 {
			level = flate.DefaultCompression
		}
		zw, err := newZlibWriter(cw, level)
		if err != nil {
			return err
		}
		zb := &writer{Writer: bufio.NewWriterSize(zw, 1<<16), z: zw}
		if err := writeArray(zb, v.Value, v.Name); err != nil {
			return err
		}
		if err := zb.Flush(); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		if cw.n > math.MaxUint32 {
			return fmt.Errorf("mattest: compressed variable %q of %d bytes does not fit a MAT-file tag", v.Name, cw.n)
		}
		if _, err := w.Seek(pos+4, io.SeekStart); err != nil {
			return err
		}
		if _, err := w.Write(le.AppendUint32(nil, uint32(cw.n))); err != nil {
			return err
		}
		pos += 8 + cw.n
		if _, err := w.Seek(pos, io.SeekStart); err != nil {
			return err
		}
		bw.Reset(w)
	}
	return bw.Flush()
}

// zlibWriter writes a zlib stream (RFC 1950) as a chain of byte-aligned
// deflate segments, each one referring only to its own data, so that runs of
// zeros can be spliced in as copies of one precomputed segment.
type zlibWriter struct {
	w    io.Writer
	fw   *flate.Writer
	sum  hash.Hash32
	head bool // the zlib header was written
}

func newZlibWriter(w io.Writer, level int) (*zlibWriter, error) {
	fw, err := flate.NewWriter(w, level)
	if err != nil {
		return nil, err
	}
	return &zlibWriter{w: w, fw: fw, sum: adler32.New()}, nil
}

func (z *zlibWriter) header() error {
	if z.head {
		return nil
	}
	z.head = true
	_, err := z.w.Write([]byte{0x78, 0x9c}) // deflate, 32 KiB window, default level
	return err
}

func (z *zlibWriter) Write(p []byte) (int, error) {
	if err := z.header(); err != nil {
		return 0, err
	}
	z.sum.Write(p)
	return z.fw.Write(p)
}

// zeroRun is a deflate segment of zeroRunLen zero bytes, ending with a sync
// flush: non-final blocks, byte-aligned, copies reaching back only into the
// segment itself (it starts with a literal zero).
const zeroRunLen = 16 << 20

var zeroRun = sync.OnceValue(func() []byte {
	return deflateZeros(zeroRunLen)
})

func deflateZeros(n int64) []byte {
	var b countBuffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	zero := make([]byte, min(n, 1<<20))
	for left := n; left > 0; {
		k := min(left, int64(len(zero)))
		fw.Write(zero[:k])
		left -= k
	}
	fw.Flush()
	return b.b
}

// zeros appends n zero bytes to the stream.
func (z *zlibWriter) zeros(n int64) error {
	if err := z.header(); err != nil {
		return err
	}
	// Close the segment written so far at a byte boundary; what follows
	// starts a new one, with no copies from before the zeros.
	if err := z.fw.Flush(); err != nil {
		return err
	}
	for left := n; left > 0; {
		seg := zeroRun()
		if left < zeroRunLen {
			seg = deflateZeros(left)
		}
		if _, err := z.w.Write(seg); err != nil {
			return err
		}
		left -= min(left, zeroRunLen)
	}
	z.fw.Reset(z.w)
	// Adler-32 after n zeros: the byte sum a is unchanged and b, the sum of
	// the running a, grows by n*a.
	st, _ := z.sum.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	s := binary.BigEndian.Uint32(st[len(st)-4:])
	a, b := uint64(s&0xffff), uint64(s>>16)
	b = (b + uint64(n%65521)*a) % 65521
	binary.BigEndian.PutUint32(st[len(st)-4:], uint32(b<<16|a))
	return z.sum.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(st)
}

// Close ends the deflate stream and writes the checksum.
func (z *zlibWriter) Close() error {
	if err := z.header(); err != nil {
		return err
	}
	if err := z.fw.Close(); err != nil {
		return err
	}
	_, err := z.w.Write(binary.BigEndian.AppendUint32(nil, z.sum.Sum32()))
	return err
}

type countBuffer struct{ b []byte }

func (c *countBuffer) Write(p []byte) (int, error) {
	c.b = append(c.b, p...)
	return len(p), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Buffer is an in-memory io.WriteSeeker.
type Buffer struct {
	b   []byte
	pos int
}

// Bytes returns what was written.
func (b *Buffer) Bytes() []byte { return b.b }

func (b *Buffer) Write(p []byte) (int, error) {
	if end := b.pos + len(p); end > len(b.b) {
		b.b = append(b.b, make([]byte, end-len(b.b))...)
	}
	copy(b.b[b.pos:], p)
	b.pos += len(p)
	return len(p), nil
}

func (b *Buffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += int64(b.pos)
	case io.SeekEnd:
		off += int64(len(b.b))
	}
	if off < 0 {
		return 0, errors.New("mattest: negative seek")
	}
	b.pos = int(off)
	return off, nil
}

// Package matfile reads MATLAB MAT-files of version 5, the format written by
// MATLAB's save -v6 and -v7 (and by scipy.io.savemat).
//
// The reader streams: Reader.Next yields each variable as an Array whose
// header (class, dims, name, struct fields) has been read but whose data has
// not. The caller then reads the data, walks the children of a cell or
// struct one at a time with Array.Next, or skips what it does not need. A
// skipped variable is passed over by its byte count without being read or
// inflated, so a caller can take a few arrays out of a large file cheaply.
//
// Arrays are column-major, as in MATLAB: element (i, j, k) of an array with
// Dims (d0, d1, d2) is at i + d0*j + d0*d1*k in its data.
//
// Sizes read from the file are checked against the bytes that remain in the
// enclosing element before anything is allocated from them; for compressed
// elements that bound is the declared inflated size, itself bounded by the
// highest ratio zlib can reach (1032:1), and beyond 16 MB the data is
// allocated as it is inflated, so that a stream that lies about its size
// costs what it holds, not what it declares. A genuine zlib bomb still
// inflates to its size: callers bound what they read by what they expect
// (Array.Numel is known before the data). A variable left unread is not
// inflated, and so its zlib checksum is not checked; Reader.Verify reads
// every variable to its end and checks them.
//
// Errors are *FormatError values naming the offset and the path of the array
// inside its variable (layers{12}.weights{1}); truncated input gives errors
// wrapping io.ErrUnexpectedEOF.
package matfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// Class is the MATLAB class of an array.
type Class uint8

// MATLAB array classes (mxCLASS values).
const (
	ClassCell     Class = 1
	ClassStruct   Class = 2
	ClassObject   Class = 3
	ClassChar     Class = 4
	ClassSparse   Class = 5
	ClassDouble   Class = 6
	ClassSingle   Class = 7
	ClassInt8     Class = 8
	ClassUint8    Class = 9
	ClassInt16    Class = 10
	ClassUint16   Class = 11
	ClassInt32    Class = 12
	ClassUint32   Class = 13
	ClassInt64    Class = 14
	ClassUint64   Class = 15
	ClassFunction Class = 16
	ClassOpaque   Class = 17
)

var classNames = [...]string{
	ClassCell: "cell", ClassStruct: "struct", ClassObject: "object", ClassChar: "char",
	ClassSparse: "sparse", ClassDouble: "double", ClassSingle: "single",
	ClassInt8: "int8", ClassUint8: "uint8", ClassInt16: "int16", ClassUint16: "uint16",
	ClassInt32: "int32", ClassUint32: "uint32", ClassInt64: "int64", ClassUint64: "uint64",
	ClassFunction: "function_handle", ClassOpaque: "opaque",
}

func (c Class) String() string {
	if int(c) < len(classNames) && classNames[c] != "" {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Numeric reports whether c is one of the numeric classes double..uint64.
func (c Class) Numeric() bool { return c >= ClassDouble && c <= ClassUint64 }

// Data element types (miTYPE values).
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
	miUTF8       = 16
	miUTF16      = 17
	miUTF32      = 18
)

// miSize is the byte size of one value of a numeric or character data type,
// 0 for the others.
func miSize(t uint32) int {
	switch t {
	case miINT8, miUINT8, miUTF8:
		return 1
	case miINT16, miUINT16, miUTF16:
		return 2
	case miINT32, miUINT32, miSINGLE, miUTF32:
		return 4
	case miDOUBLE, miINT64, miUINT64:
		return 8
	}
	return 0
}

func miName(t uint32) string {
	switch t {
	case miINT8:
		return "miINT8"
	case miUINT8:
		return "miUINT8"
	case miINT16:
		return "miINT16"
	case miUINT16:
		return "miUINT16"
	case miINT32:
		return "miINT32"
	case miUINT32:
		return "miUINT32"
	case miSINGLE:
		return "miSINGLE"
	case miDOUBLE:
		return "miDOUBLE"
	case miINT64:
		return "miINT64"
	case miUINT64:
		return "miUINT64"
	case miMATRIX:
		return "miMATRIX"
	case miCOMPRESSED:
		return "miCOMPRESSED"
	case miUTF8:
		return "miUTF8"
	case miUTF16:
		return "miUTF16"
	case miUTF32:
		return "miUTF32"
	}
	return fmt.Sprintf("type %d", t)
}

const headerSize = 128

// maxInflateRatio bounds how many bytes a zlib stream can inflate to per
// compressed byte (deflate's best case is 258 bytes per 2 bits, 1032:1).
const maxInflateRatio = 1032

// Reader reads the variables of a MAT-file one after the other.
type Reader struct {
	r     io.ReaderAt
	size  int64
	order binary.ByteOrder
	next  int64   // file offset of the next top-level element
	cur   *stream // stream of the variable last returned by Next
	// z serves one compressed variable after the other.
	z zsource
}

// NewReader reads the 128-byte header of the MAT-file in r, which holds size
// bytes.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	var h [headerSize]byte
	n, err := r.ReadAt(h[:min(size, headerSize)], 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == min(size, headerSize)) {
		return nil, &FormatError{Inflated: -1, Msg: "reading the header", Err: err}
	}
	head := h[:n]
	if bytes.HasPrefix(head, []byte("MATLAB 7.3")) {
		return nil, &FormatError{Inflated: -1, Err: ErrHDF5}
	}
	if n < headerSize {
		return nil, &FormatError{Inflated: -1, Msg: fmt.Sprintf("file has %d bytes, less than a 128-byte MAT-file header", n), Err: io.ErrUnexpectedEOF}
	}
	var order binary.ByteOrder
	switch string(h[126:128]) {
	case "IM":
		order = binary.LittleEndian
	case "MI":
		order = binary.BigEndian
	default:
		return nil, &FormatError{Offset: 126, Inflated: -1, Err: ErrNotMAT}
	}
	switch v := order.Uint16(h[124:126]); v {
	case 0x0100:
	case 0x0200:
		return nil, &FormatError{Offset: 124, Inflated: -1, Err: ErrHDF5}
	default:
		return nil, &FormatError{Offset: 124, Inflated: -1, Msg: fmt.Sprintf("MAT-file version 0x%04x", v), Err: ErrNotMAT}
	}
	return &Reader{r: r, size: size, order: order, next: headerSize}, nil
}

// Next returns the next variable, with its header read, or io.EOF after the
// last one. Whatever was not read of the previous variable is skipped
// without being read; its Arrays may no longer be used.
func (r *Reader) Next() (*Array, error) {
	return r.next1(false)
}

func (r *Reader) next1(verify bool) (*Array, error) {
	if r.cur != nil {
		r.cur.close()
		r.cur = nil
	}
	if r.next >= r.size {
		return nil, io.EOF
	}
	off := r.next
	ferr := func(msg string, err error) error {
		r.next = r.size // a broken tag leaves nothing to resynchronise on
		return &FormatError{Offset: off, Inflated: -1, Msg: msg, Err: err}
	}
	if r.size-off < 8 {
		return nil, ferr(fmt.Sprintf("%d bytes after the last element, too few for a tag", r.size-off), io.ErrUnexpectedEOF)
	}
	var tag [8]byte
	if _, err := r.r.ReadAt(tag[:], off); err != nil {
		return nil, ferr("reading a tag", noEOF(err))
	}
	typ, n := r.order.Uint32(tag[:4]), int64(r.order.Uint32(tag[4:]))
	if typ>>16 != 0 {
		return nil, ferr(fmt.Sprintf("top-level element is a small data element (%s), want miMATRIX or miCOMPRESSED", miName(typ&0xffff)), nil)
	}
	if left := r.size - off - 8; n > left {
		return nil, ferr(fmt.Sprintf("%s element of %d bytes extends past the end of the file (%d bytes left)", miName(typ), n, left), io.ErrUnexpectedEOF)
	}
	var s *stream
	switch typ {
	case miMATRIX:
		r.next = min(off+8+align8(n), r.size)
		s = newPlainStream(r.r, off, 8+n, r.order)
	case miCOMPRESSED:
		r.next = off + 8 + n
		var err error
		s, err = newZlibStream(r.r, off, n, r.order, &r.z, verify)
		if err != nil {
			return nil, err
		}
	default:
		return nil, ferr(fmt.Sprintf("top-level element of %s, want miMATRIX or miCOMPRESSED", miName(typ)), nil)
	}
	r.cur = s
	return s.root()
}

// Verify reads every remaining variable to its end without decoding its
// data, checking the zlib checksum (Adler-32) of each compressed one. It
// finds damage anywhere in a compressed variable, which a reader that stops
// early cannot, at the cost of inflating all of it. A plain variable has no
// checksum: only its tag is checked.
func (r *Reader) Verify() error {
	for {
		if _, err := r.next1(true); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := r.cur.finish(); err != nil {
			return err
		}
	}
}

// File is a MAT-file opened by Open.
type File struct {
	*Reader
	f *os.File
}

// Open opens the named MAT-file and reads its header. Errors from the file
// system are returned as they come (*fs.PathError).
func Open(name string) (*File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := NewReader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{Reader: r, f: f}, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

func align8(n int64) int64 { return (n + 7) &^ 7 }

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

package matfile

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf16"
	"unsafe"
)

type number interface {
	~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

// nativeOrder is the machine's byte order: data stored in it in the type of
// the destination is read straight into the destination's memory.
var nativeOrder binary.ByteOrder = func() binary.ByteOrder {
	x := uint16(1)
	if *(*byte)(unsafe.Pointer(&x)) == 1 {
		return binary.LittleEndian
	}
	return binary.BigEndian
}()

// storedAs reports whether values of type typ have exactly T's layout.
func storedAs[T number](typ uint32) bool {
	var z T
	switch any(z).(type) {
	case float32:
		return typ == miSINGLE
	case float64:
		return typ == miDOUBLE
	case int8:
		return typ == miINT8
	case uint8:
		return typ == miUINT8
	case int16:
		return typ == miINT16
	case uint16:
		return typ == miUINT16
	case int32:
		return typ == miINT32
	case uint32:
		return typ == miUINT32
	case int64:
		return typ == miINT64
	case uint64:
		return typ == miUINT64
	}
	return false
}

// readNumbers reads the data of element t into dst (len(dst) values,
// already checked against t.n), converting from the stored type.
func readNumbers[T number](s *stream, dst []T, t *tag, path string) error {
	if len(dst) == 0 {
		return nil
	}
	if t.inline != nil {
		decodeInto(dst, t.inline, t.typ, s.order)
		return nil
	}
	if s.order == nativeOrder && storedAs[T](t.typ) {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)*int(unsafe.Sizeof(dst[0])))
		if err := s.read(raw); err != nil {
			return s.errorAt(t.pos, path, fmt.Sprintf("reading %d bytes of %s data", t.n, miName(t.typ)), err)
		}
		return nil
	}
	size := miSize(t.typ)
	if cap(s.scratch) < bufSize {
		s.scratch = make([]byte, bufSize)
	}
	buf := s.scratch[:cap(s.scratch)]
	for len(dst) > 0 {
		k := min(len(dst), len(buf)/size)
		if err := s.read(buf[:k*size]); err != nil {
			return s.errorAt(t.pos, path, fmt.Sprintf("reading %d bytes of %s data", t.n, miName(t.typ)), err)
		}
		decodeInto(dst[:k], buf[:k*size], t.typ, s.order)
		dst = dst[k:]
	}
	return nil
}

// decodeInto converts len(dst) values of type typ from b.
func decodeInto[T number](dst []T, b []byte, typ uint32, o binary.ByteOrder) {
	switch typ {
	case miINT8:
		for i := range dst {
			dst[i] = T(int8(b[i]))
		}
	case miUINT8:
		for i := range dst {
			dst[i] = T(b[i])
		}
	case miINT16:
		for i := range dst {
			dst[i] = T(int16(o.Uint16(b[2*i:])))
		}
	case miUINT16:
		for i := range dst {
			dst[i] = T(o.Uint16(b[2*i:]))
		}
	case miINT32:
		for i := range dst {
			dst[i] = T(int32(o.Uint32(b[4*i:])))
		}
	case miUINT32:
		for i := range dst {
			dst[i] = T(o.Uint32(b[4*i:]))
		}
	case miINT64:
		for i := range dst {
			dst[i] = T(int64(o.Uint64(b[8*i:])))
		}
	case miUINT64:
		for i := range dst {
			dst[i] = T(o.Uint64(b[8*i:]))
		}
	case miSINGLE:
		for i := range dst {
			dst[i] = T(math.Float32frombits(o.Uint32(b[4*i:])))
		}
	case miDOUBLE:
		for i := range dst {
			dst[i] = T(math.Float64frombits(o.Uint64(b[8*i:])))
		}
	default:
		// dataTag lets only the types above through for numeric arrays.
		panic("matfile: decodeInto of " + miName(typ))
	}
}

// readText reads the character data of element t.
func readText(s *stream, t *tag, end int64, path string) (string, error) {
	b, err := s.readData(t, end, path)
	if err != nil {
		return "", err
	}
	switch t.typ {
	case miUTF8:
		return string(b), nil
	case miINT8, miUINT8:
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), nil
	case miUINT16, miUTF16, miINT16:
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = s.order.Uint16(b[2*i:])
		}
		return string(utf16.Decode(u)), nil
	case miUTF32, miUINT32, miINT32:
		r := make([]rune, len(b)/4)
		for i := range r {
			r[i] = rune(s.order.Uint32(b[4*i:]))
		}
		return string(r), nil
	}
	return "", s.errorAt(t.pos, path, fmt.Sprintf("%s data in a char array", miName(t.typ)), nil)
}

package matfile

import (
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// maxDepth bounds the nesting of cells and structs, so that a hostile file
// cannot make the stack of open arrays (or a recursive walk) grow without end.
const maxDepth = 256

// Array is an array whose header has been read and whose data is read on
// demand, in file order: its data (numeric and char arrays) or its children
// one after the other (cells and structs). Reading an array, or moving past
// it with its parent's Next, ends the use of its earlier siblings and their
// children.
type Array struct {
	// Name is the variable name of a top-level array, empty inside cells
	// and structs.
	Name string
	// Class is the MATLAB class; logical arrays have class uint8 (or double)
	// and Logical set.
	Class   Class
	Logical bool
	Complex bool
	Global  bool
	// Dims are the dimensions, at least two of them.
	Dims []int
	// Fields are the field names of a struct.
	Fields []string
	// Field is the name of the field this array is the value of, when its
	// parent is a struct, and Index its (0-based, column-major) element
	// index in its parent cell or struct.
	Field string
	Index int

	s     *stream
	path  string
	depth int   // index in s.stack
	end   int64 // stream position after the array's element
	numel int
	nkids int  // children of a cell or struct
	kid   int  // children read so far
	done  bool // data read or array skipped
	bare  bool // an empty miMATRIX element: [] with no header and no data
}

// Path names the array inside its variable, like layers{12}.weights{1}.
func (a *Array) Path() string { return a.path }

// Numel is the number of elements, the product of Dims. It has been checked
// to fit the bytes left in the array's element at one byte an element; in a
// compressed element that bound is deflate's best ratio times the
// compressed size, so a caller that allocates from Numel must bound it by
// what it expects the array to be.
func (a *Array) Numel() int { return a.numel }

// DimsString formats the dimensions as MATLAB does, like 3x3x64x128.
func (a *Array) DimsString() string { return dimsString(a.Dims) }

func dimsString(d []int) string {
	var b strings.Builder
	for i, v := range d {
		if i > 0 {
			b.WriteByte('x')
		}
		b.WriteString(strconv.Itoa(v))
	}
	return b.String()
}

// parseArray reads the header of the array whose miMATRIX body spans
// [s.pos, end) and pushes it on the stack of open arrays.
func (s *stream) parseArray(start, end int64, parent *Array, index int) (*Array, error) {
	a := &Array{s: s, end: end, Index: index, depth: len(s.stack)}
	if parent != nil {
		a.Field, a.path = childPath(parent, index)
	}
	if a.depth >= maxDepth {
		return nil, s.errorAt(start, a.path, fmt.Sprintf("arrays nested more than %d deep", maxDepth), nil)
	}
	s.stack = append(s.stack, a)
	if start == end {
		// An empty miMATRIX element stands for [].
		a.Class, a.Dims, a.bare = ClassDouble, []int{0, 0}, true
		return a, nil
	}
	if err := s.readArrayFlags(a, end); err != nil {
		return nil, err
	}
	numel, overflow, err := s.readDims(a, end)
	if err != nil {
		return nil, err
	}
	if err := s.readArrayName(a, end); err != nil {
		return nil, err
	}
	if parent == nil {
		a.path = a.Name
	}
	if err := s.countElements(a, end, numel, overflow); err != nil {
		return nil, err
	}
	return a, nil
}

// childPath is the field name (for a struct's child) and the MATLAB
// expression naming the child at index of parent: c{3}, s.f or s(2).f.
func childPath(parent *Array, index int) (field, path string) {
	switch parent.Class {
	case ClassCell:
		return "", parent.path + "{" + strconv.Itoa(index+1) + "}"
	case ClassStruct:
		nf := len(parent.Fields)
		field = parent.Fields[index%nf]
		if parent.numel == 1 {
			return field, parent.path + "." + field
		}
		return field, parent.path + "(" + strconv.Itoa(index/nf+1) + ")." + field
	}
	return "", ""
}

// readArrayFlags reads the array flags subelement: class, complex, global
// and logical.
func (s *stream) readArrayFlags(a *Array, end int64) error {
	var t tag
	if err := s.readTag(&t, end, a.path); err != nil {
		return err
	}
	if t.typ != miUINT32 || t.n != 8 {
		return s.errorAt(t.pos, a.path, fmt.Sprintf("array flags are a %s element of %d bytes, want miUINT32 of 8", miName(t.typ), t.n), nil)
	}
	b, err := s.readData(&t, end, a.path)
	if err != nil {
		return err
	}
	flags := s.order.Uint32(b)
	a.Class = Class(flags & 0xff)
	a.Complex, a.Global, a.Logical = flags&0x0800 != 0, flags&0x0400 != 0, flags&0x0200 != 0
	return nil
}

// readDims reads the dimensions subelement into a.Dims (at least two) and
// returns their product, with overflow set when it passes 2^64.
func (s *stream) readDims(a *Array, end int64) (numel uint64, overflow bool, err error) {
	var t tag
	if err := s.readTag(&t, end, a.path); err != nil {
		return 0, false, err
	}
	if t.typ != miINT32 || t.n < 4 || t.n%4 != 0 {
		return 0, false, s.errorAt(t.pos, a.path, fmt.Sprintf("dimensions are a %s element of %d bytes, want miINT32", miName(t.typ), t.n), nil)
	}
	b, err := s.readData(&t, end, a.path)
	if err != nil {
		return 0, false, err
	}
	a.Dims = make([]int, len(b)/4)
	numel = 1
	for i := range a.Dims {
		d := int32(s.order.Uint32(b[4*i:]))
		if d < 0 {
			return 0, false, s.errorAt(t.pos, a.path, fmt.Sprintf("negative dimension %d", d), nil)
		}
		a.Dims[i] = int(d)
		hi, lo := bits.Mul64(numel, uint64(d))
		numel, overflow = lo, overflow || hi != 0
	}
	for len(a.Dims) < 2 {
		a.Dims = append(a.Dims, 1)
	}
	return numel, overflow, nil
}

// readArrayName reads the array name subelement into a.Name.
func (s *stream) readArrayName(a *Array, end int64) error {
	var t tag
	if err := s.readTag(&t, end, a.path); err != nil {
		return err
	}
	if t.typ != miINT8 && t.typ != miUINT8 && t.typ != miUTF8 {
		return s.errorAt(t.pos, a.path, fmt.Sprintf("array name is a %s element, want miINT8", miName(t.typ)), nil)
	}
	b, err := s.readData(&t, end, a.path)
	if err != nil {
		return err
	}
	a.Name = strings.TrimRight(string(b), "\x00")
	return nil
}

// countElements checks a's element count (numel, or overflow past 2^64)
// against what is left of its element, reads a struct's field names and
// sets the number of elements and of children to come. Classes that are
// not decoded are marked done, to be skipped.
func (s *stream) countElements(a *Array, end int64, numel uint64, overflow bool) error {
	// Every element of a numeric or char array takes at least one byte and
	// every child of a cell or struct at least an 8-byte tag, so a count that
	// does not fit in what is left of the element is a lie.
	left := uint64(end - s.pos)
	tooMany := func(what string) error {
		count := "more than 2^64"
		if !overflow {
			count = strconv.FormatUint(numel, 10)
		}
		return s.errorf(a.path, fmt.Sprintf("dimensions %s (%s elements) need more %s than the %d bytes left in the element can hold", a.DimsString(), count, what, left), io.ErrUnexpectedEOF)
	}
	// Counts that do not fit an int (on 32-bit machines) are refused too.
	huge := overflow || numel > math.MaxInt/8
	switch {
	case a.Class.Numeric() || a.Class == ClassChar:
		if huge || numel > left {
			return tooMany("bytes")
		}
	case a.Class == ClassCell:
		if huge || numel > left/8 {
			return tooMany("cells")
		}
		a.nkids = int(numel)
	case a.Class == ClassStruct:
		if huge || numel > left/8 {
			return tooMany("struct elements")
		}
		if err := s.readFieldNames(a, end); err != nil {
			return err
		}
		if nf := uint64(len(a.Fields)); nf > 0 && (numel > uint64(end-s.pos)/8/nf || numel*nf > math.MaxInt/8) {
			return tooMany(fmt.Sprintf("struct elements of %d fields", nf))
		}
		a.nkids = int(numel) * len(a.Fields)
	default:
		// Sparse, object, function handle, opaque: not decoded, only skipped.
		a.done = true
		return nil
	}
	a.numel = int(numel)
	return nil
}

// readFieldNames reads a struct's field name length and field names.
func (s *stream) readFieldNames(a *Array, end int64) error {
	var t tag
	if err := s.readTag(&t, end, a.path); err != nil {
		return err
	}
	if t.typ != miINT32 || t.n != 4 {
		return s.errorAt(t.pos, a.path, fmt.Sprintf("field name length is a %s element of %d bytes, want one miINT32", miName(t.typ), t.n), nil)
	}
	b, err := s.readData(&t, end, a.path)
	if err != nil {
		return err
	}
	width := int64(int32(s.order.Uint32(b)))
	if err := s.readTag(&t, end, a.path); err != nil {
		return err
	}
	if t.typ != miINT8 && t.typ != miUINT8 {
		return s.errorAt(t.pos, a.path, fmt.Sprintf("field names are a %s element, want miINT8", miName(t.typ)), nil)
	}
	if width <= 0 || t.n%width != 0 {
		return s.errorAt(t.pos, a.path, fmt.Sprintf("%d bytes of field names do not split into names of %d bytes", t.n, width), nil)
	}
	if b, err = s.readData(&t, end, a.path); err != nil {
		return err
	}
	a.Fields = make([]string, len(b)/int(width))
	for i := range a.Fields {
		name := b[i*int(width) : (i+1)*int(width)]
		if k := strings.IndexByte(string(name), 0); k >= 0 {
			name = name[:k]
		}
		a.Fields[i] = string(name)
	}
	return nil
}

// activate makes a the innermost open array, skipping what is left of the
// child being read, if any.
func (a *Array) activate() error {
	s := a.s
	if s.dead || a.depth >= len(s.stack) || s.stack[a.depth] != a {
		return fmt.Errorf("matfile: %s: array used after the reader moved past it", a.pathOrName())
	}
	if len(s.stack) > a.depth+1 {
		kid := s.stack[a.depth+1]
		s.stack = s.stack[:a.depth+1]
		if err := s.skipTo(min(align8(kid.end), a.end)); err != nil {
			return s.errorf(kid.path, "skipping", err)
		}
	}
	return nil
}

func (a *Array) pathOrName() string {
	if a.path == "" {
		return "(array)"
	}
	return a.path
}

// Next returns the next child of a cell or struct: the cells in
// column-major order, or, for a struct, each element's fields in field
// order, element after element. It returns io.EOF after the last child.
func (a *Array) Next() (*Array, error) {
	if a.Class != ClassCell && a.Class != ClassStruct {
		return nil, fmt.Errorf("matfile: %s: Next on a %s array", a.pathOrName(), a.Class)
	}
	if err := a.activate(); err != nil {
		return nil, err
	}
	if a.kid >= a.nkids {
		return nil, io.EOF
	}
	s := a.s
	var t tag
	if err := s.readTag(&t, a.end, a.path); err != nil {
		return nil, err
	}
	if t.typ != miMATRIX || t.inline != nil {
		return nil, s.errorAt(t.pos, a.path, fmt.Sprintf("element %d is a %s element, want miMATRIX", a.kid+1, miName(t.typ)), nil)
	}
	a.kid++
	return s.parseArray(s.pos, s.pos+t.n, a, a.kid-1)
}

// skip passes over the rest of the array without reading it.
func (a *Array) skip() error {
	if err := a.activate(); err != nil {
		return err
	}
	s := a.s
	s.stack = s.stack[:a.depth]
	a.done = true
	if err := s.skipTo(a.end); err != nil {
		return s.errorf(a.path, "skipping", err)
	}
	return nil
}

// dataTag reads the tag of a numeric or char array's data, checking that it
// holds Numel values.
func (a *Array) dataTag(t *tag) error {
	if a.Complex {
		return a.s.errorf(a.path, "complex "+a.Class.String()+" array", ErrUnsupported)
	}
	if !a.Class.Numeric() && a.Class != ClassChar {
		return a.s.errorf(a.path, a.Class.String()+" array", ErrUnsupported)
	}
	if a.done {
		return fmt.Errorf("matfile: %s: data read twice", a.pathOrName())
	}
	if err := a.activate(); err != nil {
		return err
	}
	a.done = true
	s := a.s
	if err := s.readTag(t, a.end, a.path); err != nil {
		return err
	}
	size := miSize(t.typ)
	if size == 0 || (a.Class != ClassChar && t.typ >= miUTF8) {
		return s.errorAt(t.pos, a.path, fmt.Sprintf("%s data in a %s array", miName(t.typ), a.Class), nil)
	}
	if t.typ == miUTF8 {
		// UTF-8 characters take a varying number of bytes.
		if t.n < int64(a.numel) {
			return s.errorAt(t.pos, a.path, fmt.Sprintf("%d bytes of miUTF8 data for %d characters", t.n, a.numel), nil)
		}
		return nil
	}
	if t.n != int64(a.numel)*int64(size) {
		return s.errorAt(t.pos, a.path, fmt.Sprintf("%d bytes of %s data, but dimensions %s need %d", t.n, miName(t.typ), a.DimsString(), int64(a.numel)*int64(size)), nil)
	}
	return nil
}

// finishData moves past the data element and to the end of the array (the
// imaginary part of a complex array is refused earlier, so nothing is left).
func (a *Array) finishData() error {
	s := a.s
	s.stack = s.stack[:a.depth]
	if err := s.skipTo(a.end); err != nil {
		return s.errorf(a.path, "skipping to the end of the array", err)
	}
	return nil
}

// ReadFloat32s reads the data of a numeric array into dst, converting it to
// float32. dst must have Numel elements. Single data in the machine's byte
// order is read straight into dst.
func (a *Array) ReadFloat32s(dst []float32) error {
	if len(dst) != a.numel && a.Class.Numeric() {
		panic(fmt.Sprintf("matfile: ReadFloat32s of %d values from a %s array", len(dst), a.DimsString()))
	}
	if a.Class == ClassChar {
		return a.s.errorf(a.path, "char array read as numbers", nil)
	}
	if a.bare {
		return a.skip() // the empty miMATRIX form has no data element
	}
	var t tag
	if err := a.dataTag(&t); err != nil {
		return err
	}
	if err := readNumbers(a.s, dst, &t, a.path); err != nil {
		return err
	}
	return a.finishData()
}

// Float32s returns the data of a numeric array converted to float32.
func (a *Array) Float32s() ([]float32, error) { return readAllNumbers[float32](a) }

// Float64s returns the data of a numeric array converted to float64.
func (a *Array) Float64s() ([]float64, error) { return readAllNumbers[float64](a) }

// growFrom is the largest allocation made for data not yet inflated: beyond
// it, the destination grows as the data arrives. A compressed element's
// declared size is bounded only by deflate's best ratio (1032:1) and a
// double array may be stored one byte a value, so a few megabytes of zlib
// data may declare 8000 times their size in float64s; what they really
// inflate to is known only by inflating.
const growFrom = 16 << 20

// readAllNumbers reads the data of a numeric array. The data element's tag
// is read first: its byte count, checked against the stored type and the
// bytes left, bounds the allocation.
func readAllNumbers[T float32 | float64](a *Array) ([]T, error) {
	if !a.Class.Numeric() {
		return nil, a.s.errorf(a.path, fmt.Sprintf("%s array read as numbers", a.Class), nil)
	}
	if a.bare {
		return []T{}, a.skip() // the empty miMATRIX form has no data element
	}
	var t tag
	if err := a.dataTag(&t); err != nil {
		return nil, err
	}
	s := a.s
	var zero T
	size := int(unsafe.Sizeof(zero))
	if !s.compressed || int64(a.numel)*int64(size) <= growFrom {
		dst := make([]T, a.numel)
		if err := readNumbers(s, dst, &t, a.path); err != nil {
			return nil, err
		}
		return dst, a.finishData()
	}
	dst := make([]T, 0, growFrom/size)
	for len(dst) < a.numel {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, min(a.numel, 2*cap(dst))-len(dst))
		}
		n := len(dst)
		k := min(a.numel, cap(dst)) - n
		dst = dst[:n+k]
		if err := readNumbers(s, dst[n:], &t, a.path); err != nil {
			return nil, err
		}
	}
	return dst, a.finishData()
}

// Text returns the characters of a char array, in column-major order (for
// a 1xN array, its text).
func (a *Array) Text() (string, error) {
	if a.Class != ClassChar {
		return "", a.s.errorf(a.path, fmt.Sprintf("%s array read as text", a.Class), nil)
	}
	var t tag
	if err := a.dataTag(&t); err != nil {
		return "", err
	}
	text, err := readText(a.s, &t, a.end, a.path)
	if err != nil {
		return "", err
	}
	return text, a.finishData()
}

package matfile

import (
	"fmt"
	"io"
)

// Matrix is a fully decoded array: what the tests compare. Decoding whole
// files is for them only; the loader streams.
type Matrix struct {
	Name    string
	Class   Class
	Logical bool
	Dims    []int
	// Data holds the values of a numeric array, column-major, in the Go type
	// of its class: []float64 for double, []float32 for single, []int8 for
	// int8, ..., []uint64 for uint64 (and []uint8 for most logical arrays),
	// whatever smaller type the file stored them in.
	Data any
	// Text holds the characters of a char array, column-major.
	Text string
	// Fields are the field names of a struct.
	Fields []string
	// Elems are the cells of a cell array, column-major, or the field
	// values of a struct array: field f of element e is
	// Elems[e*len(Fields)+f].
	Elems []*Matrix
}

// Numel is the number of elements, the product of Dims.
func (m *Matrix) Numel() int {
	n := 1
	for _, d := range m.Dims {
		n *= d
	}
	return n
}

// Field returns field name of struct element e, or nil if there is none.
func (m *Matrix) Field(name string, e int) *Matrix {
	if m.Class != ClassStruct {
		return nil
	}
	for f, n := range m.Fields {
		if n == name && e*len(m.Fields)+f < len(m.Elems) {
			return m.Elems[e*len(m.Fields)+f]
		}
	}
	return nil
}

// Float64s returns the values of a numeric array converted to float64, or
// nil for other classes.
func (m *Matrix) Float64s() []float64 {
	switch d := m.Data.(type) {
	case []float64:
		return d
	case []float32:
		return convertSlice(d)
	case []int8:
		return convertSlice(d)
	case []uint8:
		return convertSlice(d)
	case []int16:
		return convertSlice(d)
	case []uint16:
		return convertSlice(d)
	case []int32:
		return convertSlice(d)
	case []uint32:
		return convertSlice(d)
	case []int64:
		return convertSlice(d)
	case []uint64:
		return convertSlice(d)
	}
	return nil
}

func convertSlice[T number](s []T) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// Decode reads the rest of the array and everything in it. Complex,
// sparse, object and function-handle arrays give an error wrapping
// ErrUnsupported.
func (a *Array) Decode() (*Matrix, error) {
	m := &Matrix{Name: a.Name, Class: a.Class, Logical: a.Logical, Dims: a.Dims, Fields: a.Fields}
	switch {
	case a.Class == ClassCell || a.Class == ClassStruct:
		if a.Complex {
			return nil, a.s.errorf(a.path, "complex "+a.Class.String()+" array", ErrUnsupported)
		}
		m.Elems = make([]*Matrix, 0, min(a.nkids, 1024))
		for {
			kid, err := a.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			km, err := kid.Decode()
			if err != nil {
				return nil, err
			}
			m.Elems = append(m.Elems, km)
		}
		return m, a.skip()
	case a.Class == ClassChar:
		t, err := a.Text()
		m.Text = t
		return m, err
	case a.Class.Numeric():
		var err error
		switch a.Class {
		case ClassDouble:
			m.Data, err = decodeData[float64](a)
		case ClassSingle:
			m.Data, err = decodeData[float32](a)
		case ClassInt8:
			m.Data, err = decodeData[int8](a)
		case ClassUint8:
			m.Data, err = decodeData[uint8](a)
		case ClassInt16:
			m.Data, err = decodeData[int16](a)
		case ClassUint16:
			m.Data, err = decodeData[uint16](a)
		case ClassInt32:
			m.Data, err = decodeData[int32](a)
		case ClassUint32:
			m.Data, err = decodeData[uint32](a)
		case ClassInt64:
			m.Data, err = decodeData[int64](a)
		case ClassUint64:
			m.Data, err = decodeData[uint64](a)
		}
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, a.s.errorf(a.path, fmt.Sprintf("%s array", a.Class), ErrUnsupported)
}

func decodeData[T number](a *Array) ([]T, error) {
	if a.bare {
		return []T{}, a.skip() // the empty miMATRIX form has no data element
	}
	var t tag
	if err := a.dataTag(&t); err != nil {
		return nil, err
	}
	dst := make([]T, a.numel)
	if err := readNumbers(a.s, dst, &t, a.path); err != nil {
		return nil, err
	}
	return dst, a.finishData()
}

// ReadAll decodes every remaining variable. For compressed variables it also
// checks the zlib checksum.
func (r *Reader) ReadAll() ([]*Matrix, error) {
	var out []*Matrix
	for {
		a, err := r.next1(true)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		m, err := a.Decode()
		if err != nil {
			return out, err
		}
		if err := r.cur.finish(); err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

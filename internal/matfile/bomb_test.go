package matfile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

// lyingElement is a MAT-file whose one compressed variable x declares a
// 2^28-element array, its data stored one byte a value, but whose zlib data
// inflates to only 1 MB of it and ends; 300 kB of junk after it make the
// declared size fit deflate's best ratio, as a real bomb's would.
func lyingElement(t *testing.T, class Class, miType uint32) []byte {
	const n = 1 << 28
	le := binary.LittleEndian
	var in []byte
	in = le.AppendUint32(in, miMATRIX)
	in = le.AppendUint32(in, 8+8+8+8+8+8+n)
	in = le.AppendUint32(in, miUINT32)
	in = le.AppendUint32(in, 8)
	in = le.AppendUint32(in, uint32(class))
	in = le.AppendUint32(in, 0)
	in = le.AppendUint32(in, miINT32)
	in = le.AppendUint32(in, 8)
	in = le.AppendUint32(in, 1)
	in = le.AppendUint32(in, n)
	in = le.AppendUint32(in, 1<<16|miINT8) // name "x", small element
	in = append(in, 'x', 0, 0, 0)
	in = le.AppendUint32(in, miType)
	in = le.AppendUint32(in, n)
	in = append(in, bytes.Repeat([]byte{'a'}, 1<<20)...)
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(in)
	w.Close()
	z.Write(bytes.Repeat([]byte{0x55}, 300_000))
	head := make([]byte, 128)
	copy(head, "MATLAB 5.0 MAT-file")
	le.PutUint16(head[124:], 0x0100)
	copy(head[126:], "IM")
	b := le.AppendUint32(head, miCOMPRESSED)
	b = le.AppendUint32(b, uint32(z.Len()))
	return append(b, z.Bytes()...)
}

// Reading an array whose compressed data ends long before its declared size
// allocates about what was inflated, not what was declared (2 GB as
// float64, 1 GB as float32, 256 MB of characters).
func TestLyingSizeAllocation(t *testing.T) {
	tests := []struct {
		name  string
		class Class
		typ   uint32
		read  func(a *Array) error
	}{
		{"double from uint8", ClassDouble, miUINT8, func(a *Array) error { _, err := a.Float64s(); return err }},
		{"single from uint8", ClassSingle, miUINT8, func(a *Array) error { _, err := a.Float32s(); return err }},
		{"char", ClassChar, miUINT8, func(a *Array) error { _, err := a.Text(); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lyingElement(t, tt.class, tt.typ)
			r, err := NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			a, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a.Numel() != 1<<28 {
				t.Fatalf("%s array of %d elements", a.DimsString(), a.Numel())
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err = tt.read(a)
			runtime.ReadMemStats(&after)
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("error %v, want a FormatError wrapping io.ErrUnexpectedEOF", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*growFrom {
				t.Errorf("allocated %d bytes for 1 MB of data", alloc)
			}
		})
	}
}

package mattest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"testing"
)

// A compressed variable holding a run of zeros between other data inflates,
// with compress/zlib and its checksum check, to exactly what the plain
// writer writes, and takes about 1/1000 of its inflated size.
func TestZerosCompressed(t *testing.T) {
	const n = zeroRunLen*2 + 12345 // two precomputed segments and a fresh one
	v := Var{Name: "z", Value: &Struct{
		Fields: []string{"before", "zeros", "after"},
		Values: []Value{
			Char("conv1_1"),
			&Zeros{Dims: []int{n, 1}, Double: true, Uint8: true},
			&Single{Dims: []int{3, 1}, Data: []float32{1, 2, 3}},
		},
	}}
	var plain, comp Buffer
	if err := Write(&plain, Options{}, v); err != nil {
		t.Fatal(err)
	}
	if err := Write(&comp, Options{Compress: true}, v); err != nil {
		t.Fatal(err)
	}
	b := comp.Bytes()
	size := int(binary.LittleEndian.Uint32(b[132:]))
	if len(b) != 136+size {
		t.Fatalf("compressed file of %d bytes, tag says %d after 136", len(b), size)
	}
	if size > n/500 {
		t.Errorf("%d zeros compress to %d bytes", n, size)
	}
	zr, err := zlib.NewReader(bytes.NewReader(b[136:]))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err) // includes a checksum mismatch
	}
	if want := plain.Bytes()[128:]; !bytes.Equal(got, want) {
		t.Fatalf("inflated %d bytes differ from the %d plain ones", len(got), len(want))
	}
}

// An array too large for a MAT-file tag is refused, not written wrapped.
func TestTooLarge(t *testing.T) {
	var buf Buffer
	v := Var{Name: "z", Value: &Zeros{Dims: []int{1 << 30, 5}, Uint8: true}}
	if err := Write(&buf, Options{Compress: true}, v); err == nil {
		t.Fatal("no error")
	}
}

// A generated one-element array takes the small element form its size
// counts, so what follows it is where the sizes say.
func TestGeneratedScalar(t *testing.T) {
	v := Var{Name: "s", Value: &Cell{Dims: []int{1, 2}, Elems: []Value{
		&Single{Dims: []int{1, 1}, Gen: func(dst []float32, first int) { dst[0] = 7 }},
		Char("after"),
	}}}
	var gen, data Buffer
	if err := Write(&gen, Options{}, v); err != nil {
		t.Fatal(err)
	}
	v.Value.(*Cell).Elems[0] = &Single{Dims: []int{1, 1}, Data: []float32{7}}
	if err := Write(&data, Options{}, v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gen.Bytes(), data.Bytes()) {
		t.Errorf("generated scalar written as %d bytes, from data %d", len(gen.Bytes()), len(data.Bytes()))
	}
}

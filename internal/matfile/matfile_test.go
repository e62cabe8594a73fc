package matfile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/matfile/mattest"
)

const casesDir = "../../testdata/matcases"

type expectedCases struct {
	Good     []string                   `json:"good"`
	Broken   []string                   `json:"broken"`
	Expected map[string]json.RawMessage `json:"expected"`
}

// expectedArray is the shape of an entry of expected.json.
type expectedArray struct {
	Class             string          `json:"class"`
	Dims              []int           `json:"dims"`
	Values            []float64       `json:"values"`
	ValuesColumnMajor []float64       `json:"values_column_major"`
	Text              *string         `json:"text"`
	Fields            []string        `json:"fields"`
	Name              string          `json:"name"`
	Weights           []expectedArray `json:"weights"`
	Opts              *expectedArray  `json:"opts"`
	Stride            *expectedArray  `json:"stride"`
}

func loadExpected(t *testing.T) expectedCases {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(casesDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expectedCases
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Good) == 0 || len(e.Broken) == 0 || len(e.Expected) == 0 {
		t.Fatalf("expected.json lists nothing: %+v", e)
	}
	return e
}

func readAll(t *testing.T, path string) []*Matrix {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars, err := f.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return vars
}

func className(m *Matrix) string {
	if m.Logical {
		return "logical"
	}
	return m.Class.String()
}

func checkArray(t *testing.T, path string, m *Matrix, want expectedArray) {
	t.Helper()
	if got := className(m); got != want.Class {
		t.Errorf("%s: class %s, want %s", path, got, want.Class)
	}
	if want.Dims != nil && !reflect.DeepEqual(m.Dims, want.Dims) {
		t.Errorf("%s: dims %v, want %v", path, m.Dims, want.Dims)
	}
	if want.Text != nil && m.Text != *want.Text {
		t.Errorf("%s: text %q, want %q", path, m.Text, *want.Text)
	}
	values := want.Values
	if values == nil {
		values = want.ValuesColumnMajor
	}
	if values != nil {
		got := m.Float64s()
		if got == nil || len(got) != len(values) {
			t.Errorf("%s: values %v (%T), want %v", path, got, m.Data, values)
		} else {
			for i := range values {
				if got[i] != values[i] {
					t.Errorf("%s: value %d is %v, want %v", path, i, got[i], values[i])
				}
			}
		}
	}
	// The data keeps the Go type of the class, whatever it was stored as.
	wantType := map[string]any{"double": []float64{}, "single": []float32{}, "logical": []uint8{}}[want.Class]
	if wantType != nil && reflect.TypeOf(m.Data) != reflect.TypeOf(wantType) {
		t.Errorf("%s: data is %T, want %T", path, m.Data, wantType)
	}
}

func TestMatcases(t *testing.T) {
	e := loadExpected(t)
	for _, name := range e.Good {
		t.Run(name, func(t *testing.T) {
			vars := readAll(t, filepath.Join(casesDir, name))
			if len(vars) != len(e.Expected) {
				t.Fatalf("%d variables, want %d", len(vars), len(e.Expected))
			}
			byName := map[string]*Matrix{}
			for _, v := range vars {
				byName[v.Name] = v
			}
			for vname, raw := range e.Expected {
				var want expectedArray
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatal(err)
				}
				m := byName[vname]
				if m == nil {
					t.Errorf("variable %s missing", vname)
					continue
				}
				checkArray(t, vname, m, want)
				if want.Class != "struct" {
					continue
				}
				if !reflect.DeepEqual(m.Fields, want.Fields) {
					t.Errorf("%s: fields %v, want %v", vname, m.Fields, want.Fields)
				}
				if n := m.Field("name", 0); n == nil || n.Text != want.Name {
					t.Errorf("%s.name = %+v, want %q", vname, n, want.Name)
				}
				w := m.Field("weights", 0)
				if w == nil || w.Class != ClassCell || len(w.Elems) != len(want.Weights) {
					t.Fatalf("%s.weights = %+v, want a cell of %d", vname, w, len(want.Weights))
				}
				for i, wa := range want.Weights {
					checkArray(t, vname+".weights", w.Elems[i], wa)
				}
				if o := m.Field("opts", 0); o == nil || o.Class != ClassCell || len(o.Elems) != 0 {
					t.Errorf("%s.opts = %+v, want an empty cell", vname, o)
				} else {
					checkArray(t, vname+".opts", o, *want.Opts)
				}
				checkArray(t, vname+".stride", m.Field("stride", 0), *want.Stride)
			}
		})
	}
}

// The big-endian file holds the same arrays as the little-endian one.
func TestByteOrders(t *testing.T) {
	le := readAll(t, filepath.Join(casesDir, "compact-le.mat"))
	be := readAll(t, filepath.Join(casesDir, "compact-be.mat"))
	z := readAll(t, filepath.Join(casesDir, "compact-le-zlib.mat"))
	if !reflect.DeepEqual(le, be) {
		t.Error("big-endian file decodes differently from the little-endian one")
	}
	if !reflect.DeepEqual(le, z) {
		t.Error("compressed file decodes differently from the plain one")
	}
}

func TestBroken(t *testing.T) {
	e := loadExpected(t)
	tests := []struct {
		file    string
		is      error  // cause to find with errors.Is, if any
		message string // text the error must hold
	}{
		{"truncated-header.mat", io.ErrUnexpectedEOF, "less than a 128-byte MAT-file header"},
		{"truncated-body.mat", io.ErrUnexpectedEOF, "extends past the end of the file"},
		{"bad-zlib.mat", nil, "compressed element at file offset 128"},
		{"not-a-mat.mat", ErrNotMAT, "not a MAT-file"},
		{"v73-hdf5.mat", ErrHDF5, "save -v7"},
		{"huge-dims.mat", io.ErrUnexpectedEOF, "x: dimensions 2147483647x2147483647 (4611686014132420609 elements) need more bytes than the 16 bytes left in the element can hold"},
	}
	if len(tests) != len(e.Broken) {
		t.Errorf("expected.json lists %d broken files, the test %d", len(e.Broken), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := readFile(filepath.Join(casesDir, tt.file))
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *FormatError: %v", err, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %q", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not say %q", err, tt.message)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
			t.Log(err)
		})
	}
}

// readFile decodes every variable of the named file.
func readFile(path string) ([]*Matrix, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadAll()
}

func readBytes(b []byte) ([]*Matrix, error) {
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	return r.ReadAll()
}

func goodFiles(t testing.TB) map[string][]byte {
	files := map[string][]byte{}
	paths, _ := filepath.Glob(filepath.Join(casesDir, "compact-*.mat"))
	more, _ := filepath.Glob("../../testdata/vgg19-tiny/*.mat")
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	if len(files) < 5 {
		t.Fatalf("found only %d test files", len(files))
	}
	return files
}

// topLevelEnds returns the file offsets at which each top-level element ends.
func topLevelEnds(t *testing.T, b []byte) map[int]int {
	t.Helper()
	ends := map[int]int{128: 0}
	order := binary.ByteOrder(binary.LittleEndian)
	if string(b[126:128]) == "MI" {
		order = binary.BigEndian
	}
	for off, k := 128, 1; off < len(b); k++ {
		typ, n := order.Uint32(b[off:]), int(order.Uint32(b[off+4:]))
		off += 8 + n
		if typ == miMATRIX {
			off = int(align8(int64(off)))
		}
		ends[off] = k
	}
	return ends
}

// Every prefix of a valid file is either an error wrapping
// io.ErrUnexpectedEOF or, cut at an element boundary, the variables before
// the cut. The variables wholly before the cut are skipped rather than
// decoded again, which keeps the test linear in the file size.
func TestTruncated(t *testing.T) {
	for name, b := range goodFiles(t) {
		t.Run(name, func(t *testing.T) {
			ends := topLevelEnds(t, b)
			full, err := readBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			before := 0 // variables that end at or before the cut
			for n := 0; n < len(b); n++ {
				if k, ok := ends[n]; ok {
					before = k
				}
				vars, err := readPrefix(b[:n], before)
				if k, ok := ends[n]; ok {
					if err != nil || len(vars) != 0 {
						t.Fatalf("cut at element boundary %d: %d more variables, error %v; want the first %d and no more", n, len(vars), err, k)
					}
					continue
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("cut at %d: error %v, want io.ErrUnexpectedEOF", n, err)
				}
			}
			if ends[len(b)] != len(full) {
				t.Fatalf("%d top-level elements, %d variables", ends[len(b)], len(full))
			}
		})
	}
}

// readPrefix skips the first skip variables of b and decodes the rest.
func readPrefix(b []byte, skip int) ([]*Matrix, error) {
	r, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	for range skip {
		if _, err := r.Next(); err != nil {
			return nil, err
		}
	}
	return r.ReadAll()
}

// elements splits a MAT-file into its header and its top-level elements,
// giving each element's stream: the element itself when plain, its inflated
// data when compressed.
func elements(t *testing.T, b []byte) (header []byte, streams [][]byte, compressed []bool) {
	t.Helper()
	order := binary.ByteOrder(binary.LittleEndian)
	if string(b[126:128]) == "MI" {
		order = binary.BigEndian
	}
	for off := 128; off < len(b); {
		typ, n := order.Uint32(b[off:]), int(order.Uint32(b[off+4:]))
		el := b[off : off+8+n]
		if typ == miCOMPRESSED {
			zr, err := zlib.NewReader(bytes.NewReader(el[8:]))
			if err != nil {
				t.Fatal(err)
			}
			inner, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			streams, compressed = append(streams, inner), append(compressed, true)
			off += 8 + n
		} else {
			streams, compressed = append(streams, el), append(compressed, false)
			off = int(align8(int64(off + 8 + n)))
		}
	}
	return b[:128], streams, compressed
}

// wrap makes a one-variable MAT-file of an element stream, compressing it
// or rewriting its tag's byte count to fit.
func wrap(header, stream []byte, compressed bool) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	if string(header[126:128]) == "MI" {
		order = binary.BigEndian
	}
	out := append([]byte{}, header...)
	if compressed {
		var z bytes.Buffer
		w, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
		w.Write(stream)
		w.Close()
		out = order.AppendUint32(out, miCOMPRESSED)
		out = order.AppendUint32(out, uint32(z.Len()))
		return append(out, z.Bytes()...)
	}
	out = append(out, stream...)
	order.(binary.ByteOrder).PutUint32(out[128+4:], uint32(len(stream)-8))
	return out
}

// Cutting a variable inside its element (with the top-level byte count made
// to agree, so that the cut is only found inside) gives io.ErrUnexpectedEOF
// or, where only padding was cut, the same array.
func TestTruncatedInside(t *testing.T) {
	for name, b := range goodFiles(t) {
		t.Run(name, func(t *testing.T) {
			header, streams, compressed := elements(t, b)
			for i, st := range streams {
				full, err := readBytes(wrap(header, st, compressed[i]))
				if err != nil || len(full) != 1 {
					t.Fatalf("element %d alone: %d variables, error %v", i, len(full), err)
				}
				step := 1 + len(st)/250 // every cut in small elements, a sample in large ones
				// A plain miMATRIX of 0 bytes is a valid empty array.
				first := 9
				if compressed[i] {
					first = 8
				}
				for n := first; n < len(st); n += step {
					vars, err := readBytes(wrap(header, st[:n], compressed[i]))
					if err == nil && len(vars) == 1 && reflect.DeepEqual(vars[0], full[0]) && len(st)-n < 8 {
						continue
					}
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("element %d cut at %d of %d: error %v, want io.ErrUnexpectedEOF", i, n, len(st), err)
					}
				}
			}
		})
	}
}

// The test writer's files read back as written, plain and compressed, and
// a variable can be skipped or walked partially.
func TestWriterRoundTrip(t *testing.T) {
	gen := func(dst []float32, first int) {
		for i := range dst {
			dst[i] = float32(first+i) * 0.5
		}
	}
	vars := []mattest.Var{
		{Name: "big", Value: &mattest.Single{Dims: []int{3, 3, 70, 200}, Gen: gen}},
		{Name: "s", Value: &mattest.Struct{
			Fields: []string{"name", "weights", "flag", "none"},
			Values: []mattest.Value{
				mattest.Char("conv1_1"),
				&mattest.Cell{Dims: []int{1, 2}, Elems: []mattest.Value{
					&mattest.Single{Dims: []int{1, 1}, Data: []float32{-1.5}},
					&mattest.Double{Dims: []int{2, 1}, Data: []float64{3, 4.25}},
				}},
				&mattest.Logical{Dims: []int{1, 1}, Data: []uint8{1}},
				&mattest.Cell{Dims: []int{0, 0}},
			}}},
	}
	for _, compress := range []bool{false, true} {
		var buf mattest.Buffer
		if err := mattest.Write(&buf, mattest.Options{Compress: compress}, vars...); err != nil {
			t.Fatal(err)
		}
		got, err := readBytes(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Name != "big" || got[1].Name != "s" {
			t.Fatalf("compress=%v: variables %+v", compress, got)
		}
		big := got[0].Data.([]float32)
		if len(big) != 3*3*70*200 || big[12345] != 12345*0.5 {
			t.Errorf("compress=%v: big has %d values, [12345] = %v", compress, len(big), big[12345])
		}
		s := got[1]
		if n := s.Field("name", 0); n.Text != "conv1_1" {
			t.Errorf("name %q", n.Text)
		}
		w := s.Field("weights", 0)
		if w.Elems[0].Data.([]float32)[0] != -1.5 || w.Elems[1].Data.([]float64)[1] != 4.25 {
			t.Errorf("weights %+v %+v", w.Elems[0], w.Elems[1])
		}
		if f := s.Field("flag", 0); !f.Logical || f.Data.([]uint8)[0] != 1 {
			t.Errorf("flag %+v", f)
		}

		// Streaming: skip big unread, walk s and leave weights half read.
		r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(len(buf.Bytes())))
		if err != nil {
			t.Fatal(err)
		}
		a, err := r.Next()
		if err != nil || a.Name != "big" || a.DimsString() != "3x3x70x200" || a.Numel() != 126000 {
			t.Fatalf("first variable %+v, %v", a, err)
		}
		if a, err = r.Next(); err != nil || a.Class != ClassStruct {
			t.Fatalf("second variable %+v, %v", a, err)
		}
		var paths []string
		for {
			kid, err := a.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			paths = append(paths, kid.Path())
			if kid.Field == "weights" {
				c, err := kid.Next()
				if err != nil {
					t.Fatal(err)
				}
				paths = append(paths, c.Path())
				if _, err := c.Float32s(); err != nil {
					t.Fatal(err)
				}
				// The rest of weights is skipped by the struct's Next.
			}
		}
		want := []string{"s.name", "s.weights", "s.weights{1}", "s.flag", "s.none"}
		if !reflect.DeepEqual(paths, want) {
			t.Errorf("paths %v, want %v", paths, want)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("after the last variable: %v, want io.EOF", err)
		}
		if _, err := a.Next(); err == nil {
			t.Error("using an array after the reader moved on: no error")
		}
	}
}

// An error inside a nested array names its path.
func TestErrorPath(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(casesDir, "compact-le.mat"))
	if err != nil {
		t.Fatal(err)
	}
	// The data element of layer.weights{1}: miSINGLE, 16 bytes, 1 -2 3.5 4.
	data := []byte{7, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}
	i := bytes.Index(b, data)
	if i < 0 {
		t.Fatal("weights{1} data not found")
	}
	b = bytes.Clone(b)
	b[i+4] = 12 // 3 values for a 1x1x2x2 array
	_, err = readBytes(b)
	want := "matfile: layer.weights{1}: 12 bytes of miSINGLE data, but dimensions 1x1x2x2 need 16"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Path != "layer.weights{1}" || fe.Offset != int64(i) || fe.Inflated != -1 {
		t.Errorf("error %#v, want path layer.weights{1} at offset %d", fe, i)
	}
}

// Reading a compressed variable to its end checks the zlib checksum, and
// damage inside the deflate data is an error, whichever byte is hit.
func TestZlibChecksum(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(casesDir, "compact-le-zlib.mat"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readBytes(b); err != nil {
		t.Fatal(err)
	}
	n := int(binary.LittleEndian.Uint32(b[132:]))
	end := 136 + n // the first variable's checksum is b[end-4:end]
	for i := end - 4; i < end; i++ {
		c := bytes.Clone(b)
		c[i] ^= 0x10
		_, err := readBytes(c)
		var fe *FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), "zlib checksum mismatch") || fe.Offset != 128 {
			t.Errorf("checksum byte %d changed: error %v, want a checksum mismatch at the element at 128", i-(end-4), err)
		}
	}
	// Every byte of the deflate data, changed: the data decode differently
	// or not at all, and either way the variable is refused.
	for i := 138; i < end-4; i++ {
		c := bytes.Clone(b)
		c[i] ^= 0xff
		if vars, err := readBytes(c); err == nil {
			t.Fatalf("deflate byte %d changed: no error, %d variables", i-138, len(vars))
		}
	}
}

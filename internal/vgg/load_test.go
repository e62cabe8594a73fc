package vgg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/matfile"
	"github.com/neuralstyle/neuralstyle/internal/matfile/mattest"
)

const ldTinyDir = "../../testdata/vgg19-tiny"

// ldWidths are the output channels of each block of the tiny networks.
var ldWidths = [5]int{4, 6, 8, 10, 12}

func ldLoadTiny(t *testing.T, name string) *Weights {
	t.Helper()
	w, err := Load(filepath.Join(ldTinyDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestLoadTiny(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(ldTinyDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors struct {
		MeanPixel map[string][]float64 `json:"mean_pixel"`
	}
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	nets := map[string]*Weights{}
	for _, name := range []string{"vgg19-tiny-new.mat", "vgg19-tiny-old.mat"} {
		w := ldLoadTiny(t, name)
		nets[name] = w
		in := 3
		for i, c := range w.Conv {
			block := ConvNames[i][4] - '1'
			if c.In != in || c.Out != ldWidths[block] || len(c.Kernel) != 9*c.In*c.Out || len(c.Bias) != c.Out {
				t.Errorf("%s %s: %dx%d, kernel %d, bias %d", name, ConvNames[i], c.In, c.Out, len(c.Kernel), len(c.Bias))
			}
			in = c.Out
		}
		want := vectors.MeanPixel[name]
		if len(want) != 3 {
			t.Fatalf("vectors.json has no mean pixel for %s", name)
		}
		for c := range 3 {
			// The sums are done as numpy does them, so they agree exactly.
			if float64(w.MeanPixel[c]) != want[c] {
				t.Errorf("%s: mean pixel %v, want %v", name, w.MeanPixel, want)
				break
			}
		}
	}
	// Same weights in both layouts: the old one stores the bias as a row,
	// the new one as a column, and puts weights before name.
	if !reflect.DeepEqual(nets["vgg19-tiny-new.mat"].Conv, nets["vgg19-tiny-old.mat"].Conv) {
		t.Error("the two layouts give different convolutions")
	}
}

// The kernels are the file's arrays with their first two axes swapped, laid
// out HWIO: Kernel[((h*3+w)*In+i)*Out+o] = m(w, h, i, o), m the
// column-major 3x3xInxOut array. This reads the arrays independently, by
// walking every layer of the file.
func TestKernelLayout(t *testing.T) {
	w := ldLoadTiny(t, "vgg19-tiny-new.mat")
	f, err := matfile.Open(filepath.Join(ldTinyDir, "vgg19-tiny-new.mat"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layers, err := f.Next()
	for err == nil && layers.Name != "layers" {
		layers, err = f.Next()
	}
	if err != nil {
		t.Fatal("no layers: ", err)
	}
	checked := 0
	for {
		layer, err := layers.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var name string
		var m, bias []float32
		for {
			field, err := layer.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			switch field.Field {
			case "name":
				if name, err = field.Text(); err != nil {
					t.Fatal(err)
				}
			case "weights":
				if field.Numel() != 2 {
					continue
				}
				for _, dst := range []*[]float32{&m, &bias} {
					a, err := field.Next()
					if err != nil {
						t.Fatal(err)
					}
					if *dst, err = a.Float32s(); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		k := slices.Index(ConvNames[:], name)
		if k < 0 {
			continue
		}
		c := w.Conv[k]
		if len(m) != 9*c.In*c.Out {
			t.Fatalf("%s: %d kernel values in the file, loaded 3x3x%dx%d", name, len(m), c.In, c.Out)
		}
		for h := range 3 {
			for x := range 3 {
				for in := range c.In {
					for o := range c.Out {
						got := c.Kernel[((h*3+x)*c.In+in)*c.Out+o]
						want := m[x+3*h+9*in+9*c.In*o]
						if got != want {
							t.Fatalf("%s: kernel[%d][%d][%d][%d] = %v, want m(%d,%d,%d,%d) = %v", ConvNames[k], h, x, in, o, got, x, h, in, o, want)
						}
					}
				}
			}
		}
		if !slices.Equal(bias, c.Bias) {
			t.Errorf("%s: bias %v, want %v", ConvNames[k], c.Bias, bias)
		}
		checked++
	}
	if checked != len(ConvNames) {
		t.Errorf("checked %d convolutions", checked)
	}
}

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "imagenet-vgg-verydeep-19.mat")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line naming %s", err, path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("error does not match fs.ErrNotExist")
	}
}

// ldLayerNames are the 43 layers of MatConvNet's VGG-19.
func ldLayerNames() []string {
	var names []string
	blocks := []int{2, 2, 4, 4, 4}
	for b, n := range blocks {
		for j := 1; j <= n; j++ {
			names = append(names, fmt.Sprintf("conv%d_%d", b+1, j), fmt.Sprintf("relu%d_%d", b+1, j))
		}
		names = append(names, fmt.Sprintf("pool%d", b+1))
	}
	return append(names, "fc6", "relu6", "fc7", "relu7", "fc8", "prob")
}

// ldNet describes a network to write: kernel shapes by layer name, built
// from block widths and then changed by a test.
type ldNet struct {
	names   []string
	kernels map[string][4]int // kh, kw, in, out
	bias    map[string]int    // bias length, when not out
	gen     func(layer int) func(dst []float32, first int)
	old     bool // old layout: weights before name, top-level normalization
	// Arrays written instead of the generated ones: kernels by layer name,
	// and the averageImage.
	kernelValue map[string]mattest.Value
	mean        mattest.Value
}

func newLdNet(widths [5]int, fc [3][4]int) *ldNet {
	n := &ldNet{names: ldLayerNames(), kernels: map[string][4]int{}, bias: map[string]int{}}
	in := 3
	for _, name := range n.names {
		if strings.HasPrefix(name, "conv") {
			out := widths[name[4]-'1']
			n.kernels[name] = [4]int{3, 3, in, out}
			in = out
		}
	}
	n.kernels["fc6"], n.kernels["fc7"], n.kernels["fc8"] = fc[0], fc[1], fc[2]
	n.gen = func(layer int) func([]float32, int) {
		return func(dst []float32, first int) {
			for i := range dst {
				dst[i] = float32(layer*1000+(first+i)%997) / 1024
			}
		}
	}
	return n
}

var ldMean = [3]float32{123.68, 116.779, 103.939}

func (n *ldNet) vars() []mattest.Var {
	var layers []mattest.Value
	for li, name := range n.names {
		var weights mattest.Value = &mattest.Cell{Dims: []int{1, 0}}
		typ := mattest.Char(strings.TrimRight(name, "0123456789_"))
		if k, ok := n.kernels[name]; ok {
			nb := n.bias[name]
			if nb == 0 {
				nb = k[3]
			}
			var kernel mattest.Value = &mattest.Single{Dims: k[:], Gen: n.gen(li)}
			if v := n.kernelValue[name]; v != nil {
				kernel = v
			}
			weights = &mattest.Cell{Dims: []int{1, 2}, Elems: []mattest.Value{
				kernel,
				&mattest.Single{Dims: []int{nb, 1}, Gen: n.gen(-li)},
			}}
			typ = "conv"
		}
		if n.old {
			layers = append(layers, &mattest.Struct{
				Fields: []string{"weights", "type", "name"},
				Values: []mattest.Value{weights, typ, mattest.Char(name)},
			})
			continue
		}
		layers = append(layers, &mattest.Struct{
			Fields: []string{"name", "type", "weights", "stride"},
			Values: []mattest.Value{mattest.Char(name), typ, weights, &mattest.Double{Dims: []int{1, 2}, Data: []float64{1, 1}}},
		})
	}
	cell := &mattest.Cell{Dims: []int{1, len(layers)}, Elems: layers}
	if n.old {
		// A 2x2 image whose mean over height and width is ldMean.
		img := make([]float32, 12)
		for c := range 3 {
			for p := range 4 {
				img[c*4+p] = ldMean[c] + float32(p%2*2-1)
			}
		}
		var mean mattest.Value = &mattest.Single{Dims: []int{2, 2, 3}, Data: img}
		if n.mean != nil {
			mean = n.mean
		}
		return []mattest.Var{
			{Name: "layers", Value: cell},
			{Name: "classes", Value: &mattest.Struct{Fields: []string{"name"}, Values: []mattest.Value{mattest.Char("n01")}}},
			{Name: "normalization", Value: &mattest.Struct{
				Fields: []string{"keepAspect", "averageImage"},
				Values: []mattest.Value{&mattest.Double{Dims: []int{1, 1}, Data: []float64{1}}, mean},
			}},
		}
	}
	var mean mattest.Value = &mattest.Single{Dims: []int{1, 1, 3}, Data: ldMean[:]}
	if n.mean != nil {
		mean = n.mean
	}
	norm := &mattest.Struct{
		Fields: []string{"imageSize", "averageImage"},
		Values: []mattest.Value{
			&mattest.Double{Dims: []int{1, 3}, Data: []float64{224, 224, 3}},
			mean,
		},
	}
	meta := &mattest.Struct{
		Fields: []string{"classes", "normalization"},
		Values: []mattest.Value{&mattest.Cell{Dims: []int{1, 1}, Elems: []mattest.Value{mattest.Char("n01")}}, norm},
	}
	return []mattest.Var{{Name: "layers", Value: cell}, {Name: "meta", Value: meta}}
}

func (n *ldNet) bytes(t testing.TB, compress bool) []byte {
	t.Helper()
	var buf mattest.Buffer
	if err := mattest.Write(&buf, mattest.Options{Compress: compress}, n.vars()...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ldLoadBytes(b []byte) (*Weights, error) {
	r, err := matfile.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	return load(r)
}

var ldSmallFC = [3][4]int{{7, 7, 12, 16}, {1, 1, 16, 16}, {1, 1, 16, 10}}

// Networks written by the test writer load, in both layouts, plain and
// compressed, with the values written.
func TestLoadWritten(t *testing.T) {
	for _, old := range []bool{false, true} {
		for _, compress := range []bool{false, true} {
			n := newLdNet(ldWidths, ldSmallFC)
			n.old = old
			w, err := ldLoadBytes(n.bytes(t, compress))
			if err != nil {
				t.Fatalf("old=%v compress=%v: %v", old, compress, err)
			}
			if w.MeanPixel != ldMean {
				t.Errorf("old=%v compress=%v: mean pixel %v, want %v", old, compress, w.MeanPixel, ldMean)
			}
			c := w.Conv[15]
			li := slices.Index(n.names, "conv5_4")
			// m(w=1, h=2, i=3, o=4) is at 1 + 3*2 + 9*3 + 9*In*4.
			want := float32(li*1000+(1+3*2+9*3+9*c.In*4)%997) / 1024
			if got := c.Kernel[((2*3+1)*c.In+3)*c.Out+4]; got != want {
				t.Errorf("old=%v compress=%v: conv5_4 kernel value %v, want %v", old, compress, got, want)
			}
		}
	}
}

// Networks that are not VGG-19 get an error naming the layer.
func TestNotVGG19(t *testing.T) {
	drop := func(names ...string) func(n *ldNet) {
		return func(n *ldNet) {
			n.names = slices.DeleteFunc(n.names, func(s string) bool { return slices.Contains(names, s) })
		}
	}
	tests := []struct {
		name   string
		change func(n *ldNet)
		want   string
	}{
		{"missing conv5_2", drop("conv5_2", "relu5_2"),
			"layer conv5_2: missing: layers{31} is conv5_3 (is this VGG-19?)"},
		{"VGG-16", drop("conv3_4", "relu3_4", "conv4_4", "relu4_4", "conv5_4", "relu5_4"),
			"layer conv3_4: missing: layers{18} is conv4_1 (is this VGG-19?)"},
		{"no conv5_4 at the end", func(n *ldNet) { n.names = n.names[:34] },
			"layer conv5_4: missing from layers (is this VGG-19?)"},
		{"wrong channel count", func(n *ldNet) { n.kernels["conv3_1"] = [4]int{3, 3, 5, 8} },
			"layer conv3_1 (layers{11}.weights): kernel is 3x3x5x8: 5 input channels, want the 6 outputs of conv2_2"},
		{"wrong first layer", func(n *ldNet) { n.kernels["conv1_1"] = [4]int{3, 3, 1, 4} },
			"layer conv1_1 (layers{1}.weights): kernel is 3x3x1x4: 1 input channels, want the 3 colour channels"},
		{"5x5 kernel", func(n *ldNet) { n.kernels["conv4_2"] = [4]int{5, 5, 10, 10} },
			"layer conv4_2 (layers{22}.weights): kernel is a 5x5x10x10 single array, want a 3x3xINxOUT single array"},
		{"short bias", func(n *ldNet) { n.bias["conv2_1"] = 5 },
			"layer conv2_1 (layers{6}.weights): bias is a 5x1 single array, want 6 values"},
		{"no weights", func(n *ldNet) { delete(n.kernels, "conv1_2") },
			"layer conv1_2 (layers{3}.weights): weights is a 1x0 cell array, want a 1x2 cell {kernel, bias}"},
		{"duplicate", func(n *ldNet) { n.names = slices.Insert(n.names, 3, "conv1_1") },
			"layer conv1_1 (layers{4}): appears twice"},
	}
	for _, tt := range tests {
		for _, old := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/old=%v", tt.name, old), func(t *testing.T) {
				n := newLdNet(ldWidths, ldSmallFC)
				n.old = old
				tt.change(n)
				_, err := ldLoadBytes(n.bytes(t, true))
				var le *LayerError
				if !errors.As(err, &le) || err.Error() != tt.want {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
			})
		}
	}
}

// Files that are not networks at all.
func TestNotANetwork(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"../../testdata/matcases/compact-le.mat", "no variable named layers: not a MatConvNet network"},
		{"../../testdata/matcases/v73-hdf5.mat", "save -v7"},
		{"../../testdata/matcases/not-a-mat.mat", "not a MAT-file"},
		{"../../testdata/pillow/src.png", "not a MAT-file"},
	}
	for _, tt := range tests {
		_, err := Load(tt.file)
		if err == nil || !strings.HasPrefix(err.Error(), "vgg: "+tt.file+": ") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want the file named and %q", tt.file, err, tt.want)
		}
	}
	// A network without its mean pixel.
	n := newLdNet(ldWidths, ldSmallFC)
	vars := n.vars()[:1]
	var buf mattest.Buffer
	if err := mattest.Write(&buf, mattest.Options{Compress: true}, vars...); err != nil {
		t.Fatal(err)
	}
	if _, err := ldLoadBytes(buf.Bytes()); err == nil || !strings.Contains(err.Error(), "no mean pixel") {
		t.Errorf("network without meta: error %v", err)
	}
}

// Prefixes of the tiny files (a sample, and every one near the end; the
// matfile tests cut at every byte), and files with a byte changed, are
// refused (or, for a changed byte, possibly accepted) without a panic.
func TestLoadDamaged(t *testing.T) {
	for _, name := range []string{"vgg19-tiny-new.mat", "vgg19-tiny-old.mat"} {
		b, err := os.ReadFile(filepath.Join(ldTinyDir, name))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(b); n++ {
			if n < len(b)-1024 && n%97 != 0 {
				continue
			}
			if _, err := ldLoadBytes(b[:n]); err == nil {
				t.Fatalf("%s cut at %d: no error", name, n)
			}
		}
		c := bytes.Clone(b)
		for i := 0; i < len(c); i += 1 + len(c)/600 {
			c[i] ^= 0x55
			ldLoadBytes(c)
			c[i] = b[i]
		}
	}
}

// ldCountingReaderAt counts the bytes read from the file.
type ldCountingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *ldCountingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// The fully connected layers, which follow conv5_4 inside the compressed
// layers variable, are neither read nor inflated.
func TestLoadSkipsFC(t *testing.T) {
	n := newLdNet(ldWidths, [3][4]int{{7, 7, 12, 4096}, {1, 1, 4096, 256}, {1, 1, 256, 100}})
	n.gen = func(layer int) func([]float32, int) {
		return func(dst []float32, first int) {
			x := uint32(first)*2654435761 + uint32(layer)
			for i := range dst { // poorly compressible
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				dst[i] = float32(int32(x)) / (1 << 31)
			}
		}
	}
	for _, compress := range []bool{false, true} {
		b := n.bytes(t, compress)
		r := &ldCountingReaderAt{r: bytes.NewReader(b)}
		mr, err := matfile.NewReader(r, int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := load(mr); err != nil {
			t.Fatal(err)
		}
		// The fc layers hold 12.8 MB of the file; the rest is below 100 kB,
		// plus up to 256 kB of read-ahead.
		if got := r.n.Load(); got > 400_000 || len(b) < 12_000_000 {
			t.Errorf("compress=%v: read %d bytes of a %d-byte file", compress, got, len(b))
		}
	}
}

func TestPairwiseSum(t *testing.T) {
	// Values whose float32 sum depends on the order of the additions.
	x := make([]float32, 1000)
	for i := range x {
		x[i] = 1 + float32(i%7)*1e-7*float32(i)
	}
	var naive float32
	var exact float64
	for _, v := range x {
		naive += v
		exact += float64(v)
	}
	got := pairwiseSum(x)
	if math.Abs(float64(got)-exact) > math.Abs(float64(naive)-exact) {
		t.Errorf("pairwise sum %v is further from %v than the naive one %v", got, exact, naive)
	}
	// Small sizes take the plain and the 8-accumulator paths.
	for n := range 130 {
		y := make([]float64, n)
		for i := range y {
			y[i] = float64(i + 1)
		}
		if got, want := pairwiseSum(y), float64(n*(n+1)/2); got != want {
			t.Errorf("pairwise sum of 1..%d = %v, want %v", n, got, want)
		}
	}
}

package weights

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// The files of testdata/vgg19-tiny that scripts/make_weight_formats.py
// writes from vgg19-tiny-new.mat.
const tinyDir = "../../testdata/vgg19-tiny"

var tinyFiles = []struct {
	name   string
	format Format
}{
	{"vgg19-tiny-new.mat", FormatMat},
	{"vgg19-tiny.pth", FormatTorchZip},
	{"vgg19-tiny-legacy.pth", FormatTorchLegacy},
	{"vgg19-tiny.safetensors", FormatSafetensors},
	{"vgg19-tiny-v1.caffemodel", FormatCaffe},
	{"vgg19-tiny-v2.caffemodel", FormatCaffe},
}

func loadMat(t testing.TB) *vgg.Weights {
	t.Helper()
	w, err := vgg.Load(filepath.Join(tinyDir, "vgg19-tiny-new.mat"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// sameWeights reports the first difference between two Weights, bit for
// bit.
func sameWeights(t *testing.T, got, want *vgg.Weights) {
	t.Helper()
	for i := range want.Conv {
		g, w := got.Conv[i], want.Conv[i]
		if g.In != w.In || g.Out != w.Out || len(g.Kernel) != len(w.Kernel) || len(g.Bias) != len(w.Bias) {
			t.Fatalf("%s: %dx%d (%d, %d values), want %dx%d (%d, %d)", vgg.ConvNames[i],
				g.In, g.Out, len(g.Kernel), len(g.Bias), w.In, w.Out, len(w.Kernel), len(w.Bias))
		}
		for j := range w.Kernel {
			if math.Float32bits(g.Kernel[j]) != math.Float32bits(w.Kernel[j]) {
				t.Fatalf("%s: kernel[%d] = %v, want %v", vgg.ConvNames[i], j, g.Kernel[j], w.Kernel[j])
			}
		}
		for j := range w.Bias {
			if math.Float32bits(g.Bias[j]) != math.Float32bits(w.Bias[j]) {
				t.Fatalf("%s: bias[%d] = %v, want %v", vgg.ConvNames[i], j, g.Bias[j], w.Bias[j])
			}
		}
	}
}

func TestFormatsGiveTheMatsWeights(t *testing.T) {
	want := loadMat(t)
	if want.MeanPixel != DefaultMeanPixel {
		t.Fatalf("the .mat's mean pixel %v differs from DefaultMeanPixel %v", want.MeanPixel, DefaultMeanPixel)
	}
	for _, f := range tinyFiles {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(tinyDir, f.name)
			format, err := SniffFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if format != f.format {
				t.Errorf("sniffed as %v, want %v", format, f.format)
			}
			got, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sameWeights(t, got, want)
			if got.MeanPixel != DefaultMeanPixel {
				t.Errorf("mean pixel %v, want %v", got.MeanPixel, DefaultMeanPixel)
			}
		})
	}
}

// The conv1_1 channel flip is what makes the formats agree: without it,
// the Caffe file's first kernel would differ from the .mat's.
func TestConv1FlipMatters(t *testing.T) {
	w := loadMat(t)
	k := toOIHW(w, 0)
	var b builder
	c := w.Conv[0]
	if err := b.setConv(1, "", k, c.Out, c.In, c.Bias); err != nil { // as an unflipped layer
		t.Fatal(err)
	}
	same := true
	for j := range c.Kernel {
		same = same && b.w.Conv[1].Kernel[j] == c.Kernel[j]
	}
	if same {
		t.Fatal("the tiny network's conv1_1 reads the same with and without the BGR flip: the test data cannot tell")
	}
}

func TestWrongExtensionStillLoads(t *testing.T) {
	want := loadMat(t)
	dir := t.TempDir()
	for _, f := range tinyFiles {
		data, err := os.ReadFile(filepath.Join(tinyDir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		// Every file under a name of another format.
		path := filepath.Join(dir, strings.ReplaceAll(f.name, ".", "_")+".caffemodel")
		if f.format == FormatCaffe {
			path = filepath.Join(dir, f.name+".mat")
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatalf("%s as %s: %v", f.name, filepath.Base(path), err)
		}
		sameWeights(t, got, want)
	}
}

func TestGarbageIsRefusedNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{
		"text.mat":          []byte("this is not a network at all\n"),
		"empty.pth":         nil,
		"zeros.caffemodel":  make([]byte, 4096),
		"html.safetensors":  []byte("<html><body>404 Not Found</body></html>"),
		"png.mat":           []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
		"zip-no-pickle.pth": []byte("PK\x03\x04 not really a zip"),
	}
	for name, data := range cases {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		if err == nil {
			t.Errorf("%s: loaded", name)
			continue
		}
		if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q does not name the file in one line", name, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "text.mat")); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("text: %v, want ErrUnknownFormat", err)
	}
	if _, err := Load(filepath.Join(dir, "nope.mat")); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.mat") {
		t.Errorf("missing file: %v, want fs.ErrNotExist naming the file", err)
	}
}

// Every cut of every file fails with an error (not a panic) naming the
// file.
func TestTruncatedFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range tinyFiles[1:] { // the .mat's cuts are vgg's and matfile's tests
		data, err := os.ReadFile(filepath.Join(tinyDir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, f.name)
		step := max(1, len(data)/300)
		for n := 0; n < len(data); n += step {
			if err := os.WriteFile(path, data[:n], 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); err == nil {
				// A Caffe file cut after conv5_4 is complete for Load,
				// which stops there.
				if f.format == FormatCaffe && n > bytes.Index(data, []byte("relu5_4")) {
					continue
				}
				t.Fatalf("%s cut to %d of %d bytes: loaded", f.name, n, len(data))
			} else if !strings.Contains(err.Error(), path) {
				t.Fatalf("%s cut to %d bytes: error %q does not name the file", f.name, n, err)
			}
		}
	}
}

func TestNonFiniteWeightsAreRefusedNamingTheLayer(t *testing.T) {
	w := loadMat(t)
	dir := t.TempDir()
	for _, bad := range []struct {
		layer int
		bias  bool
		v     float32
	}{
		{6, false, float32(math.NaN())},
		{15, true, float32(math.Inf(1))},
		{0, false, float32(math.Inf(-1))},
	} {
		ts := stateDictOf(w)
		ts[2*bad.layer+btoi(bad.bias)].data = append([]float32(nil), ts[2*bad.layer+btoi(bad.bias)].data...)
		ts[2*bad.layer+btoi(bad.bias)].data[1] = bad.v
		st := filepath.Join(dir, "bad.safetensors")
		writeSafetensors(t, st, ts)
		cf := filepath.Join(dir, "bad.caffemodel")
		var layers []caffeLayer
		for i := range 16 {
			layers = append(layers, caffeLayer{vgg.ConvNames[i], []rawTensor{ts[2*i], ts[2*i+1]}})
		}
		if err := os.WriteFile(cf, encodeCaffe(layers, caffeOptions{}), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{st, cf} {
			_, err := Load(path)
			var le *vgg.LayerError
			if !errors.As(err, &le) || le.Layer != vgg.ConvNames[bad.layer] {
				t.Errorf("%s with %v in %s: %v, want a LayerError for %s", filepath.Base(path), bad.v,
					vgg.ConvNames[bad.layer], err, vgg.ConvNames[bad.layer])
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The Caffe encodings the script does not write: blobs before the name,
// unpacked data.
func TestCaffeEncodings(t *testing.T) {
	want := loadMat(t)
	dir := t.TempDir()
	layers := append(caffeLayersOf(want), caffeLayer{"fc6", []rawTensor{{"fc6_w", []int64{16, 48}, make([]float32, 16*48)}}})
	for _, o := range []caffeOptions{
		{blobsFirst: true},
		{v2: true, blobsFirst: true},
		{unpacked: true},
		{v2: true, unpacked: true},
	} {
		path := filepath.Join(dir, "net.caffemodel")
		if err := os.WriteFile(path, encodeCaffe(layers, o), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		sameWeights(t, got, want)
	}
}

func TestMissingLayer(t *testing.T) {
	w := loadMat(t)
	dir := t.TempDir()
	ts := stateDictOf(w)
	ts = append(ts[:2*9], ts[2*10:]...) // no conv4_2
	path := filepath.Join(dir, "vgg.safetensors")
	writeSafetensors(t, path, ts)
	_, err := Load(path)
	var le *vgg.LayerError
	if !errors.As(err, &le) || le.Layer != "conv4_2" {
		t.Fatalf("%v, want conv4_2 missing", err)
	}
	layers := caffeLayersOf(w)
	layers = append(layers[:2*9], layers[2*10:]...)
	path = filepath.Join(dir, "vgg.caffemodel")
	if err := os.WriteFile(path, encodeCaffe(layers, caffeOptions{v2: true}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err = Load(path); !errors.As(err, &le) || le.Layer != "conv4_2" {
		t.Fatalf("%v, want conv4_2 missing", err)
	}
}

func TestHalfToFloat(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x0001, 1.0 / (1 << 24)}, {0x7bff, 65504}, {0x8000, float32(math.Copysign(0, -1))},
		{0x3555, 0.33325195}, {0x7c00, float32(math.Inf(1))},
	} {
		if got := halfToFloat(c.h); math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("halfToFloat(%#04x) = %v, want %v", c.h, got, c.want)
		}
	}
	if v := halfToFloat(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("halfToFloat(NaN) = %v", v)
	}
}

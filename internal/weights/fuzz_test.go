package weights

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// Each parser gets arbitrary bytes: it must return weights or an error,
// never panic or allocate without bound. The seeds are the testdata files,
// so the mutations start from valid files.

func seed(f *testing.F, names ...string) {
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(tinyDir, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		// Go's fuzzer runs slowly on inputs of 90 KB: the prefixes give it
		// small inputs that still reach the headers and first layers.
		for _, n := range []int{256, 2048, 16384} {
			if n < len(data) {
				f.Add(data[:n])
			}
		}
	}
}

// checkResult checks that what a parser returned is usable: 16 chained
// convolutions whose sizes match their shapes.
func checkResult(t *testing.T, w *vgg.Weights, err error) {
	if err != nil {
		if w != nil {
			t.Fatal("weights and an error")
		}
		return
	}
	in := 3
	for i, c := range w.Conv {
		if c.In != in || len(c.Kernel) != 9*c.In*c.Out || len(c.Bias) != c.Out {
			t.Fatalf("%s: %dx%d with %d kernel and %d bias values", vgg.ConvNames[i], c.In, c.Out, len(c.Kernel), len(c.Bias))
		}
		in = c.Out
	}
}

func FuzzCaffe(f *testing.F) {
	seed(f, "vgg19-tiny-v1.caffemodel", "vgg19-tiny-v2.caffemodel")
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := readCaffe(bytes.NewReader(data), int64(len(data)))
		checkResult(t, w, err)
	})
}

func FuzzTorchZip(f *testing.F) {
	seed(f, "vgg19-tiny.pth")
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := readTorchZip(bytes.NewReader(data), int64(len(data)))
		checkResult(t, w, err)
	})
}

func FuzzTorchLegacy(f *testing.F) {
	seed(f, "vgg19-tiny-legacy.pth")
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := readTorchLegacy(bytes.NewReader(data), int64(len(data)))
		checkResult(t, w, err)
	})
}

func FuzzSafetensors(f *testing.F) {
	seed(f, "vgg19-tiny.safetensors")
	f.Fuzz(func(t *testing.T, data []byte) {
		w, err := readSafetensors(bytes.NewReader(data), int64(len(data)))
		checkResult(t, w, err)
	})
}

// FuzzPickle runs the pickle machine alone on short inputs, where the
// mutations reach every opcode.
func FuzzPickle(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(tinyDir, "vgg19-tiny-legacy.pth"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[:min(len(data), 4096)])
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		u := newUnpickler(bufioReader(data))
		for range 5 {
			if _, err := u.load(); err != nil {
				return
			}
		}
	})
}

func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }

// Python 2 pickles an OrderedDict with its items as REDUCE arguments, and
// strings as BINSTRING: the state dict of an old .pth reads as a newer one.
func TestPickleOrderedDictPython2(t *testing.T) {
	// OrderedDict([['a', 1], ['bc', 2]]), as Python 2's cPickle writes it
	// with protocol 2.
	p := "\x80\x02ccollections\nOrderedDict\nq\x00]q\x01(]q\x02(U\x01aq\x03K\x01e]q\x04(U\x02bcq\x05K\x02ee\x85q\x06Rq\x07."
	v, err := newUnpickler(bufioReader([]byte(p))).load()
	if err != nil {
		t.Fatal(err)
	}
	d, ok := v.(*pyDict)
	if !ok || len(d.keys) != 2 || d.keys[0] != "a" || d.vals[0] != int64(1) || d.keys[1] != "bc" || d.vals[1] != int64(2) {
		t.Fatalf("got %#v", v)
	}
}

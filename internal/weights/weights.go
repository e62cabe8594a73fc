// Package weights finds, downloads, verifies and loads the VGG-19 network
// that neural style needs. It reads four file formats, recognised by their
// content rather than their extension, into the same *vgg.Weights:
//
//   - MatConvNet .mat (imagenet-vgg-verydeep-19.mat), through vgg.Load;
//   - Caffe .caffemodel (VGG_ILSVRC_19_layers.caffemodel), a protobuf
//     NetParameter with V1 "layers" or V2 "layer" messages;
//   - PyTorch .pth state dicts (vgg19-d01eb7cb.pth), zip or legacy format;
//   - .safetensors with the same keys as the .pth.
//
// One network gives the same Weights whatever its file: the kernels are
// rearranged as MatConvNet's utils/import-caffe.py made the .mat from the
// Caffe model, and then get the reference's transpose as vgg.Load does.
package weights

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"

	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// DefaultMeanPixel is the RGB mean pixel of the ImageNet training set as
// the VGG team published it. Caffe and PyTorch files carry none; it is the
// value in the official .mat files.
var DefaultMeanPixel = [3]float32{123.68, 116.779, 103.939}

// Format is a network file format.
type Format int

// The formats Load reads.
const (
	FormatUnknown Format = iota
	FormatMat
	FormatCaffe
	FormatTorchZip
	FormatTorchLegacy
	FormatSafetensors
)

func (f Format) String() string {
	switch f {
	case FormatMat:
		return "MatConvNet .mat"
	case FormatCaffe:
		return "Caffe .caffemodel"
	case FormatTorchZip:
		return "PyTorch .pth (zip)"
	case FormatTorchLegacy:
		return "PyTorch .pth (legacy)"
	case FormatSafetensors:
		return ".safetensors"
	}
	return "unknown"
}

// ErrUnknownFormat is wrapped by Load's error for a file in none of the
// formats it reads.
var ErrUnknownFormat = errors.New("not a VGG-19 network file: neither MatConvNet .mat, Caffe .caffemodel, PyTorch .pth nor .safetensors")

// Load reads conv1_1..conv5_4 of VGG-19 and its mean pixel from path, in
// any of the formats of the package documentation. A missing file gives a
// an error for which errors.Is(err, fs.ErrNotExist) holds; a malformed one an error naming the file and, where
// it is about a layer, a *vgg.LayerError. Weights that are not finite are
// refused, naming the layer.
func Load(path string) (*vgg.Weights, error) {
	format, err := SniffFile(path)
	if err != nil {
		return nil, err
	}
	var w *vgg.Weights
	switch format {
	case FormatMat:
		// vgg.Load names the file itself.
		if w, err = vgg.Load(path); err != nil {
			return nil, err
		}
	case FormatCaffe, FormatTorchZip, FormatTorchLegacy, FormatSafetensors:
		w, err = loadOther(path, format)
		if err != nil {
			return nil, fmt.Errorf("weights: %s: %w", path, err)
		}
	default:
		return nil, fmt.Errorf("weights: %s: %w", path, ErrUnknownFormat)
	}
	if err := checkFinite(w); err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	return w, nil
}

func loadOther(path string, format Format) (*vgg.Weights, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatCaffe:
		return readCaffe(f, st.Size())
	case FormatTorchZip:
		return readTorchZip(f, st.Size())
	case FormatTorchLegacy:
		return readTorchLegacy(f, st.Size())
	default:
		return readSafetensors(f, st.Size())
	}
}

// ErrNotRegular is the error (wrapped) for a network that is a pipe,
// FIFO, device or socket: the loaders read a file twice (its first bytes,
// then its whole) and at offsets, which a stream cannot give, and opening a
// FIFO with no writer would wait for ever.
var ErrNotRegular = errors.New("not a regular file (the network is read at its offsets: save it to a file and give that)")

// checkRegular refuses a path that exists and is neither a regular file
// nor a folder (the callers say what a folder is), before it is opened.
func checkRegular(path string) error {
	st, err := os.Stat(path)
	if err != nil || st.Mode().IsRegular() || st.IsDir() {
		return nil
	}
	kind := "special file"
	switch m := st.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		kind = "pipe"
	case m&fs.ModeCharDevice != 0:
		kind = "character device"
	case m&fs.ModeDevice != 0:
		kind = "block device"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	}
	return fmt.Errorf("weights: %s is a %s, %w", path, kind, ErrNotRegular)
}

// SniffFile tells the format of the file at path from its first bytes. A
// file in no known format gives FormatUnknown and no error. A pipe, FIFO,
// device or socket is refused with ErrNotRegular without being opened.
func SniffFile(path string) (Format, error) {
	if err := checkRegular(path); err != nil {
		return FormatUnknown, err
	}
	f, err := os.Open(path)
	if err != nil {
		return FormatUnknown, fmt.Errorf("weights: %w", err) // errors.Is(err, fs.ErrNotExist) for a missing file
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return FormatUnknown, fmt.Errorf("weights: %w", err)
	}
	if st.IsDir() {
		return FormatUnknown, fmt.Errorf("weights: %s is a folder, not a network file", path)
	}
	head := make([]byte, 64)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return FormatUnknown, fmt.Errorf("weights: %s: %w", path, err)
	}
	return Sniff(head[:n], st.Size()), nil
}

// torchMagic is the start of a legacy torch.save file: pickle protocol 2,
// then LONG1 of the 10 bytes of torch's magic number 0x1950a86a20f9469cfc6c.
var torchMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// Sniff tells a format from the first bytes of a file (64 are enough) and
// its size.
func Sniff(head []byte, size int64) Format {
	switch {
	case bytes.HasPrefix(head, []byte("MATLAB")):
		return FormatMat
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return FormatTorchZip
	case bytes.HasPrefix(head, torchMagic):
		return FormatTorchLegacy
	case len(head) >= 9 && head[8] == '{':
		n := int64(uint64(head[0]) | uint64(head[1])<<8 | uint64(head[2])<<16 | uint64(head[3])<<24 |
			uint64(head[4])<<32 | uint64(head[5])<<40 | uint64(head[6])<<48 | uint64(head[7])<<56)
		if n >= 2 && n <= maxSafetensorsHeader && 8+n <= size {
			return FormatSafetensors
		}
	}
	if looksLikeNetParameter(head) {
		return FormatCaffe
	}
	return FormatUnknown
}

// VGG-19's layer widths: the outputs of conv1_1..conv5_4.
var convOut = [16]int{64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512}

// builder collects the 16 convolutions of a Caffe or PyTorch file, whose
// kernels are stored as K[out][in][y][x] (OIHW) and read BGR in conv1_1.
type builder struct {
	w    vgg.Weights
	have [16]bool
}

// setConv stores convolution i from its kernel k in OIHW order and its
// bias. The widths are checked against the previous layer, not against
// VGG-19's, so that the tiny test networks load too.
func (b *builder) setConv(i int, where string, k []float32, out, in int, bias []float32) error {
	name := vgg.ConvNames[i]
	lerr := func(format string, args ...any) error {
		return &vgg.LayerError{Layer: name, Path: where, Msg: fmt.Sprintf(format, args...)}
	}
	if b.have[i] {
		return lerr("appears twice")
	}
	if len(k) != out*in*9 {
		return lerr("kernel has %d values, want %dx%dx3x3", len(k), out, in)
	}
	if len(bias) != out {
		return lerr("bias has %d values, want %d", len(bias), out)
	}
	conv := nn.ConvWeights{In: in, Out: out, Kernel: make([]float32, len(k)), Bias: bias}
	// MatConvNet's import-caffe.py makes W[y, x, c, o] = K[o, c, y, x]
	// (blobproto_to_array's reversal, then transpose([1,0,2,3])) and turns
	// conv1_1's input channels from BGR to RGB (W[:, :, ::-1, :]). The
	// reference then swaps W's first two axes: Kernel[x][y][c][o], which
	// is how vgg.Load stores the .mat too.
	// Viewing k as an out x (in*9) matrix, this is a transpose with its
	// rows permuted, done in tiles so that both sides stay in cache.
	rows := in * 9
	perm := make([]int, rows) // column r = c*9 + y*3 + x of k -> row of Kernel
	for r := range perm {
		c, y, x := r/9, r%9/3, r%3
		if i == 0 {
			c = in - 1 - c
		}
		perm[r] = ((x*3+y)*in + c) * out
	}
	const tile = 16
	for o0 := 0; o0 < out; o0 += tile {
		o1 := min(o0+tile, out)
		for r0 := 0; r0 < rows; r0 += tile {
			r1 := min(r0+tile, rows)
			for o := o0; o < o1; o++ {
				src := k[o*rows : (o+1)*rows]
				for r := r0; r < r1; r++ {
					conv.Kernel[perm[r]+o] = src[r]
				}
			}
		}
	}
	b.w.Conv[i] = conv
	b.have[i] = true
	return nil
}

// finish checks that all 16 convolutions are there and chain, and sets the
// default mean pixel.
func (b *builder) finish() (*vgg.Weights, error) {
	for i, ok := range b.have {
		if !ok {
			return nil, &vgg.LayerError{Layer: vgg.ConvNames[i], Msg: "missing (is this VGG-19?)"}
		}
	}
	for i := range b.w.Conv {
		want := 3
		if i > 0 {
			want = b.w.Conv[i-1].Out
		}
		if c := b.w.Conv[i]; c.In != want {
			return nil, &vgg.LayerError{Layer: vgg.ConvNames[i],
				Msg: fmt.Sprintf("kernel has %d input channels, want %d", c.In, want)}
		}
	}
	b.w.MeanPixel = DefaultMeanPixel
	return &b.w, nil
}

// checkFinite refuses weights holding a NaN or an infinity.
func checkFinite(w *vgg.Weights) error {
	for i, c := range w.Conv {
		if j := firstNonFinite(c.Kernel); j >= 0 {
			return &vgg.LayerError{Layer: vgg.ConvNames[i], Msg: fmt.Sprintf("kernel value %d is %v", j, c.Kernel[j])}
		}
		if j := firstNonFinite(c.Bias); j >= 0 {
			return &vgg.LayerError{Layer: vgg.ConvNames[i], Msg: fmt.Sprintf("bias value %d is %v", j, c.Bias[j])}
		}
	}
	if j := firstNonFinite(w.MeanPixel[:]); j >= 0 {
		return fmt.Errorf("mean pixel channel %d is %v", j, w.MeanPixel[j])
	}
	return nil
}

// firstNonFinite returns the index of the first NaN or infinity in v, or
// -1: an all-ones exponent is either.
func firstNonFinite(v []float32) int {
	for j, x := range v {
		if math.Float32bits(x)&0x7f800000 == 0x7f800000 {
			return j
		}
	}
	return -1
}

func vgg19Name(conv int) string { return vgg.ConvNames[conv] }

func layerError(layer, path, format string, args ...any) error {
	return &vgg.LayerError{Layer: layer, Path: path, Msg: fmt.Sprintf(format, args...)}
}

package weights

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// dtype is the element type of a stored tensor.
type dtype int

const (
	dtFloat32 dtype = iota + 1
	dtFloat64
	dtFloat16
	dtBFloat16
)

func (d dtype) size() int {
	switch d {
	case dtFloat64:
		return 8
	case dtFloat16, dtBFloat16:
		return 2
	}
	return 4
}

// tensorRef says where a tensor of a state dict lies in its file.
type tensorRef struct {
	key   string
	dtype dtype
	shape []int64
	// off is the file offset of the first element; the elements follow
	// contiguously in row-major order, little-endian.
	off int64
	// avail is the number of bytes from off to the end of the storage
	// that holds the tensor, for the bounds check.
	avail int64
}

func (t *tensorRef) numel() int64 {
	n := int64(1)
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// read decodes the tensor's elements into float32s, in *into when it is
// not nil (a scratch buffer grown as needed), else in a new slice.
func (t *tensorRef) read(r io.ReaderAt, buf *[]byte, into *[]float32) ([]float32, error) {
	for _, d := range t.shape {
		if d < 0 || d > 1<<31 {
			return nil, fmt.Errorf("bad shape %v", t.shape)
		}
	}
	n := t.numel()
	size := int64(t.dtype.size())
	if n > maxTensorElems {
		return nil, fmt.Errorf("shape %v is too large for a VGG-19 convolution", t.shape)
	}
	if t.off < 0 || n*size > t.avail {
		return nil, fmt.Errorf("%d bytes of data for shape %v, want %d (truncated file?)", t.avail, t.shape, n*size)
	}
	var dst []float32
	if into != nil {
		if int64(cap(*into)) < n {
			*into = make([]float32, n)
		}
		dst = (*into)[:n]
	} else {
		dst = make([]float32, n)
	}
	const chunk = 1 << 20
	if cap(*buf) < chunk {
		*buf = make([]byte, chunk)
	}
	off := t.off
	for i := int64(0); i < n; {
		m := min(n-i, chunk/size)
		b := (*buf)[:m*size]
		if _, err := r.ReadAt(b, off); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading %d bytes at offset %d: %w", len(b), off, err)
		}
		decode(dst[i:i+m], b, t.dtype)
		i += m
		off += m * size
	}
	return dst, nil
}

// maxTensorElems bounds what one convolution may hold (3x3x1024x1024,
// twice VGG-19's widest), so that a corrupt shape cannot make Load
// allocate without bound.
const maxTensorElems = 9 * 1024 * 1024

func decode(dst []float32, b []byte, dt dtype) {
	le := binary.LittleEndian
	switch dt {
	case dtFloat32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case dtFloat64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
	case dtBFloat16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		}
	case dtFloat16:
		for i := range dst {
			dst[i] = halfToFloat(le.Uint16(b[2*i:]))
		}
	}
}

// halfToFloat converts an IEEE 754 binary16 value exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: frac * 2^-24
		v := float32(frac) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// featureConv maps the index N of torchvision's vgg19().features (which
// counts convolution, ReLU and pooling modules) to the index of the
// convolution in vgg.ConvNames, or -1.
func featureConv(n int) int {
	// conv: 0 2 | 5 7 | 10 12 14 16 | 19 21 23 25 | 28 30 32 34
	idx := [...]int{0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34}
	for i, v := range idx {
		if v == n {
			return i
		}
	}
	return -1
}

// stateDictKey parses "features.N.weight" or "features.N.bias" (with an
// optional "module." prefix, as nn.DataParallel saves them).
func stateDictKey(key string) (conv int, isBias, ok bool) {
	key = strings.TrimPrefix(key, "module.")
	rest, found := strings.CutPrefix(key, "features.")
	if !found {
		return 0, false, false
	}
	num, kind, found := strings.Cut(rest, ".")
	if !found || (kind != "weight" && kind != "bias") {
		return 0, false, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, false, false
	}
	conv = featureConv(n)
	return conv, kind == "bias", conv >= 0
}

// loadStateDict builds the Weights from the tensors of a state dict.
func loadStateDict(r io.ReaderAt, tensors []tensorRef) (*builder, error) {
	var kernels, biases [16]*tensorRef
	for i := range tensors {
		t := &tensors[i]
		conv, isBias, ok := stateDictKey(t.key)
		if !ok {
			continue
		}
		slot := &kernels[conv]
		if isBias {
			slot = &biases[conv]
		}
		if *slot != nil {
			return nil, fmt.Errorf("key %s appears twice", t.key)
		}
		*slot = t
	}
	b := new(builder)
	var (
		buf     []byte
		scratch []float32 // kernels as stored, before setConv rearranges them
	)
	for i := range kernels {
		k, bias := kernels[i], biases[i]
		name := vgg19Name(i)
		if k == nil || bias == nil {
			missing := fmt.Sprintf("features.%d.weight", featureIndex(i))
			if k != nil {
				missing = fmt.Sprintf("features.%d.bias", featureIndex(i))
			}
			return nil, layerError(name, "", "missing: no tensor %s (is this VGG-19?)", missing)
		}
		if len(k.shape) != 4 || k.shape[2] != 3 || k.shape[3] != 3 {
			return nil, layerError(name, k.key, "kernel has shape %v, want [out, in, 3, 3]", k.shape)
		}
		out, in := k.shape[0], k.shape[1]
		if bias.numel() != out {
			return nil, layerError(name, bias.key, "bias has shape %v, want [%d]", bias.shape, out)
		}
		kv, err := k.read(r, &buf, &scratch)
		if err != nil {
			return nil, layerError(name, k.key, "%v", err)
		}
		bv, err := bias.read(r, &buf, nil)
		if err != nil {
			return nil, layerError(name, bias.key, "%v", err)
		}
		if err := b.setConv(i, k.key, kv, int(out), int(in), bv); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func featureIndex(conv int) int {
	for n := 0; n < 40; n++ {
		if featureConv(n) == conv {
			return n
		}
	}
	return -1
}

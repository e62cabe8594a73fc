package weights

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// Writers of the safetensors and Caffe formats for tests and benchmarks,
// from Weights (inverting Load's rearrangement) or from raw tensors.

// rawTensor is a named float32 tensor in row-major order.
type rawTensor struct {
	key   string
	shape []int64
	data  []float32
}

// toOIHW inverts builder.setConv: the K[o][c][y][x] a Caffe or PyTorch
// file stores for convolution i of w.
func toOIHW(w *vgg.Weights, i int) []float32 {
	c := w.Conv[i]
	k := make([]float32, len(c.Kernel))
	for o := range c.Out {
		for ch := range c.In {
			cc := ch
			if i == 0 {
				cc = c.In - 1 - ch
			}
			for y := range 3 {
				for x := range 3 {
					k[(o*c.In+ch)*9+y*3+x] = c.Kernel[((x*3+y)*c.In+cc)*c.Out+o]
				}
			}
		}
	}
	return k
}

// stateDictOf is w as the tensors of a PyTorch state dict.
func stateDictOf(w *vgg.Weights) []rawTensor {
	var ts []rawTensor
	for i, c := range w.Conv {
		n := featureIndex(i)
		ts = append(ts,
			rawTensor{fmt.Sprintf("features.%d.weight", n), []int64{int64(c.Out), int64(c.In), 3, 3}, toOIHW(w, i)},
			rawTensor{fmt.Sprintf("features.%d.bias", n), []int64{int64(c.Out)}, c.Bias})
	}
	return ts
}

func writeSafetensors(tb testing.TB, path string, ts []rawTensor) {
	tb.Helper()
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	off := int64(0)
	for _, t := range ts {
		n := int64(len(t.data)) * 4
		header[t.key] = map[string]any{"dtype": "F32", "shape": t.shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(h)))
	mustWrite(tb, f, lenBuf[:])
	mustWrite(tb, f, h)
	for _, t := range ts {
		mustWrite(tb, f, floatBytes(t.data))
	}
}

func floatBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func mustWrite(tb testing.TB, f *os.File, b []byte) {
	tb.Helper()
	if _, err := f.Write(b); err != nil {
		tb.Fatal(err)
	}
}

// caffeOptions choose among the encodings a reader must accept.
type caffeOptions struct {
	v2         bool // LayerParameter (field 100) and BlobShape, else V1 and 4-D dims
	blobsFirst bool // blobs before the layer's name
	unpacked   bool // data as one fixed32 field per value
}

// caffeLayer is one layer of a Caffe file: its name and blobs.
type caffeLayer struct {
	name  string
	blobs []rawTensor
}

// caffeLayersOf is w as Caffe layers, pooling and ReLU layers between.
func caffeLayersOf(w *vgg.Weights) []caffeLayer {
	var ls []caffeLayer
	for i, c := range w.Conv {
		name := vgg.ConvNames[i]
		ls = append(ls, caffeLayer{name, []rawTensor{
			{name + "_w", []int64{int64(c.Out), int64(c.In), 3, 3}, toOIHW(w, i)},
			{name + "_b", []int64{int64(c.Out)}, c.Bias},
		}}, caffeLayer{"relu" + name[4:], nil})
	}
	return ls
}

func encodeCaffe(layers []caffeLayer, o caffeOptions) []byte {
	var net []byte
	net = protowire.AppendTag(net, netName, protowire.BytesType)
	net = protowire.AppendString(net, "VGG_ILSVRC_19_layers")
	for _, l := range layers {
		var body, name []byte
		nameField, blobField := protowire.Number(v1Name), protowire.Number(v1Blobs)
		if o.v2 {
			nameField, blobField = v2Name, v2Blobs
		}
		name = protowire.AppendTag(name, nameField, protowire.BytesType)
		name = protowire.AppendString(name, l.name)
		if !o.blobsFirst {
			body = append(body, name...)
		}
		for _, b := range l.blobs {
			body = protowire.AppendTag(body, blobField, protowire.BytesType)
			body = protowire.AppendBytes(body, encodeBlob(b, o))
		}
		if o.blobsFirst {
			body = append(body, name...)
		}
		field := protowire.Number(netLayersV1)
		if o.v2 {
			field = netLayerV2
		}
		net = protowire.AppendTag(net, field, protowire.BytesType)
		net = protowire.AppendBytes(net, body)
	}
	return net
}

func encodeBlob(t rawTensor, o caffeOptions) []byte {
	var b []byte
	if !o.v2 {
		dims := append(make([]int64, 4-len(t.shape)), t.shape...)
		for i := range 4 - len(t.shape) {
			dims[i] = 1
		}
		for i, d := range dims {
			b = protowire.AppendTag(b, protowire.Number(blobNum+i), protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(d))
		}
	}
	if o.unpacked {
		for _, v := range t.data {
			b = protowire.AppendTag(b, blobData, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(v))
		}
	} else {
		b = protowire.AppendTag(b, blobData, protowire.BytesType)
		b = protowire.AppendBytes(b, floatBytes(t.data))
	}
	if o.v2 {
		var shape []byte
		for _, d := range t.shape {
			shape = protowire.AppendVarint(shape, uint64(d))
		}
		var bs []byte
		bs = protowire.AppendTag(bs, 1, protowire.BytesType)
		bs = protowire.AppendBytes(bs, shape)
		b = protowire.AppendTag(b, blobShape, protowire.BytesType)
		b = protowire.AppendBytes(b, bs)
	}
	return b
}

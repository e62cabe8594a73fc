package weights

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// Field numbers of caffe.proto used here.
const (
	netName     = 1   // NetParameter.name
	netLayersV1 = 2   // NetParameter.layers: repeated V1LayerParameter
	netLayerV2  = 100 // NetParameter.layer: repeated LayerParameter

	v1Name  = 4 // V1LayerParameter.name
	v1Blobs = 6 // V1LayerParameter.blobs
	v2Name  = 1 // LayerParameter.name
	v2Blobs = 7 // LayerParameter.blobs

	blobNum        = 1 // BlobProto.num (legacy 4-D shape)
	blobChannels   = 2
	blobHeight     = 3
	blobWidth      = 4
	blobData       = 5 // repeated float, packed
	blobShape      = 7 // BlobShape { repeated int64 dim = 1 [packed] }
	blobDoubleData = 8 // repeated double, packed
)

// looksLikeNetParameter tells whether head can start a serialised
// NetParameter: its first field is one NetParameter has, with the right
// wire type.
func looksLikeNetParameter(head []byte) bool {
	num, typ, n := protowire.ConsumeTag(head)
	if n < 0 {
		return false
	}
	switch num {
	case netName, netLayersV1, 3, 6, 8, netLayerV2: // name, layers, input, state, input_shape, layer
		return typ == protowire.BytesType
	case 4, 5, 7: // input_dim, force_backward, debug_info
		return typ == protowire.VarintType
	}
	return false
}

// pbReader reads protobuf fields from a region of an io.ReaderAt without
// holding it in memory, so that the fully connected layers (most of the
// file) are skipped unread.
type pbReader struct {
	r        io.ReaderAt
	off, end int64
	buf      [2 * binaryMaxVarint]byte
}

const binaryMaxVarint = 10

var errTruncated = errors.New("truncated protobuf message (cut file?)")

// next reads a field's tag and, for a length-delimited field, its length.
// The field's value starts at p.off on return.
func (p *pbReader) next() (num protowire.Number, typ protowire.Type, length int64, err error) {
	n := min(int64(len(p.buf)), p.end-p.off)
	b := p.buf[:n]
	if _, err := p.r.ReadAt(b, p.off); err != nil && !(err == io.EOF && n > 0) {
		return 0, 0, 0, errTruncated
	}
	num, typ, m := protowire.ConsumeTag(b)
	if m < 0 {
		return 0, 0, 0, fmt.Errorf("bad protobuf tag at offset %d: %w", p.off, protowire.ParseError(m))
	}
	p.off += int64(m)
	if typ == protowire.BytesType {
		v, k := protowire.ConsumeVarint(b[m:])
		if k < 0 {
			return 0, 0, 0, fmt.Errorf("bad protobuf length at offset %d: %w", p.off, protowire.ParseError(k))
		}
		p.off += int64(k)
		if v > uint64(p.end-p.off) {
			return 0, 0, 0, fmt.Errorf("field %d at offset %d: %d bytes, %d left: %w", num, p.off, v, p.end-p.off, errTruncated)
		}
		length = int64(v)
	}
	return num, typ, length, nil
}

// skip moves past the value of a field of type typ (length for bytes),
// and returns the varint value of a varint field.
func (p *pbReader) skip(typ protowire.Type, length int64) (uint64, error) {
	switch typ {
	case protowire.BytesType:
		p.off += length
		return 0, nil
	case protowire.Fixed32Type:
		p.off += 4
	case protowire.Fixed64Type:
		p.off += 8
	case protowire.VarintType:
		n := min(int64(binaryMaxVarint), p.end-p.off)
		b := p.buf[:n]
		if _, err := p.r.ReadAt(b, p.off); err != nil && !(err == io.EOF && n > 0) {
			return 0, errTruncated
		}
		v, m := protowire.ConsumeVarint(b)
		if m < 0 {
			return 0, fmt.Errorf("bad varint at offset %d: %w", p.off, protowire.ParseError(m))
		}
		p.off += int64(m)
		return v, nil
	default: // groups: not in caffe.proto
		return 0, fmt.Errorf("unexpected protobuf wire type %d at offset %d", typ, p.off)
	}
	if p.off > p.end {
		return 0, errTruncated
	}
	return 0, nil
}

// region is a span of the file.
type region struct{ off, len int64 }

// readCaffe reads a Caffe NetParameter: the layers named conv1_1..conv5_4,
// each with blobs {kernel num x channels x 3 x 3, bias}. It stops after the
// last of them, so the fully connected layers are never read.
func readCaffe(r io.ReaderAt, size int64) (*vgg.Weights, error) {
	top := pbReader{r: r, end: size}
	b := new(builder)
	found := 0
	var (
		scratch       []byte
		kernelScratch []float32 // kernels as stored, before setConv rearranges them
	)
	for top.off < top.end && found < len(vgg.ConvNames) {
		start := top.off
		num, typ, length, err := top.next()
		if err != nil {
			return nil, fmt.Errorf("caffe: %w", err)
		}
		if (num != netLayersV1 && num != netLayerV2) || typ != protowire.BytesType {
			if _, err := top.skip(typ, length); err != nil {
				return nil, fmt.Errorf("caffe: %w", err)
			}
			continue
		}
		layer := pbReader{r: r, off: top.off, end: top.off + length}
		top.off += length
		nameField, blobsField := protowire.Number(v1Name), protowire.Number(v1Blobs)
		if num == netLayerV2 {
			nameField, blobsField = v2Name, v2Blobs
		}
		var (
			name  string
			blobs []region
		)
		for layer.off < layer.end {
			f, t, l, err := layer.next()
			if err != nil {
				return nil, fmt.Errorf("caffe: layer at offset %d: %w", start, err)
			}
			switch {
			case f == nameField && t == protowire.BytesType:
				if l > 256 {
					return nil, fmt.Errorf("caffe: layer at offset %d: name of %d bytes", start, l)
				}
				nb := make([]byte, l)
				if _, err := r.ReadAt(nb, layer.off); err != nil {
					return nil, fmt.Errorf("caffe: layer at offset %d: %w", start, errTruncated)
				}
				name = string(nb)
			case f == blobsField && t == protowire.BytesType:
				// Kept as a region: the name may come after the blobs.
				blobs = append(blobs, region{layer.off, l})
			}
			if _, err := layer.skip(t, l); err != nil {
				return nil, fmt.Errorf("caffe: layer %q at offset %d: %w", name, start, err)
			}
		}
		i := slices.Index(vgg.ConvNames[:], name)
		if i < 0 {
			continue
		}
		where := fmt.Sprintf("layer at offset %d", start)
		if len(blobs) != 2 {
			return nil, layerError(name, where, "has %d blobs, want 2 (kernel and bias)", len(blobs))
		}
		k, kdims, err := readBlob(r, blobs[0], &scratch, &kernelScratch)
		if err != nil {
			return nil, layerError(name, where, "kernel blob: %v", err)
		}
		if len(kdims) != 4 || kdims[2] != 3 || kdims[3] != 3 {
			return nil, layerError(name, where, "kernel blob is %v, want OUT x IN x 3 x 3", kdims)
		}
		bias, _, err := readBlob(r, blobs[1], &scratch, nil)
		if err != nil {
			return nil, layerError(name, where, "bias blob: %v", err)
		}
		if err := b.setConv(i, where, k, int(kdims[0]), int(kdims[1]), bias); err != nil {
			return nil, err
		}
		found++
	}
	return b.finish()
}

// readBlob reads a BlobProto: its shape (num, channels, height, width, or
// a BlobShape, trailing ones of the legacy shape dropped for the bias) and
// its float or double data.
func readBlob(r io.ReaderAt, at region, scratch *[]byte, into *[]float32) ([]float32, []int64, error) {
	p := pbReader{r: r, off: at.off, end: at.off + at.len}
	var (
		legacy    [4]int64
		hasLegacy bool
		shape     []int64
		data      region
		elemSize  int64
		unpacked  int64 // count of data values stored one field each
	)
	for p.off < p.end {
		f, t, l, err := p.next()
		if err != nil {
			return nil, nil, err
		}
		valueAt := p.off
		v, err := p.skip(t, l)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case f >= blobNum && f <= blobWidth && t == protowire.VarintType:
			legacy[f-blobNum] = int64(v)
			hasLegacy = true
		case f == blobShape && t == protowire.BytesType:
			if l > 1024 {
				return nil, nil, fmt.Errorf("shape of %d bytes", l)
			}
			sb := make([]byte, l)
			if _, err := r.ReadAt(sb, valueAt); err != nil {
				return nil, nil, errTruncated
			}
			if shape, err = parseBlobShape(sb); err != nil {
				return nil, nil, err
			}
		case (f == blobData || f == blobDoubleData) && t == protowire.BytesType:
			if data.len != 0 || unpacked != 0 {
				return nil, nil, errors.New("more than one data field")
			}
			data, elemSize = region{valueAt, l}, 4
			if f == blobDoubleData {
				elemSize = 8
			}
		case f == blobData && t == protowire.Fixed32Type:
			// Unpacked floats, each behind its own tag: rare, read below.
			if data.len != 0 {
				return nil, nil, errors.New("packed and unpacked data")
			}
			unpacked++
		}
	}
	if shape == nil {
		shape = legacy[:]
		if !hasLegacy {
			return nil, nil, errors.New("no shape")
		}
	}
	n := int64(1)
	for _, d := range shape {
		if d < 0 || d > 1<<20 {
			return nil, nil, fmt.Errorf("bad shape %v", shape)
		}
		n *= d
	}
	if n > maxTensorElems {
		return nil, nil, fmt.Errorf("shape %v is too large for a VGG-19 convolution", shape)
	}
	if unpacked > 0 {
		if unpacked != n {
			return nil, nil, fmt.Errorf("%d values for shape %v", unpacked, shape)
		}
		return readUnpacked(r, at, n), shape, nil
	}
	if data.len != n*elemSize {
		return nil, nil, fmt.Errorf("%d bytes of data for shape %v, want %d", data.len, shape, n*elemSize)
	}
	dt := dtFloat32
	if elemSize == 8 {
		dt = dtFloat64
	}
	t := tensorRef{dtype: dt, shape: []int64{n}, off: data.off, avail: data.len}
	v, err := t.read(r, scratch, into)
	return v, shape, err
}

func parseBlobShape(b []byte) ([]int64, error) {
	var dims []int64
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType: // packed dims
			packed, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, protowire.ParseError(n)
			}
			b = b[n:]
			for len(packed) > 0 {
				v, k := protowire.ConsumeVarint(packed)
				if k < 0 {
					return nil, protowire.ParseError(k)
				}
				packed = packed[k:]
				dims = append(dims, int64(v))
			}
		case num == 1 && typ == protowire.VarintType:
			v, k := protowire.ConsumeVarint(b)
			if k < 0 {
				return nil, protowire.ParseError(k)
			}
			b = b[k:]
			dims = append(dims, int64(v))
		default:
			k := protowire.ConsumeFieldValue(num, typ, b)
			if k < 0 {
				return nil, protowire.ParseError(k)
			}
			b = b[k:]
		}
		if len(dims) > 8 {
			return nil, errors.New("shape with more than 8 dimensions")
		}
	}
	return dims, nil
}

// readUnpacked reads the n unpacked float fields of a blob that readBlob
// has already walked (so they are known to be there).
func readUnpacked(r io.ReaderAt, at region, n int64) []float32 {
	p := pbReader{r: r, off: at.off, end: at.off + at.len}
	out := make([]float32, 0, n)
	var b [4]byte
	for p.off < p.end {
		f, t, l, err := p.next()
		if err != nil {
			break
		}
		if f == blobData && t == protowire.Fixed32Type {
			if _, err := r.ReadAt(b[:], p.off); err != nil {
				break
			}
			out = append(out, math.Float32frombits(uint32(b[0])|uint32(b[1])<<8|uint32(b[2])<<16|uint32(b[3])<<24))
		}
		if _, err := p.skip(t, l); err != nil {
			break
		}
	}
	return out
}

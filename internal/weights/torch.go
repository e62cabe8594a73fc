package weights

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// PyTorch state dicts as neural-style-pt uses them: vgg19-d01eb7cb.pth is
// jcjohnson/pytorch-vgg's conversion of the Caffe VGG-19, keys
// features.N.weight [out, in, 3, 3] and features.N.bias [out], N counting
// torchvision's vgg19().features modules (conv, ReLU and pooling alike).
//
// Its conv1_1 reads BGR, as the Caffe model does: pytorch-vgg copies the
// Caffe blobs unchanged, and neural-style-pt's preprocess() feeds the
// network rgb2bgr(image * 256) minus the BGR mean [103.939, 116.779,
// 123.68] (neural_style.py, "convert from RGB to BGR, and subtract the
// mean pixel"). So the .pth kernels get the same channel flip as Caffe's
// (builder.setConv), and the RGB DefaultMeanPixel.

// maxPickleFile bounds the data.pkl of a zip file: a state dict's pickle
// is a few kilobytes.
const maxPickleFile = 64 << 20

// readTorchZip reads the zip format of torch.save (PyTorch 1.6 and later):
// ARCHIVE/data.pkl holds the pickled state dict, ARCHIVE/data/KEY the raw
// bytes of each storage, stored uncompressed.
func readTorchZip(r io.ReaderAt, size int64) (*vgg.Weights, error) {
	z, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	var pkl *zip.File
	files := map[string]*zip.File{}
	for _, f := range z.File {
		files[f.Name] = f
		if f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl") && strings.Count(f.Name, "/") == 1 {
			pkl = f
		}
	}
	if pkl == nil {
		return nil, errors.New("pth: zip file without data.pkl: not a torch.save file")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if bo, ok := files[prefix+"byteorder"]; ok {
		order, err := readZipEntry(bo, 16)
		if err != nil {
			return nil, fmt.Errorf("pth: %s: %w", bo.Name, err)
		}
		if s := string(bytes.TrimSpace(order)); s != "little" {
			return nil, fmt.Errorf("pth: byte order %q: only little-endian files are supported", s)
		}
	}
	if pkl.UncompressedSize64 > maxPickleFile {
		return nil, fmt.Errorf("pth: %s is %d bytes, too large for a state dict", pkl.Name, pkl.UncompressedSize64)
	}
	rc, err := pkl.Open()
	if err != nil {
		return nil, fmt.Errorf("pth: %s: %w", pkl.Name, err)
	}
	defer rc.Close()
	u := newUnpickler(bufio.NewReader(io.LimitReader(rc, maxPickleFile)))
	v, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("pth: %s: %w", pkl.Name, err)
	}
	dict, err := stateDict(v)
	if err != nil {
		return nil, err
	}
	// Where each storage's bytes start in the file.
	locate := func(s *pyStorage) (off, avail int64, err error) {
		f, ok := files[prefix+"data/"+s.key]
		if !ok {
			return 0, 0, fmt.Errorf("no zip entry %sdata/%s", prefix, s.key)
		}
		if f.Method != zip.Store {
			return 0, 0, fmt.Errorf("zip entry %s is compressed (method %d); torch.save stores its data", f.Name, f.Method)
		}
		off, err = f.DataOffset()
		if err != nil {
			return 0, 0, err
		}
		avail = int64(f.UncompressedSize64)
		if off+avail > size || avail < 0 {
			return 0, 0, fmt.Errorf("zip entry %s runs past the end of the file (truncated?)", f.Name)
		}
		return off, avail, nil
	}
	return tensorsOf(r, dict, locate)
}

func readZipEntry(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

// readTorchLegacy reads the format of torch.save before PyTorch 1.6 (and
// with _use_new_zipfile_serialization=False): five pickles (magic number,
// protocol version, system info, the state dict, the sorted list of
// storage keys), then each storage in that order as an 8-byte element
// count and its raw bytes.
func readTorchLegacy(r io.ReaderAt, size int64) (*vgg.Weights, error) {
	u := newUnpickler(bufio.NewReader(io.NewSectionReader(r, 0, size)))
	magic, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("pth: magic number: %w", err)
	}
	if m, ok := magic.(pyLong); !ok || !bytes.Equal(m, torchMagic[4:]) {
		return nil, errors.New("pth: wrong magic number: not a torch.save file")
	}
	version, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("pth: protocol version: %w", err)
	}
	if version != int64(1001) {
		return nil, fmt.Errorf("pth: protocol version %v, want 1001", version)
	}
	sysInfo, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("pth: system info: %w", err)
	}
	if d, ok := sysInfo.(*pyDict); ok {
		if le, ok := d.get("little_endian"); ok && le == false {
			return nil, errors.New("pth: saved on a big-endian machine: not supported")
		}
	}
	u.memo = map[uint32]any{}
	v, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("pth: state dict: %w", err)
	}
	dict, err := stateDict(v)
	if err != nil {
		return nil, err
	}
	u.memo = map[uint32]any{}
	keysV, err := u.load()
	if err != nil {
		return nil, fmt.Errorf("pth: storage keys: %w", err)
	}
	keys, ok := keysV.(*pyList)
	if !ok {
		return nil, errors.New("pth: storage keys are not a list")
	}
	type place struct{ off, avail int64 }
	places := map[*pyStorage]place{}
	pos := u.pos
	var countBuf [8]byte
	for _, k := range keys.items {
		ks, ok := k.(string)
		s := u.storages[ks]
		if !ok || s == nil {
			return nil, fmt.Errorf("pth: storage key %v names no storage of the state dict", k)
		}
		if _, err := r.ReadAt(countBuf[:], pos); err != nil {
			return nil, fmt.Errorf("pth: storage %s at offset %d: %w (truncated file?)", ks, pos, io.ErrUnexpectedEOF)
		}
		n := int64(binary.LittleEndian.Uint64(countBuf[:]))
		esize := elemSizes[s.class]
		if n != s.numel || n < 0 || n > (size-pos)/esize {
			return nil, fmt.Errorf("pth: storage %s at offset %d holds %d elements, want %d (truncated or corrupt file?)", ks, pos, n, s.numel)
		}
		places[s] = place{pos + 8, n * esize}
		pos += 8 + n*esize
	}
	locate := func(s *pyStorage) (int64, int64, error) {
		p, ok := places[s]
		if !ok {
			return 0, 0, fmt.Errorf("storage %s is not in the file's list of storages", s.key)
		}
		return p.off, p.avail, nil
	}
	return tensorsOf(r, dict, locate)
}

func (d *pyDict) get(key string) (any, bool) {
	for i, k := range d.keys {
		if k == key {
			return d.vals[i], true
		}
	}
	return nil, false
}

// stateDict finds the state dict in what a .pth holds: the dict itself, or
// a checkpoint dict with it under "state_dict" or "model".
func stateDict(v any) (*pyDict, error) {
	d, ok := v.(*pyDict)
	if !ok {
		return nil, errors.New("pth: the file holds no state dict (a whole pickled model? save model.state_dict() instead)")
	}
	for _, k := range []string{"state_dict", "model"} {
		if inner, ok := d.get(k); ok {
			if id, ok := inner.(*pyDict); ok {
				return id, nil
			}
		}
	}
	return d, nil
}

// tensorsOf turns the convolution tensors of a state dict into tensorRefs
// and loads them.
func tensorsOf(r io.ReaderAt, d *pyDict, locate func(*pyStorage) (off, avail int64, err error)) (*vgg.Weights, error) {
	var refs []tensorRef
	for i, k := range d.keys {
		key, ok := k.(string)
		if !ok {
			continue
		}
		if _, _, ok := stateDictKey(key); !ok {
			continue
		}
		t, ok := d.vals[i].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("pth: %s is not a tensor", key)
		}
		var dt dtype
		switch t.storage.class {
		case "FloatStorage":
			dt = dtFloat32
		case "DoubleStorage":
			dt = dtFloat64
		case "HalfStorage":
			dt = dtFloat16
		case "BFloat16Storage":
			dt = dtBFloat16
		default:
			return nil, fmt.Errorf("pth: %s is a %s tensor, want floating point", key, t.storage.class)
		}
		if len(t.size) != len(t.stride) || !contiguous(t.size, t.stride) {
			return nil, fmt.Errorf("pth: %s has size %v and strides %v: not contiguous", key, t.size, t.stride)
		}
		off, avail, err := locate(t.storage)
		if err != nil {
			return nil, fmt.Errorf("pth: %s: %w", key, err)
		}
		esize := int64(dt.size())
		if t.offset > avail/esize {
			return nil, fmt.Errorf("pth: %s starts at element %d of a storage of %d bytes", key, t.offset, avail)
		}
		refs = append(refs, tensorRef{key: key, dtype: dt, shape: t.size,
			off: off + t.offset*esize, avail: avail - t.offset*esize})
	}
	b, err := loadStateDict(r, refs)
	if err != nil {
		return nil, err
	}
	return b.finish()
}

// contiguous tells whether strides are row-major for size (dimensions of
// size 1 may have any stride).
func contiguous(size, stride []int64) bool {
	want := int64(1)
	for i := len(size) - 1; i >= 0; i-- {
		if size[i] != 1 && stride[i] != want {
			return false
		}
		want *= size[i]
	}
	return true
}

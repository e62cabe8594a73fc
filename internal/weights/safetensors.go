package weights

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// maxSafetensorsHeader is the largest JSON header the safetensors format
// allows (100 MB).
const maxSafetensorsHeader = 100 << 20

// readSafetensors reads a .safetensors file: an 8-byte little-endian header
// length N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets":
// [begin, end]}, "__metadata__": {...}}, then the data, whose offsets are
// relative to the end of the header. Only the 32 convolution tensors are
// read.
func readSafetensors(r io.ReaderAt, size int64) (*vgg.Weights, error) {
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("safetensors: reading the header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader || int64(n) > size-8 {
		return nil, fmt.Errorf("safetensors: header of %d bytes in a file of %d", n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("safetensors: reading the %d-byte header: %w", n, err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(header, &entries); err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	base := 8 + int64(n)
	var tensors []tensorRef
	for key, raw := range entries {
		if key == "__metadata__" {
			continue
		}
		var e struct {
			Dtype   string  `json:"dtype"`
			Shape   []int64 `json:"shape"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("safetensors: header entry %s: %w", key, err)
		}
		// Every tensor must lie within the file, read or not: a cut file
		// is refused even if it still holds the convolutions.
		if len(e.Offsets) != 2 || e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > size-base {
			return nil, fmt.Errorf("safetensors: %s has data_offsets %v outside the %d bytes of data (truncated file?)", key, e.Offsets, size-base)
		}
		if _, _, ok := stateDictKey(key); !ok {
			continue // the classifier and anything else not needed
		}
		var dt dtype
		switch e.Dtype {
		case "F32":
			dt = dtFloat32
		case "F64":
			dt = dtFloat64
		case "F16":
			dt = dtFloat16
		case "BF16":
			dt = dtBFloat16
		default:
			return nil, fmt.Errorf("safetensors: %s has dtype %q, want F32, F64, F16 or BF16", key, e.Dtype)
		}
		tensors = append(tensors, tensorRef{key: key, dtype: dt, shape: e.Shape,
			off: base + e.Offsets[0], avail: e.Offsets[1] - e.Offsets[0]})
	}
	// Map order is random: read in file order, for the disk and for
	// errors that do not change from run to run.
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].off < tensors[j].off })
	b, err := loadStateDict(r, tensors)
	if err != nil {
		return nil, err
	}
	return b.finish()
}

//go:build linux

package weights

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// fullShapes are VGG-19's tensors at their real sizes (548 MB of float32),
// fully connected layers included, in state-dict order.
func fullShapes() []rawTensor {
	var ts []rawTensor
	in := 3
	for i, out := range convOut {
		n := featureIndex(i)
		ts = append(ts,
			rawTensor{key: fmt.Sprintf("features.%d.weight", n), shape: []int64{int64(out), int64(in), 3, 3}},
			rawTensor{key: fmt.Sprintf("features.%d.bias", n), shape: []int64{int64(out)}})
		in = out
	}
	for i, s := range [][2]int64{{4096, 25088}, {4096, 4096}, {1000, 4096}} {
		n := []int{0, 3, 6}[i]
		ts = append(ts,
			rawTensor{key: fmt.Sprintf("classifier.%d.weight", n), shape: []int64{s[0], s[1]}},
			rawTensor{key: fmt.Sprintf("classifier.%d.bias", n), shape: []int64{s[0]}})
	}
	return ts
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// writeRandom streams n random float32s of the scale of trained weights.
func writeRandom(w *bufio.Writer, n int64, seed uint64) error {
	x := seed*0x9e3779b97f4a7c15 | 1
	var b [4]byte
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(int32(x>>32))*(0.02/(1<<31))))
		if _, err := w.Write(b[:]); err != nil {
			return err
		}
	}
	return nil
}

func writeFullSafetensors(tb testing.TB, path string) {
	ts := fullShapes()
	header := map[string]any{}
	off := int64(0)
	for _, t := range ts {
		n := numel(t.shape) * 4
		header[t.key] = map[string]any{"dtype": "F32", "shape": t.shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	h, _ := json.Marshal(header)
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	binary.Write(w, binary.LittleEndian, uint64(len(h)))
	w.Write(h)
	for i, t := range ts {
		if err := writeRandom(w, numel(t.shape), uint64(i)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

// writeFullCaffe streams a Caffe file of VGG-19's sizes, fc6..fc8 included.
func writeFullCaffe(tb testing.TB, path string, v2 bool) {
	ts := fullShapes()
	names := append(vgg.ConvNames[:], "fc6", "fc7", "fc8")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	nameField, blobField, layerField := protowire.Number(v1Name), protowire.Number(v1Blobs), protowire.Number(netLayersV1)
	if v2 {
		nameField, blobField, layerField = v2Name, v2Blobs, netLayerV2
	}
	for i, name := range names {
		var blobHeads [2][]byte
		var blobLens [2]int
		for j := range 2 {
			t := ts[2*i+j]
			n := int(numel(t.shape)) * 4
			var head []byte
			o := caffeOptions{v2: v2}
			if !o.v2 {
				dims := append(make([]int64, 4-len(t.shape)), t.shape...)
				for k := range 4 - len(t.shape) {
					dims[k] = 1
				}
				for k, d := range dims {
					head = protowire.AppendTag(head, protowire.Number(blobNum+k), protowire.VarintType)
					head = protowire.AppendVarint(head, uint64(d))
				}
			}
			if o.v2 {
				// The shape before the data: both orders are valid.
				var dims, bs []byte
				for _, d := range t.shape {
					dims = protowire.AppendVarint(dims, uint64(d))
				}
				bs = protowire.AppendTag(bs, 1, protowire.BytesType)
				bs = protowire.AppendBytes(bs, dims)
				head = protowire.AppendTag(head, blobShape, protowire.BytesType)
				head = protowire.AppendBytes(head, bs)
			}
			head = protowire.AppendTag(head, blobData, protowire.BytesType)
			head = protowire.AppendVarint(head, uint64(n))
			blobHeads[j] = head
			blobLens[j] = len(head) + n
		}
		var body []byte
		body = protowire.AppendTag(body, nameField, protowire.BytesType)
		body = protowire.AppendString(body, name)
		total := len(body)
		for j := range 2 {
			total += protowire.SizeTag(blobField) + protowire.SizeVarint(uint64(blobLens[j])) + blobLens[j]
		}
		var lh []byte
		lh = protowire.AppendTag(lh, layerField, protowire.BytesType)
		lh = protowire.AppendVarint(lh, uint64(total))
		w.Write(lh)
		w.Write(body)
		for j := range 2 {
			var bh []byte
			bh = protowire.AppendTag(bh, blobField, protowire.BytesType)
			bh = protowire.AppendVarint(bh, uint64(blobLens[j]))
			w.Write(bh)
			w.Write(blobHeads[j])
			if err := writeRandom(w, numel(ts[2*i+j].shape), uint64(2*i+j)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
}

// BenchmarkLoadFull loads full-size files of each format: safetensors and
// Caffe written here, .pth from $WEIGHTS_FULL_DIR (written by
// scripts/make_weight_formats.py --full DIR), a .mat from $VGG19_MAT. Run
// one format per process for its peak RSS:
//
//	go test -run='^$' -bench='LoadFull/caffe-v1$' -benchtime=3x ./internal/weights
func BenchmarkLoadFull(b *testing.B) {
	dir := b.TempDir()
	cases := []struct {
		name  string
		write func(path string)
		path  string
	}{
		{name: "safetensors", write: func(p string) { writeFullSafetensors(b, p) }},
		{name: "caffe-v1", write: func(p string) { writeFullCaffe(b, p, false) }},
		{name: "caffe-v2", write: func(p string) { writeFullCaffe(b, p, true) }},
	}
	if d := os.Getenv("WEIGHTS_FULL_DIR"); d != "" {
		cases = append(cases,
			struct {
				name  string
				write func(string)
				path  string
			}{name: "pth-zip", path: filepath.Join(d, "vgg19-full.pth")},
			struct {
				name  string
				write func(string)
				path  string
			}{name: "pth-legacy", path: filepath.Join(d, "vgg19-full-legacy.pth")})
	}
	if p := os.Getenv("VGG19_MAT"); p != "" {
		cases = append(cases, struct {
			name  string
			write func(string)
			path  string
		}{name: "mat", path: p})
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			path := c.path
			if c.write != nil {
				path = filepath.Join(dir, c.name)
				start := time.Now()
				c.write(path)
				b.Logf("wrote %s in %v", c.name, time.Since(start).Round(time.Millisecond))
			}
			var before syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			b.ResetTimer()
			for range b.N {
				w, err := Load(path)
				if err != nil {
					b.Fatal(err)
				}
				if w.Conv[15].Out != 512 {
					b.Fatal("not full size")
				}
			}
			b.StopTimer()
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
				b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
				// CPU time: on a shared machine a steadier measure than
				// the wall clock.
				cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
				b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
			}
		})
	}
}

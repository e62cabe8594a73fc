package stylize

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/optim"
)

// The state file (StatePath) holds what a run needs to continue as if it
// had never stopped, little-endian:
//
//	"NSSTATE\n", version uint32 (1)
//	settings: count uint32, then each key (uint16 length, bytes) and value
//	  (uint32 length, bytes): the input files' SHA-256, the network's path,
//	  size and modification time, every option that changes the numbers
//	seed int64, scale uint32 (0-based), steps uint32 (taken at that scale)
//	W, H uint32: the image's size at that scale
//	x, then the best image: W*H*3 float32 each (preprocessed)
//	best loss float64, have-best uint8
//	records: count uint32, then each scale uint32, label int64, content,
//	  style, tv, total float64
//	optimiser: 'a' (Adam: beta1^t, beta2^t float32, m, v W*H*3 float32
//	  each) or 'l' (L-BFGS: optim.LBFGS.WriteTo's stream)
//	CRC-32 (IEEE) of every byte before it, uint32
const (
	stateMagic   = "NSSTATE\n"
	stateVersion = 1

	maxStateSettings = 1 << 12
	maxStateKey      = 1 << 8
	maxStateValue    = 1 << 16
	maxStateRecords  = 1 << 26
)

// ErrState marks a state file that cannot be read: truncated, corrupt or
// of another version.
var ErrState = errors.New("bad state file")

// StatePath is the state file of a run writing output: the output's name
// with ".state" added.
func StatePath(output string) string { return output + ".state" }

// setting is one thing a saved state must match, named by its Options
// field (the command line shows it as its flag).
type setting struct{ key, value string }

// runSettings lists what changes a run's numbers: the inputs' contents, the
// network file and the options.
func runSettings(r *resolved) ([]setting, error) {
	var list []setting
	files := []struct{ key, path string }{{"Content", r.Content}}
	for i, s := range r.Styles {
		files = append(files, struct{ key, path string }{fmt.Sprintf("Styles %d", i+1), s})
	}
	if r.Initial != "" {
		files = append(files, struct{ key, path string }{"Initial", r.Initial})
	}
	for _, f := range files {
		if st, err := os.Stat(f.path); err == nil && !st.Mode().IsRegular() {
			// A pipe, FIFO or device reads once, and the run reads it: its
			// bytes cannot be hashed here too.
			list = append(list, setting{f.key, "not compared (a pipe, FIFO or device)"})
			continue
		}
		sum, err := fileSHA256(f.path)
		if err != nil {
			return nil, err
		}
		list = append(list, setting{f.key, "SHA-256 " + sum})
	}
	fi, err := os.Stat(r.Network)
	if err != nil {
		return nil, &imageio.Error{Op: "read", Path: r.Network, Err: err}
	}
	list = append(list, setting{"Network", fmt.Sprintf("%s (%d bytes, modified %s)", r.Network, fi.Size(), fi.ModTime().UTC().Format("2006-01-02T15:04:05.999999999Z"))})
	for _, o := range []struct {
		key   string
		value any
	}{
		{"Iterations", r.Iterations}, {"PrintIterations", r.PrintIterations},
		{"CheckpointIterations", r.CheckpointIterations}, {"Width", r.Width},
		{"Scales", r.Scales}, {"ScaleIterations", r.ScaleIterations},
		{"StyleScales", r.styleScales}, {"StyleBlendWeights", r.blend},
		{"ContentWeight", r.ContentWeight}, {"ContentWeightBlend", r.ContentWeightBlend},
		{"ContentLayers", r.ContentLayers}, {"StyleWeight", r.StyleWeight},
		{"StyleLayerWeightExp", r.StyleLayerWeightExp}, {"StyleLayers", r.StyleLayers},
		{"TVWeight", r.TVWeight}, {"Optimizer", r.Optimizer},
		{"LearningRate", r.LearningRate}, {"Beta1", r.Beta1}, {"Beta2", r.Beta2}, {"Epsilon", r.Epsilon},
		{"LBFGSHistory", r.LBFGSHistory}, {"InitialNoiseBlend", r.noiseBlend},
		{"PreserveColors", r.PreserveColors}, {"Pooling", r.Pooling}, {"MaxPixels", r.MaxPixels},
	} {
		list = append(list, setting{o.key, fmt.Sprint(o.value)})
	}
	return list, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", &imageio.Error{Op: "read", Path: path, Err: err}
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", &imageio.Error{Op: "read", Path: path, Err: err}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// stateHeader is the part of a state read before the run is prepared.
type stateHeader struct {
	settings     []setting
	seed         int64
	scale, steps int
	w, h         int
}

// stateFile is an open state file whose header matched the run.
type stateFile struct {
	path   string
	f      *os.File
	r      *stateReader
	header *stateHeader
}

func (s *stateFile) Close() error { return s.f.Close() }

// openState opens the run's state file and checks that it was saved by a
// run with these settings (the seed too, unless this run draws one).
func openState(r *resolved, settings []setting) (*stateFile, error) {
	path := StatePath(r.Output)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &OptionError{Option: "Resume", Usage: true,
			Msg: fmt.Sprintf("found no state file %s: a run saves it at every checkpoint and when interrupted", path)}
	}
	if err != nil {
		return nil, &imageio.Error{Op: "read", Path: path, Err: err}
	}
	sr := newStateReader(f)
	hdr, err := readStateHeader(sr, r.MaxPixels)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := compareSettings(path, hdr.settings, settings); err != nil {
		f.Close()
		return nil, err
	}
	if r.Seed != RandomSeed && r.Seed != hdr.seed {
		f.Close()
		return nil, &OptionError{Option: "Resume", Msg: fmt.Sprintf("%s was saved by a run with Seed %d, not %d", path, hdr.seed, r.Seed)}
	}
	if hdr.scale >= len(r.scales) || hdr.steps > r.scales[hdr.scale].iterations {
		f.Close()
		return nil, fmt.Errorf("%s: %w: step %d of scale %d is past the run's end", path, ErrState, hdr.steps, hdr.scale+1)
	}
	return &stateFile{path: path, f: f, r: sr, header: hdr}, nil
}

// compareSettings names the first setting that differs between a saved
// state and this run.
func compareSettings(path string, saved, now []setting) error {
	differ := func(format string, args ...any) error {
		return &OptionError{Option: "Resume", Msg: fmt.Sprintf("cannot continue %s: ", path) + fmt.Sprintf(format, args...)}
	}
	for i, s := range now {
		if i >= len(saved) || saved[i].key != s.key {
			return differ("it was saved by a run with other inputs (%s is new)", s.key)
		}
		if saved[i].value != s.value {
			return differ("it was saved with %s %s, this run has %s", s.key, saved[i].value, s.value)
		}
	}
	if len(saved) > len(now) {
		return differ("it was saved by a run with %s, which this run has not", saved[len(now)].key)
	}
	return nil
}

// restore reads the rest of the state into opt and returns the image to
// continue from, the loop's state and the records so far. w, h are the
// scale's image size.
func (s *stateFile) restore(w, h int, opt Optimizer) (*engine.Image, *loopResult, []Record, error) {
	if s.header.w != w || s.header.h != h {
		return nil, nil, nil, fmt.Errorf("%s: %w: image %dx%d, the run's scale %d is %dx%d", s.path, ErrState, s.header.w, s.header.h, s.header.scale+1, w, h)
	}
	x, lr, recs, err := readStateBody(s.r, s.header, opt)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", s.path, err)
	}
	return x, lr, recs, nil
}

// writeState saves the run's state after lr.steps steps at scale s.
func (j *job) writeState(s int, x *engine.Image, lr *loopResult, opt Optimizer, recs []Record) error {
	return imageio.WriteFileAtomic(StatePath(j.r.Output), func(w io.Writer) error {
		return writeStateTo(w, &stateHeader{settings: j.settings, seed: j.seed, scale: s, steps: lr.steps, w: x.W, h: x.H}, x, lr, opt, recs)
	})
}

func writeStateTo(out io.Writer, hdr *stateHeader, x *engine.Image, lr *loopResult, opt Optimizer, recs []Record) error {
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(out, crc), 1<<16)
	le := binary.LittleEndian
	var b [8]byte
	u32 := func(v uint32) { le.PutUint32(b[:4], v); bw.Write(b[:4]) }
	u64 := func(v uint64) { le.PutUint64(b[:], v); bw.Write(b[:]) }
	f32s := func(v []float32) {
		for _, f := range v {
			u32(math.Float32bits(f))
		}
	}
	bw.WriteString(stateMagic)
	u32(stateVersion)
	u32(uint32(len(hdr.settings)))
	for _, st := range hdr.settings {
		le.PutUint16(b[:2], uint16(len(st.key)))
		bw.Write(b[:2])
		bw.WriteString(st.key)
		u32(uint32(len(st.value)))
		bw.WriteString(st.value)
	}
	u64(uint64(hdr.seed))
	u32(uint32(hdr.scale))
	u32(uint32(hdr.steps))
	u32(uint32(hdr.w))
	u32(uint32(hdr.h))
	f32s(x.Pix)
	f32s(lr.best.Pix)
	u64(math.Float64bits(lr.bestLoss))
	if lr.haveBest {
		bw.WriteByte(1)
	} else {
		bw.WriteByte(0)
	}
	u32(uint32(len(recs)))
	for _, r := range recs {
		u32(uint32(r.Scale))
		u64(uint64(int64(r.Label)))
		for _, v := range [4]float64{r.Losses.Content, r.Losses.Style, r.Losses.TV, r.Losses.Total} {
			u64(math.Float64bits(v))
		}
	}
	switch o := opt.(type) {
	case *Adam:
		bw.WriteByte('a')
		u32(math.Float32bits(o.beta1Power))
		u32(math.Float32bits(o.beta2Power))
		f32s(o.m)
		f32s(o.v)
	case *optim.LBFGS:
		bw.WriteByte('l')
		if _, err := o.WriteTo(bw); err != nil {
			return err
		}
	default:
		return fmt.Errorf("state: optimiser %T cannot be saved", opt)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	le.PutUint32(b[:4], crc.Sum32())
	_, err := out.Write(b[:4])
	return err
}

// stateReader reads a state file, keeping the CRC of what it read.
type stateReader struct {
	r   *bufio.Reader
	crc hash.Hash32
	err error
}

func newStateReader(r io.Reader) *stateReader {
	return &stateReader{r: bufio.NewReaderSize(r, 1<<16), crc: crc32.NewIEEE()}
}

// Read reads through the CRC (for optim.LBFGS.ReadFrom).
func (s *stateReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.crc.Write(p[:n])
	return n, err
}

func (s *stateReader) full(p []byte) {
	if s.err != nil {
		clear(p)
		return
	}
	if _, err := io.ReadFull(s, p); err != nil {
		s.err = fmt.Errorf("%w: truncated", ErrState)
		clear(p)
	}
}

func (s *stateReader) u8() byte { var b [1]byte; s.full(b[:]); return b[0] }
func (s *stateReader) u16() uint16 {
	var b [2]byte
	s.full(b[:])
	return binary.LittleEndian.Uint16(b[:])
}
func (s *stateReader) u32() uint32 {
	var b [4]byte
	s.full(b[:])
	return binary.LittleEndian.Uint32(b[:])
}
func (s *stateReader) u64() uint64 {
	var b [8]byte
	s.full(b[:])
	return binary.LittleEndian.Uint64(b[:])
}
func (s *stateReader) f64() float64 { return math.Float64frombits(s.u64()) }

func (s *stateReader) f32s(v []float32) {
	var b [4096]byte
	for len(v) > 0 && s.err == nil {
		k := min(len(v), len(b)/4)
		s.full(b[:4*k])
		for i := range k {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		v = v[k:]
	}
}

func (s *stateReader) text(n int) string {
	if s.err != nil {
		return ""
	}
	b := make([]byte, n)
	s.full(b)
	return string(b)
}

// readStateHeader reads and checks the header; maxPixels bounds the image
// size it may announce.
func readStateHeader(s *stateReader, maxPixels int) (*stateHeader, error) {
	if magic := s.text(len(stateMagic)); s.err == nil && magic != stateMagic {
		return nil, fmt.Errorf("%w: not a neuralstyle state file", ErrState)
	}
	if v := s.u32(); s.err == nil && v != stateVersion {
		return nil, fmt.Errorf("%w: version %d, this program reads %d", ErrState, v, stateVersion)
	}
	n := s.u32()
	if n > maxStateSettings {
		return nil, fmt.Errorf("%w: %d settings", ErrState, n)
	}
	hdr := &stateHeader{}
	for i := 0; i < int(n) && s.err == nil; i++ {
		k := s.u16()
		if k > maxStateKey {
			return nil, fmt.Errorf("%w: setting key of %d bytes", ErrState, k)
		}
		key := s.text(int(k))
		v := s.u32()
		if v > maxStateValue {
			return nil, fmt.Errorf("%w: setting %q of %d bytes", ErrState, key, v)
		}
		hdr.settings = append(hdr.settings, setting{key, s.text(int(v))})
	}
	hdr.seed = int64(s.u64())
	scale, steps, w, h := s.u32(), s.u32(), s.u32(), s.u32()
	if s.err != nil {
		return nil, s.err
	}
	if w == 0 || h == 0 || uint64(w)*uint64(h) > uint64(maxPixels) || scale > math.MaxInt32 || steps > math.MaxInt32 {
		return nil, fmt.Errorf("%w: image %dx%d at scale %d, step %d", ErrState, w, h, scale, steps)
	}
	hdr.scale, hdr.steps, hdr.w, hdr.h = int(scale), int(steps), int(w), int(h)
	return hdr, nil
}

// readStateBody reads the rest of a state whose header is hdr into opt,
// made for hdr's image size, and checks the CRC and the end.
func readStateBody(s *stateReader, hdr *stateHeader, opt Optimizer) (*engine.Image, *loopResult, []Record, error) {
	n := hdr.w * hdr.h * 3
	x := &engine.Image{W: hdr.w, H: hdr.h, Pix: make([]float32, n)}
	lr := &loopResult{best: &engine.Image{W: hdr.w, H: hdr.h, Pix: make([]float32, n)}, steps: hdr.steps}
	s.f32s(x.Pix)
	s.f32s(lr.best.Pix)
	lr.bestLoss = s.f64()
	switch b := s.u8(); {
	case s.err != nil:
	case b > 1:
		return nil, nil, nil, fmt.Errorf("%w: have-best flag %d", ErrState, b)
	default:
		lr.haveBest = b == 1
	}
	count := s.u32()
	if count > maxStateRecords {
		return nil, nil, nil, fmt.Errorf("%w: %d records", ErrState, count)
	}
	var recs []Record
	for i := 0; i < int(count) && s.err == nil; i++ {
		r := Record{Scale: int(s.u32()), Label: int(int64(s.u64()))}
		r.Losses = engine.Losses{Content: s.f64(), Style: s.f64(), TV: s.f64(), Total: s.f64()}
		if r.Scale > hdr.scale || r.Label < 0 {
			return nil, nil, nil, fmt.Errorf("%w: record %d at scale %d, label %d", ErrState, i, r.Scale+1, r.Label)
		}
		recs = append(recs, r)
	}
	kind := s.u8()
	if s.err != nil {
		return nil, nil, nil, s.err
	}
	switch o := opt.(type) {
	case *Adam:
		if kind != 'a' {
			return nil, nil, nil, fmt.Errorf("%w: saved optimiser %q is not Adam", ErrState, kind)
		}
		if len(o.m) != n {
			return nil, nil, nil, fmt.Errorf("%w: Adam for %d values, the state has %d", ErrState, len(o.m), n)
		}
		o.beta1Power = math.Float32frombits(s.u32())
		o.beta2Power = math.Float32frombits(s.u32())
		s.f32s(o.m)
		s.f32s(o.v)
	case *optim.LBFGS:
		if kind != 'l' {
			return nil, nil, nil, fmt.Errorf("%w: saved optimiser %q is not L-BFGS", ErrState, kind)
		}
		if _, err := o.ReadFrom(s); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %w", ErrState, err)
		}
	default:
		return nil, nil, nil, fmt.Errorf("state: optimiser %T cannot be restored", opt)
	}
	if s.err != nil {
		return nil, nil, nil, s.err
	}
	want := s.crc.Sum32()
	var b [4]byte
	if _, err := io.ReadFull(s.r, b[:]); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: truncated", ErrState)
	}
	if got := binary.LittleEndian.Uint32(b[:]); got != want {
		return nil, nil, nil, fmt.Errorf("%w: checksum %08x, content gives %08x (corrupt)", ErrState, got, want)
	}
	if _, err := s.r.ReadByte(); err != io.EOF {
		return nil, nil, nil, fmt.Errorf("%w: data after the end", ErrState)
	}
	return x, lr, recs, nil
}

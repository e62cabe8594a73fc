package matfile

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// inflateAll decodes deflate data with the inflater, reading chunk bytes at
// a time, and returns the output and the error Read ended with (nil at
// io.EOF).
func inflateAll(z *inflater, b []byte, chunk int) ([]byte, error) {
	z.reset(bytes.NewReader(b), 0, int64(len(b)))
	var out []byte
	buf := make([]byte, chunk)
	for {
		n, err := z.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func deflate(t testing.TB, data []byte, level int) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return buf.Bytes()
}

// inflateInputs are data of every kind deflate treats differently.
func inflateInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	floats := make([]byte, 0, 4*500_000)
	for range 500_000 {
		floats = binary.LittleEndian.AppendUint32(floats, math.Float32bits(float32(rng.NormFloat64()*0.02)))
	}
	text := []byte(strings.Repeat("the quick brown fox jumps over the lazy dog; ", 20000))
	mixed := append(append(append([]byte{}, random[:70_000]...), make([]byte, 100_000)...), text[:200_000]...)
	runs := make([]byte, 0, 200_000)
	for len(runs) < 200_000 {
		runs = append(runs, bytes.Repeat([]byte{byte(rng.Uint32())}, 1+rng.IntN(600))...)
	}
	return map[string][]byte{
		"empty": {}, "one": {42}, "random": random, "floats": floats, "text": text,
		"zeros": make([]byte, 1_000_000), "mixed": mixed, "runs": runs,
	}
}

// The inflater decodes what compress/flate encodes, at every level, whatever
// the size of the reads.
func TestInflate(t *testing.T) {
	var z inflater
	for name, data := range inflateInputs() {
		for _, level := range []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, 5, flate.BestCompression} {
			comp := deflate(t, data, level)
			for _, chunk := range []int{1 << 20, 4096, 77} {
				if chunk < 4096 && len(data) > 300_000 {
					continue
				}
				got, err := inflateAll(&z, comp, chunk)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%s level %d chunk %d: %d bytes (want %d), error %v", name, level, chunk, len(got), len(data), err)
				}
			}
		}
	}
}

// Cut deflate data gives io.ErrUnexpectedEOF, never a short success.
func TestInflateTruncated(t *testing.T) {
	var z inflater
	inputs := inflateInputs()
	for _, name := range []string{"text", "random", "one", "runs"} {
		for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.BestCompression} {
			data := inputs[name]
			comp := deflate(t, data[:min(len(data), 100_000)], level)
			step := 1 + len(comp)/300
			for n := 0; n < len(comp); n += step {
				_, err := inflateAll(&z, comp[:n], 1<<20)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("%s level %d cut at %d of %d: error %v", name, level, n, len(comp), err)
				}
			}
		}
	}
}

// The zlib trailer is read after the data.
func TestInflateTrailer(t *testing.T) {
	data := []byte(strings.Repeat("abc", 1000))
	comp := binary.BigEndian.AppendUint32(deflate(t, data, 6), adler32.Checksum(data))
	var z inflater
	if _, err := inflateAll(&z, comp, 100); err != nil {
		t.Fatal(err)
	}
	if sum, err := z.trailer(); err != nil || sum != adler32.Checksum(data) {
		t.Errorf("trailer %08x, %v; want %08x", sum, err, adler32.Checksum(data))
	}
	if _, err := inflateAll(&z, comp[:len(comp)-1], 100); err != nil {
		t.Fatal(err)
	}
	if _, err := z.trailer(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short trailer: %v", err)
	}
}

// Damaged data decodes as compress/flate decodes it, or gives an error.
func TestInflateCorrupt(t *testing.T) {
	var z inflater
	inputs := inflateInputs()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, name := range []string{"text", "runs", "floats"} {
		comp := deflate(t, inputs[name][:20000], 6)
		for i := range 300 {
			bad := bytes.Clone(comp)
			bad[rng.IntN(len(bad))] ^= byte(1 << (i % 8))
			checkLikeFlate(t, &z, bad)
		}
	}
}

func checkLikeFlate(t *testing.T, z *inflater, comp []byte) {
	t.Helper()
	want, werr := io.ReadAll(flate.NewReader(bytes.NewReader(comp)))
	got, err := inflateAll(z, comp, 1<<16)
	if werr == nil && (err != nil || !bytes.Equal(got, want)) {
		t.Fatalf("compress/flate decodes %d bytes, the inflater %d with error %v", len(want), len(got), err)
	}
}

// FuzzInflate checks the inflater against compress/flate: whatever the
// latter decodes, the inflater decodes the same.
func FuzzInflate(f *testing.F) {
	for _, data := range inflateInputs() {
		if len(data) > 20000 {
			data = data[:20000]
		}
		for _, level := range []int{0, 1, 9, flate.HuffmanOnly} {
			f.Add(deflate(f, data, level))
		}
	}
	var z inflater
	f.Fuzz(func(t *testing.T, comp []byte) {
		checkLikeFlate(t, &z, comp)
	})
}

func BenchmarkInflate(b *testing.B) {
	data := inflateInputs()["floats"]
	comp := deflate(b, data, 6)
	buf := make([]byte, len(data))
	b.Run("matfile", func(b *testing.B) {
		var z inflater
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			z.reset(bytes.NewReader(comp), 0, int64(len(comp)))
			if _, err := io.ReadFull(&z, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compress-flate", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := io.ReadFull(flate.NewReader(bytes.NewReader(comp)), buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

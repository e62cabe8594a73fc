package vgg

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/matfile"
)

// flipNet is a network of 0.45 M weights of the scale of trained ones, with
// random mantissas, so that it compresses as poorly as the real file.
func flipNet(tb testing.TB) []byte {
	n := newLdNet([5]int{16, 32, 64, 64, 64}, ldSmallFC)
	n.gen = func(layer int) func([]float32, int) {
		return func(dst []float32, first int) {
			x := uint64(first)*0x9e3779b97f4a7c15 + uint64(layer+100)*0xbf58476d1ce4e5b9 | 1
			for i := range dst {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				dst[i] = float32(int32(x>>32)) * (0.02 / (1 << 31))
			}
		}
	}
	return n.bytes(tb, true)
}

// loadedRegion is the span of file offsets of the compressed layers
// variable that inflate to its data up to the end of conv5_4: what the
// loader reads.
func loadedRegion(tb testing.TB, b []byte) (start, end int) {
	n := int(binary.LittleEndian.Uint32(b[132:]))
	zdata := b[138 : 136+n]
	inflated, err := io.ReadAll(flate.NewReader(bytes.NewReader(zdata)))
	if err != nil {
		tb.Fatal(err)
	}
	// relu5_4's name, as the UTF-16 of a char array, follows conv5_4.
	name := []byte{'r', 0, 'e', 0, 'l', 0, 'u', 0, '5', 0, '_', 0, '4', 0}
	at := bytes.Index(inflated, name)
	if at < 0 {
		tb.Fatal("relu5_4 not found")
	}
	// The shortest prefix of the deflate data that inflates past it.
	lo, hi := 0, len(zdata) // inflating zdata[:hi] reaches at; zdata[:lo] does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		got, _ := io.Copy(io.Discard, flate.NewReader(bytes.NewReader(zdata[:mid])))
		if got >= int64(at) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return 138, 138 + hi
}

// Single-byte changes in the part of the compressed layers variable the
// loader inflates. Deflate has no checksum but the one at the end of the
// stream, which the loader does not reach: a changed byte is found only
// where it breaks the deflate data (invalid codes or block headers) or
// decodes to garbage that breaks the MAT-file structure or holds a NaN or an
// infinity. Changes that keep the codes in step (a literal changed into
// another of the same code length, extra bits of a match) go unseen; the
// SHA-256 check of the whole file is what finds those.
func TestLoadByteFlips(t *testing.T) {
	b := flipNet(t)
	if _, err := ldLoadBytes(b); err != nil {
		t.Fatal(err)
	}
	start, end := loadedRegion(t, b)
	rng := rand.New(rand.NewPCG(15, 60))
	const flips = 60
	caught, verified := 0, 0
	c := bytes.Clone(b)
	verify := func(b []byte) error {
		r, err := matfile.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return err
		}
		return r.Verify()
	}
	for range flips {
		i := start + rng.IntN(end-start)
		c[i] ^= byte(1 + rng.IntN(255))
		if _, err := ldLoadBytes(c); err != nil {
			caught++
		}
		if err := verify(c); err != nil {
			verified++
		}
		c[i] = b[i]
	}
	t.Logf("of %d single-byte changes in the %d compressed bytes the loader inflates (of %d), Load caught %d, Verify %d", flips, end-start, len(b), caught, verified)
	// Measured: 24, as with the loader before NaN/Inf were refused and the
	// layer after conv5_4 was read: every change that shifts the inflated
	// data was caught already, and every one missed decodes in step to 1-21
	// other bytes (the Huffman codes fall back in step), which nothing short
	// of the checksum at the end of the stream can see.
	if caught < 20 {
		t.Errorf("Load caught %d of %d changes, want at least 20", caught, flips)
	}
	if verified != flips {
		t.Errorf("Verify caught %d of %d changes, want all", verified, flips)
	}
	path := filepath.Join(t.TempDir(), "vgg.mat")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); err != nil {
		t.Errorf("Verify of the file unchanged: %v", err)
	}
}

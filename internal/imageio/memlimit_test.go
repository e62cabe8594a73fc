package imageio

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/sysmem"
)

// patchJPEGSize sets the frame size in a JPEG's SOF0/1/2 segment.
func patchJPEGSize(t *testing.T, data []byte, w, h int) []byte {
	t.Helper()
	b := append([]byte(nil), data...)
	for i := 2; i+9 < len(b); {
		if b[i] != 0xff {
			t.Fatal("lost in the JPEG's segments")
		}
		m, n := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		if m == 0xc0 || m == 0xc1 || m == 0xc2 {
			binary.BigEndian.PutUint16(b[i+5:], uint16(h))
			binary.BigEndian.PutUint16(b[i+7:], uint16(w))
			return b
		}
		i += 2 + n
	}
	t.Fatal("no SOF segment")
	return nil
}

// TestReadMemoryLimit: with ReadOptions.MaxMemory, an image whose
// decoding would not fit is refused from its header, as ErrTooLarge naming
// the sizes and the limit's source, before its pixels are allocated (the
// hostile run's 9999 x 9999 PNG of 300 KB, within --max-pixels, ended the
// process under "ulimit -v 1500000" with Go's fatal "out of memory"); one
// that fits is read; a zero limit checks nothing.
func TestReadMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	photo, err := os.ReadFile(filepath.Join("testdata", "photo420.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(dir, "small.png")
	if err := os.WriteFile(small, rawPNG(3, 2, 8, 2, [][]byte{make([]byte, 9), make([]byte, 9)}), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := make([][]byte, 20)
	for i := range rows {
		rows[i] = make([]byte, 3*20)
	}
	bigPNG := filepath.Join(dir, "big.png") // declares 20000 x 20000, holds 20 rows
	if err := os.WriteFile(bigPNG, rawPNG(20000, 20000, 8, 2, rows), 0o644); err != nil {
		t.Fatal(err)
	}
	bigJPEG := filepath.Join(dir, "big.jpg")
	if err := os.WriteFile(bigJPEG, patchJPEGSize(t, photo, 20000, 20000), 0o644); err != nil {
		t.Fatal(err)
	}
	limit := sysmem.Limit{Bytes: 1 << 30, Source: "test limit"}
	for _, p := range []string{bigPNG, bigJPEG} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Read(p, ReadOptions{MaxPixels: -1, MaxMemory: limit})
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "20000 x 20000 pixels would take about 8.94 GiB to decode, over the memory limit of 1.00 GiB (test limit)") {
			t.Errorf("%s: %v, want ErrTooLarge with the sizes and the limit", filepath.Base(p), err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
			t.Errorf("%s: %d bytes allocated before the refusal", filepath.Base(p), n)
		}
	}
	need := DecodeBytes(3, 2)
	if _, err := Read(small, ReadOptions{MaxMemory: sysmem.Limit{Bytes: need}}); err != nil {
		t.Errorf("a 3 x 2 image with a limit of exactly %d bytes: %v", need, err)
	}
	if _, err := Read(small, ReadOptions{MaxMemory: sysmem.Limit{Bytes: need - 1}}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a 3 x 2 image with a limit of %d bytes: %v, want ErrTooLarge", need-1, err)
	}
	// No limit: the checks before are those of old (here the pixel limit).
	if _, err := Read(bigPNG, ReadOptions{}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "exceeds the limit of 100000000") {
		t.Errorf("big.png without MaxMemory: %v, want the pixel limit's error", err)
	}
}

//go:build unix

package imageio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

func streamPNG(t *testing.T) []byte {
	src := image.NewGray(image.Rect(0, 0, 400, 300))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.Uint32())
	}
	return encodePNG(t, src) // noise: bigger than a pipe's buffer, so the writer blocks
}

func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.png")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReadFIFO reads an image from a FIFO ("--content <(cat x.png)" is a
// pipe like it), which Read refused as empty.
func TestReadFIFO(t *testing.T) {
	data := streamPNG(t)
	want := mustRead(t, writeTemp(t, "file.png", data))
	p := mkfifo(t)
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		w.Write(data)
		w.Close()
	}()
	got, err := Read(p, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Pix, want.Pix) {
		t.Error("pixels from the FIFO differ from the file's")
	}
}

// TestReadPipe reads through /dev/fd, as the shell's <(...) passes it.
func TestReadPipe(t *testing.T) {
	data := streamPNG(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { w.Write(data); w.Close() }()
	got, err := Read(fmt.Sprintf("/dev/fd/%d", r.Fd()), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.W != 400 || got.H != 300 {
		t.Errorf("read %d x %d, want 400 x 300", got.W, got.H)
	}
}

// TestReadStreamErrors: an empty pipe, one that is not an image, and one
// whose header is over the pixel limit (refused before the rest is read:
// the writer is left blocked).
func TestReadStreamErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		kind error
		msg  string
	}{
		{"empty", nil, ErrUnsupported, "no data"},
		{"text", []byte("not an image at all"), ErrUnsupported, "not an image"},
		{"over the limit", rawPNG(50000, 50000, 8, 2, nil), ErrTooLarge, "exceeds the limit"},
		{"cut", streamPNG(t)[:60000], ErrTruncated, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mkfifo(t)
			go func() {
				w, err := os.OpenFile(p, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				w.Write(tc.data)
				w.Close()
			}()
			_, err := Read(p, ReadOptions{})
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want %v with %q and the path", err, tc.kind, tc.msg)
			}
		})
	}
}

// TestReadContextSilentFIFO gives up on a FIFO nothing writes to, and on
// one whose writer sends nothing, when the context is cancelled (a Ctrl-C),
// with an error that says so.
func TestReadContextSilentFIFO(t *testing.T) {
	for _, withWriter := range []bool{false, true} {
		t.Run(fmt.Sprintf("writer=%v", withWriter), func(t *testing.T) {
			p := mkfifo(t)
			if withWriter {
				// O_RDWR does not wait for a reader, and never sends a byte.
				w, err := os.OpenFile(p, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
			} else {
				// Let the abandoned open finish when the test ends.
				defer func() {
					if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						w.Close()
					}
				}()
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { _, err := ReadContext(ctx, p, ReadOptions{}); done <- err }()
			time.Sleep(50 * time.Millisecond)
			select {
			case err := <-done:
				t.Fatalf("ReadContext returned before the cancel: %v", err)
			default:
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted while waiting") ||
					!strings.Contains(err.Error(), p) {
					t.Errorf("error %v, want context.Canceled, the path and what it waited for", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("ReadContext still waiting 5 s after the cancel")
			}
		})
	}
}

// TestHeaderPipe: a pipe's header and pixels come from its one read, its
// EXIF orientation applied to the header's size as to the pixels.
func TestHeaderPipe(t *testing.T) {
	rows := make([][]byte, 30)
	for y := range rows {
		rows[y] = make([]byte, 40*3)
		for x := range rows[y] {
			rows[y][x] = byte(x + 3*y)
		}
	}
	data := rawPNG(40, 30, 8, 2, rows, pngChunk("eXIf", exifOrientation(6, binary.BigEndian)))
	want := mustRead(t, writeTemp(t, "file.png", data))
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { w.Write(data); w.Close() }()
	hd, err := OpenContext(context.Background(), fmt.Sprintf("/dev/fd/%d", r.Fd()), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer hd.Close()
	if hd.W != 30 || hd.H != 40 {
		t.Errorf("header %d x %d, want 30 x 40 (orientation 6)", hd.W, hd.H)
	}
	got, err := hd.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if got.W != want.W || got.H != want.H || !slices.Equal(got.Pix, want.Pix) {
		t.Error("pixels from the pipe differ from the file's")
	}
}

package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
)

// withOrientation inserts an EXIF APP1 segment holding orientation o
// after a JPEG's SOI marker.
func withOrientation(jpg []byte, o uint16) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("II*\x00")
	binary.Write(&tiff, binary.LittleEndian, []uint32{8})
	binary.Write(&tiff, binary.LittleEndian, []uint16{1, 0x0112, 3})
	binary.Write(&tiff, binary.LittleEndian, []uint32{1})
	binary.Write(&tiff, binary.LittleEndian, []uint16{o, 0})
	binary.Write(&tiff, binary.LittleEndian, []uint32{0})
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	app1 := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(2+len(seg)))
	return append(append(append([]byte{}, jpg[:2]...), append(app1, seg...)...), jpg[2:]...)
}

// peakRSS runs args in a child process and returns its exit status, stderr
// and peak resident memory in bytes.
func peakRSS(t *testing.T, args []string) (int, string, int64) {
	t.Helper()
	cmd := child(t, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String(), int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10 // kilobytes on Linux
}

// TestMemoryRefusedFromHeaders: a run whose sizes, known from the images'
// headers and the resizing rules, are over --max-memory is refused with
// the usual message before the pixels are decoded and before any resize
// allocates (hostile run: a 1x300 PNG at --width 500 took ~878 MB, the
// 500x150000 content, before the refusal). An EXIF-rotated JPEG's header
// gives its displayed size.
func TestMemoryRefusedFromHeaders(t *testing.T) {
	dir := t.TempDir()
	tall := filepath.Join(dir, "tall.png")
	if err := imageio.Save(tall, imageio.New(1, 300)); err != nil {
		t.Fatal(err)
	}
	var jpg bytes.Buffer // stored 300x2, shown 2x300 (orientation 6: turned clockwise)
	if err := jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 300, 2)), nil); err != nil {
		t.Fatal(err)
	}
	rotated := filepath.Join(dir, "rotated.jpg")
	if err := os.WriteFile(rotated, withOrientation(jpg.Bytes(), 6), 0o644); err != nil {
		t.Fatal(err)
	}
	// The PNG through a FIFO, as "--content <(cat tall.png)" passes it:
	// the header comes from the one read a pipe allows.
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, content, want string
	}{
		{"1x300 PNG", tall, "content 500x150000, style 500x310 would take about "},
		{"rotated 300x2 JPEG", rotated, "content 500x75000, style 500x310 would take about "},
		{"1x300 PNG through a FIFO", fifo, "content 500x150000, style 500x310 would take about "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content == fifo {
				data, err := os.ReadFile(tall)
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
						w.Write(data)
						w.Close()
					}
				}()
			}
			args := baseArgs(t.TempDir(), "--content", tt.content, "--width", "500", "--max-memory", "1GB")
			code, stderr, peak := peakRSS(t, args)
			if code != exitUsage || strings.Count(stderr, "\n") != 1 ||
				!strings.HasPrefix(stderr, "neuralstyle: --max-memory is exceeded: "+tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and the --max-memory refusal for %q", code, stderr, exitUsage, tt.want)
			}
			t.Logf("peak RSS %d MB", peak>>20)
			if peak > 150<<20 {
				t.Errorf("the refused run's peak resident memory was %d MB, want no image of the refused size", peak>>20)
			}
		})
	}
}

// TestContentThroughFIFO: a content image through a FIFO, as
// "--content <(cat content.png)" passes it, runs and gives the output of
// the file itself (the run's settings, for --resume, hashed the content
// first and took the FIFO's bytes: the run then waited for a second
// writer for ever).
func TestContentThroughFIFO(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(tiny, "content.png"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "content.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Write(data)
			w.Close()
		}
	}()
	cmd := child(t, baseArgs(dir, "--content", fifo, "--iterations", "1")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(time.Minute, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	timer.Stop()
	if err != nil {
		t.Fatalf("%v (killed after a minute?); stderr %q", err, stderr.String())
	}
	want := filepath.Join(t.TempDir(), "want")
	if err := os.Mkdir(want, 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, baseArgs(want, "--iterations", "1")...); code != exitOK {
		t.Fatalf("from the file: exit %d, stderr %q", code, stderr)
	}
	got, err1 := os.ReadFile(filepath.Join(dir, "out.png"))
	exp, err2 := os.ReadFile(filepath.Join(want, "out.png"))
	if err1 != nil || err2 != nil || !bytes.Equal(got, exp) {
		t.Errorf("the output from the FIFO differs from the file's (%v, %v)", err1, err2)
	}
}

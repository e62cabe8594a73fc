//go:build unix

package imageio

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteRefusesSpecialFiles: an output that is, or links to, a FIFO,
// a socket or a device is refused before any work and by every write,
// and the special file stays what it was. The rename of a replacing write
// used to put a regular file in its place: run as root with an output
// linked to /dev/null, that replaced /dev/null itself (hostile run,
// --output out.png -> /dev/null --overwrite, and progress.png -> /dev/full
// with --progress-plot).
func TestWriteRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock.png")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	linkFIFO := link("to-fifo.png", "fifo.png")
	linkSock := link("to-sock.png", sock)
	linkNull := link("to-null.png", "/dev/null")

	writers := []struct {
		name  string
		write func(string) error
	}{
		{"Save", func(p string) error { return Save(p, smooth(3, 2)) }},
		{"SaveNew", func(p string) error { return SaveNew(p, smooth(3, 2)) }},
		{"WriteFileAtomic", func(p string) error {
			return WriteFileAtomic(p, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err })
		}},
	}
	for _, c := range []struct {
		path, kind, target string
	}{
		{fifo, "named pipe", ""},
		{sock, "socket", ""},
		{linkFIFO, "named pipe", fifo},
		{linkSock, "socket", sock},
	} {
		for _, w := range writers {
			err := w.write(c.path)
			if w.name == "SaveNew" && errors.Is(err, ErrAppeared) {
				continue // never replaces anything either
			}
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.kind) {
				t.Errorf("%s(%s): %v, want ErrNotRegular naming a %s", w.name, filepath.Base(c.path), err, c.kind)
			}
			if c.target != "" && err != nil && !strings.Contains(err.Error(), c.target) {
				t.Errorf("%s(%s): %v does not name the link's target %s", w.name, filepath.Base(c.path), err, c.target)
			}
		}
		if err := CheckWritable(c.path); !errors.Is(err, ErrNotRegular) {
			t.Errorf("CheckWritable(%s): %v, want ErrNotRegular", filepath.Base(c.path), err)
		}
	}
	// /dev/null only through the checks: a write that regressed would
	// replace it when the tests run as root.
	for _, check := range []func(string) error{CheckWritable, CheckWritableFile} {
		if err := check(linkNull); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "character device") {
			t.Errorf("check of a link to /dev/null: %v, want ErrNotRegular naming a character device", err)
		}
	}
	for _, p := range []string{fifo, sock} {
		st, err := os.Lstat(p)
		if err != nil || st.Mode().IsRegular() {
			t.Errorf("%s is now %v (%v), want the special file kept", filepath.Base(p), st.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

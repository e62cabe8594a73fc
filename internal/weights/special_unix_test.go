//go:build unix

package weights

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadRefusesStreams: a network that is a FIFO, a pipe or a device is
// refused at once with ErrNotRegular naming what it is (hostile run:
// "--network <(cat vgg19.pth)" said "zip: not a valid zip file", the sniff
// having eaten the pipe's first bytes, and a FIFO with no writer hung the
// run, which a first Ctrl-C did not stop).
func TestLoadRefusesStreams(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "net.mat")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	go w.Write([]byte("PK\x03\x04 a zip that never ends"))
	for _, c := range []struct{ path, kind string }{
		{fifo, "pipe"},
		{"/dev/fd/" + strconv.Itoa(int(r.Fd())), "pipe"},
		{"/dev/zero", "character device"},
	} {
		if _, err := os.Stat(c.path); err != nil {
			t.Logf("%s: %v", c.path, err)
			continue
		}
		done := make(chan error, 1)
		go func() { _, err := Load(c.path); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), c.path+" is a "+c.kind) {
				t.Errorf("Load(%s): %v, want ErrNotRegular saying it is a %s", c.path, err, c.kind)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Load(%s) still waiting after 5 s", c.path)
		}
	}
}

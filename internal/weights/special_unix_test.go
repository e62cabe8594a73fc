//go:build unix

package weights

import (
	"context"
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

// TestHashFileStopsOnCancel: hashing a FIFO that nothing writes to, or a
// pipe whose writer sends nothing, ends when the context does (hostile run:
// "weights verify FIFO" under "timeout 5" ignored the SIGTERM and waited
// for ever; only a second signal ended it).
func TestHashFileStopsOnCancel(t *testing.T) {
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
	for _, path := range []string{fifo, "/dev/fd/" + strconv.Itoa(int(r.Fd()))} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := HashFile(ctx, path); done <- err }()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("HashFile(%s) after the cancel: %v, want context.Canceled", path, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("HashFile(%s) still waiting 5 s after the cancel", path)
		}
	}
	// A pipe that delivers is hashed to its end.
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	go func() { w2.Write([]byte("abc")); w2.Close() }()
	sums, err := HashFile(context.Background(), "/dev/fd/"+strconv.Itoa(int(r2.Fd())))
	if err != nil || sums.Size != 3 || sums.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("HashFile of a pipe with abc: %+v, %v", sums, err)
	}
}

//go:build unix

package fifo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestOpenGivesUpOnSilentFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	f, err := Open(ctx, path)
	if err == nil {
		f.Close()
		t.Fatal("opened a FIFO with no writer")
	}
	if !errors.Is(err, ErrNoWriter) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want ErrNoWriter and the context's error", err)
	}
}

func TestOpenRegularAndMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a regular file opens whatever ctx says
	f, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Open(ctx, path+".missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

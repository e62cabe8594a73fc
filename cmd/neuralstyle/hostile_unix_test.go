//go:build unix

package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOutputSpecialFiles: an --output, a progress file or a link to one
// that is a FIFO or a socket is refused before the work, with --overwrite
// or not, in one line, and stays what it was. Found by the hostile run:
// with --overwrite the final rename replaced the link's target, so that
// out.png -> /dev/null run as root replaced /dev/null with the image, and
// a progress.png -> /dev/full (progress files are always replaced) did
// the same without --overwrite.
func TestOutputSpecialFiles(t *testing.T) {
	for _, c := range []struct {
		name  string
		make  func(t *testing.T, dir string) string // returns the special file
		extra []string
	}{
		{"fifo output", func(t *testing.T, dir string) string { return mkfifo(t, filepath.Join(dir, "out.png")) }, []string{"--overwrite"}},
		{"link to a fifo", func(t *testing.T, dir string) string {
			f := mkfifo(t, filepath.Join(dir, "pipe"))
			symlink(t, "pipe", filepath.Join(dir, "out.png"))
			return f
		}, []string{"--overwrite"}},
		{"link to a socket", func(t *testing.T, dir string) string {
			s := filepath.Join(dir, "sock")
			l, err := net.Listen("unix", s)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			symlink(t, s, filepath.Join(dir, "out.png"))
			return s
		}, []string{"--overwrite"}},
		{"progress.png to a fifo", func(t *testing.T, dir string) string {
			f := mkfifo(t, filepath.Join(dir, "pipe"))
			symlink(t, "pipe", filepath.Join(dir, "progress.png"))
			return f
		}, []string{"--progress-plot"}},
		{"progress.txt a fifo", func(t *testing.T, dir string) string {
			return mkfifo(t, filepath.Join(dir, "progress.txt"))
		}, []string{"--progress-write"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			special := c.make(t, dir)
			code, stdout, stderr := runCLI(t, baseArgs(dir, c.extra...)...)
			if code != exitRuntime {
				t.Errorf("exit %d, want %d: %s", code, exitRuntime, stderr)
			}
			if !strings.Contains(stderr, "not a regular file") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr %q, want one line saying it is not a regular file", stderr)
			}
			if strings.Contains(stdout, "Optimization started") {
				t.Errorf("the run started before the output was refused:\n%s", stdout)
			}
			if st, err := os.Lstat(special); err != nil || st.Mode().IsRegular() {
				t.Errorf("%s is now %v (%v), want it kept", special, st.Mode(), err)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") || e.Name() == "out.png" && e.Type().IsRegular() {
					t.Errorf("%s left behind", e.Name())
				}
			}
		})
	}
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

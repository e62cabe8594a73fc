package imageio

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "progress.txt")
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := WriteFileAtomic(p, write("first\n")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, write("second\n")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil || string(data) != "second\n" {
		t.Fatalf("file holds %q (%v), want the second write", data, err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("replaced file's mode %v (%v), want the existing 0640 as os.Create keeps it", st.Mode(), err)
	}

	// A failing write leaves the old file as it was and no temporary file.
	failure := errors.New("disk on fire")
	err = WriteFileAtomic(p, func(w io.Writer) error {
		io.WriteString(w, "half")
		return failure
	})
	if !errors.Is(err, failure) || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v: want the write's, naming %s", err, p)
	}
	if data, _ := os.ReadFile(p); string(data) != "second\n" {
		t.Errorf("a failed write changed the file to %q", data)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"progress.txt"}) {
		t.Errorf("folder holds %v", names)
	}

	missing := filepath.Join(dir, "nope", "x.txt")
	if err := WriteFileAtomic(missing, write("x")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("write into a missing folder: %v", err)
	}
}

// TestWriteFileAtomicRemovePartial: a second Ctrl-C during a progress
// file's write removes its temporary file too.
func TestWriteFileAtomicRemovePartial(t *testing.T) {
	dir := t.TempDir()
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- WriteFileAtomic(filepath.Join(dir, "progress.png"), func(w io.Writer) error {
			io.WriteString(w, "half a plot")
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	if names := listDir(t, dir); len(names) != 1 || !strings.HasSuffix(names[0], ".tmp") {
		t.Fatalf("while writing the folder holds %v, want one temporary file", names)
	}
	RemovePartial()
	close(release)
	if err := <-done; err == nil {
		t.Error("the interrupted write reported success")
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("after the write the folder holds %v", names)
	}
}

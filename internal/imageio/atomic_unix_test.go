//go:build unix

package imageio

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFileAtomicUmask: new files get 0666 less the umask, as from
// os.Create, whatever the umask (os.CreateTemp would give 0600, a fixed
// chmod 0644 would ignore the umask).
func TestWriteFileAtomicUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	for _, umask := range []int{0o022, 0o077, 0o002, 0} {
		syscall.Umask(umask)
		for _, name := range []string{"out.png", "progress.txt"} {
			p := filepath.Join(dir, name)
			os.Remove(p)
			var err error
			if name == "out.png" {
				err = Save(p, smooth(3, 2))
			} else {
				err = WriteFileAtomic(p, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err })
			}
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o666 &^ umask)
			if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
				t.Errorf("umask %03o: %s has mode %v (%v), want %v", umask, name, st.Mode().Perm(), err, want)
			}
		}
	}
}

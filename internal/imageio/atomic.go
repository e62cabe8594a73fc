package imageio

import (
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// WriteFileAtomic writes the file at path with write, atomically: through
// a temporary file in path's folder, synced, then renamed into place, so
// that readers and crashes see the old file or the whole new one. The file
// gets the mode os.Create would give it: an existing file's, or 0666 less
// the process umask. The temporary file is registered for RemovePartial
// (a second Ctrl-C) while it exists, and removed on any failure.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	if err := writeAtomic(path, write); err != nil {
		return &Error{Op: "write", Path: path, Err: err}
	}
	return nil
}

// writeAtomic is WriteFileAtomic with errors that do not repeat the path.
func writeAtomic(path string, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := createTemp(dir, "."+filepath.Base(path)+".", ".tmp")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return missingFolder(dir)
		}
		return osCause(err)
	}
	partial.add(tmp.Name())
	defer func() {
		partial.remove(tmp.Name())
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	// Sync before the rename so that a crash cannot leave a renamed but
	// empty file.
	if err := tmp.Sync(); err != nil {
		return osCause(err)
	}
	if err := tmp.Close(); err != nil {
		return osCause(err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		// os.Create would keep the existing file's mode.
		if err := os.Chmod(tmp.Name(), st.Mode().Perm()); err != nil {
			return osCause(err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return osCause(err)
	}
	return nil
}

// createTemp creates a new file dir/prefix<random>suffix with mode 0666
// less the umask, as os.Create does (os.CreateTemp's files are 0600).
func createTemp(dir, prefix, suffix string) (*os.File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36)+suffix)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		if err != nil {
			return nil, err
		}
		return f, nil
	}
}

// partial tracks the temporary files of writes in progress.
var partial = tempSet{names: map[string]bool{}}

type tempSet struct {
	mu    sync.Mutex
	names map[string]bool
}

func (s *tempSet) add(name string) {
	s.mu.Lock()
	s.names[name] = true
	s.mu.Unlock()
}

func (s *tempSet) remove(name string) {
	s.mu.Lock()
	delete(s.names, name)
	s.mu.Unlock()
}

// RemovePartial deletes the temporary files of any write still in progress
// (Save, WriteFileAtomic). A program interrupted while writing (Ctrl-C)
// calls it from its signal handler before exiting, so that not even the
// hidden temporary file stays behind; the destination itself is never
// partly written. The interrupted write, if it goes on running, fails.
func RemovePartial() {
	partial.mu.Lock()
	defer partial.mu.Unlock()
	for name := range partial.names {
		os.Remove(name)
	}
}

package imageio

import (
	"errors"
	"fmt"
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
//
// A path that is a symbolic link is written at the link's target, as
// os.Create (and the reference's Pillow) would write it, the link kept.
// A target that is not a regular file (a device such as /dev/null, a
// FIFO, a socket) is refused with ErrNotRegular: renaming over it would
// replace the device node itself.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	if err := writeAtomic(path, write, true); err != nil {
		return &Error{Op: "write", Path: path, Err: err}
	}
	return nil
}

// ErrAppeared is the error (wrapped; errors.Is also matches fs.ErrExist)
// of a write that would not replace a file when one is found at its path.
var ErrAppeared = fmt.Errorf("a file appeared at the path while it was being written, not replacing it: %w", fs.ErrExist)

// WriteFileNew is WriteFileAtomic except that it never replaces a file:
// if one exists at path when the new one is complete, even one that
// appeared while it was written, the write fails with ErrAppeared and the
// existing file is kept.
//
// The new file is hard-linked into place, which fails on an existing name
// (link(2) on unix, CreateHardLink on Windows), then its temporary name is
// removed. Where the file system has no hard links (FAT, some network
// file systems), it falls back to a check for the name just before an
// ordinary rename: a file that appears between the two is replaced.
func WriteFileNew(path string, write func(w io.Writer) error) error {
	if err := writeAtomic(path, write, false); err != nil {
		return &Error{Op: "write", Path: path, Err: err}
	}
	return nil
}

// ErrNotRegular is the error (wrapped) of a write or check whose
// destination exists and is neither a regular file nor a folder.
var ErrNotRegular = errors.New("not a regular file")

// checkRegular refuses a file to be replaced, target (path itself or the
// target of the link path), that exists and is a device, FIFO, socket or
// other special file, naming what it is: a rename onto it would replace the
// special file (as root, even /dev/null) with ours. The error names target
// when it is not path.
func checkRegular(path, target string) error {
	st, err := os.Lstat(target)
	if err != nil || st.Mode().IsRegular() || st.IsDir() {
		return nil
	}
	m := st.Mode()
	kind := "special file"
	switch {
	case m&fs.ModeCharDevice != 0:
		kind = "character device"
	case m&fs.ModeDevice != 0:
		kind = "block device"
	case m&fs.ModeNamedPipe != 0:
		kind = "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	}
	what := "is"
	if target != path {
		what = "links to " + target + ", which is"
	}
	return fmt.Errorf("%s a %s, %w: not replacing it", what, kind, ErrNotRegular)
}

// writeAtomic is WriteFileAtomic (replace set) or WriteFileNew with errors
// that do not repeat the path.
func writeAtomic(path string, write func(w io.Writer) error, replace bool) (err error) {
	given := path
	path, err = linkTarget(path)
	if err != nil {
		return err
	}
	if err := checkRegular(given, path); err != nil {
		return err
	}
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
	if !replace {
		return linkNew(tmp.Name(), path)
	}
	// Again just before the rename: a special file may have appeared.
	if err := checkRegular(given, path); err != nil {
		return err
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

// linkNew moves the complete file tmp to path unless a file exists there.
func linkNew(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil {
		os.Remove(tmp)
		return nil
	}
	if errors.Is(err, fs.ErrExist) {
		return ErrAppeared
	}
	// No hard links here: check, then rename (see WriteFileNew).
	if _, lerr := os.Lstat(path); lerr == nil {
		return ErrAppeared
	}
	if err := os.Rename(tmp, path); err != nil {
		return osCause(err)
	}
	return nil
}

// maxLinks bounds the symbolic links linkTarget follows, as the kernel's
// ELOOP does.
const maxLinks = 40

// linkTarget returns the file that writing path would create or replace:
// path itself, or, when path is a symbolic link, the file it points to,
// through any chain of links, even a target that does not exist yet.
func linkTarget(path string) (string, error) {
	for range maxLinks {
		st, err := os.Lstat(path)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", osCause(err)
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", fmt.Errorf("more than %d levels of symbolic links", maxLinks)
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

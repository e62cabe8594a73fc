package imageio

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// JPEGQuality is the quality Save uses for .jpg/.jpeg, as the reference (Pillow quality=95).
const JPEGQuality = 95

type encoder func(w io.Writer, m image.Image) error

var encoders = map[string]encoder{
	".jpg":  encodeJPEG,
	".jpeg": encodeJPEG,
	".png":  png.Encode,
	".gif":  encodeGIF,
	".bmp":  bmp.Encode,
	".tif":  func(w io.Writer, m image.Image) error { return tiff.Encode(w, m, nil) },
	".tiff": func(w io.Writer, m image.Image) error { return tiff.Encode(w, m, nil) },
}

func encodeJPEG(w io.Writer, m image.Image) error {
	return jpeg.Encode(w, m, &jpeg.Options{Quality: JPEGQuality})
}

func encodeGIF(w io.Writer, m image.Image) error {
	if rgba, ok := m.(*image.RGBA); ok && !rgba.Rect.Empty() {
		m = medianCut(rgba)
	}
	return gif.Encode(w, m, nil)
}

func encoderFor(path string) (encoder, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if enc, ok := encoders[ext]; ok {
		return enc, nil
	}
	what := fmt.Sprintf("unknown output extension %q", ext)
	if ext == "" {
		what = "no file extension to choose the output format"
	}
	return nil, &detailError{kind: ErrUnsupported, msg: what + " (use .jpg, .jpeg, .png, .gif, .bmp, .tif or .tiff)"}
}

// Save writes img by the file's extension (.jpg/.jpeg quality 95, .png, .gif, .bmp, .tif/.tiff), values clipped to 0..255 and truncated to uint8, via a temp file in the same folder renamed into place.
// An existing file is replaced; a failure at any point leaves neither a
// partial image nor the temporary file behind.
func Save(path string, img *Image) (err error) {
	fail := func(err error) error { return &Error{Op: "save", Path: path, Err: err} }
	enc, err := encoderFor(path)
	if err != nil {
		return fail(err)
	}
	m := toRGBA(img)
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(missingFolder(filepath.Dir(path)))
		}
		return fail(osCause(err))
	}
	partial.add(tmp.Name())
	defer func() {
		partial.remove(tmp.Name())
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := enc(bw, m); err != nil {
		return fail(fmt.Errorf("encoding: %w", err))
	}
	if err := bw.Flush(); err != nil {
		return fail(osCause(err))
	}
	// Sync before the rename so that a crash cannot leave a renamed but empty file.
	if err := tmp.Sync(); err != nil {
		return fail(osCause(err))
	}
	if err := tmp.Close(); err != nil {
		return fail(osCause(err))
	}
	// CreateTemp makes the file private (0600); an output image is an ordinary file.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fail(osCause(err))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(osCause(err))
	}
	return nil
}

// CheckWritable reports, without leaving any file behind, whether Save(path, ...) could work: known extension, existing writable folder (create and remove a temp file there).
func CheckWritable(path string) error {
	fail := func(err error) error { return &Error{Op: "check output", Path: path, Err: err} }
	if _, err := encoderFor(path); err != nil {
		return fail(err)
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fail(missingFolder(dir))
		}
		return fail(osCause(err))
	}
	if !st.IsDir() {
		return fail(fmt.Errorf("%s is not a folder", dir))
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fail(errors.New("is a folder"))
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fail(fmt.Errorf("cannot write in folder %s: %w", dir, osCause(err)))
	}
	name := tmp.Name()
	cerr := tmp.Close()
	if err := os.Remove(name); err != nil {
		return fail(osCause(err))
	}
	if cerr != nil {
		return fail(osCause(cerr))
	}
	return nil
}

// partial tracks the temporary files of Saves in progress.
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

// RemovePartial deletes the temporary files of any Save still in progress.
// A program interrupted while saving (Ctrl-C) calls it from its signal
// handler before exiting, so that not even the hidden temporary file stays
// behind; the destination itself is never partly written. The interrupted
// Save, if it goes on running, fails.
func RemovePartial() {
	partial.mu.Lock()
	defer partial.mu.Unlock()
	for name := range partial.names {
		os.Remove(name)
	}
}

func missingFolder(dir string) error {
	return &detailError{kind: fs.ErrNotExist, msg: "folder " + dir + " does not exist"}
}

// toRGBA clips and truncates img to an opaque 8-bit image, the reference's
// np.clip(img, 0, 255).astype(np.uint8). Opaque RGBA makes the PNG, BMP and
// TIFF encoders write plain RGB.
func toRGBA(img *Image) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	p := img.Pix
	for i, j := 0, 0; i+2 < len(p); i, j = i+3, j+4 {
		m.Pix[j], m.Pix[j+1], m.Pix[j+2], m.Pix[j+3] = clip8(p[i]), clip8(p[i+1]), clip8(p[i+2]), 0xff
	}
	return m
}

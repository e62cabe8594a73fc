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

	"golang.org/x/image/bmp"
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
	".tif":  encodeTIFF,
	".tiff": encodeTIFF,
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

// Save writes img by the file's extension (.jpg/.jpeg quality 95, .png,
// .gif, .bmp, .tif/.tiff), values clipped to 0..255 and truncated to uint8,
// through WriteFileAtomic: an existing file is replaced; a failure at any
// point leaves neither a partial image nor the temporary file behind.
func Save(path string, img *Image) error {
	return save(path, img, true)
}

// SaveNew is Save except that it never replaces a file, as WriteFileNew:
// a file found at path when the image is complete, even one that appeared
// while it was encoded, is kept and the error wraps ErrAppeared.
func SaveNew(path string, img *Image) error {
	return save(path, img, false)
}

func save(path string, img *Image, replace bool) error {
	fail := func(err error) error { return &Error{Op: "save", Path: path, Err: err} }
	enc, err := encoderFor(path)
	if err != nil {
		return fail(err)
	}
	if err := encodable(path, img.W, img.H); err != nil {
		return fail(err)
	}
	m := toRGBA(img)
	err = writeAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10)
		if err := enc(bw, m); err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		return osCause(bw.Flush())
	}, replace)
	if err != nil {
		return fail(err)
	}
	return nil
}

// maxSide are the largest widths and heights the formats' encoders can
// write (JPEG's and GIF's 16-bit sizes); maxBytes the largest RGB pixel
// data (BMP's and our TIFF's 32-bit offsets and sizes, less 1 MiB of room
// for headers).
var (
	maxSide  = map[string]int{".jpg": 65535, ".jpeg": 65535, ".gif": 65535}
	maxBytes = map[string]int64{".bmp": 1<<32 - 1<<20, ".tif": 1<<32 - 1<<20, ".tiff": 1<<32 - 1<<20}
)

// CheckEncodable reports whether Save can write a w x h image at path: a
// known extension, and a size the format can hold (a JPEG at most 65535
// pixels wide and high), so that a run can refuse it before its work.
func CheckEncodable(path string, w, h int) error {
	if err := encodable(path, w, h); err != nil {
		return &Error{Op: "check output", Path: path, Err: err}
	}
	return nil
}

func encodable(path string, w, h int) error {
	if _, err := encoderFor(path); err != nil {
		return err
	}
	ext := strings.ToLower(filepath.Ext(path))
	if m, ok := maxSide[ext]; ok && (w > m || h > m) {
		return &detailError{kind: ErrTooLarge, msg: fmt.Sprintf("a %dx%d image is too large for %s, which holds at most %d pixels a side (use .png)", w, h, ext, m)}
	}
	// 3 bytes a pixel, a BMP row padded to 4
	if m, ok := maxBytes[ext]; ok && (int64(w)*3+3)&^3*int64(h) > m {
		return &detailError{kind: ErrTooLarge, msg: fmt.Sprintf("a %dx%d image is too large for %s, whose offsets are 32-bit (use .png)", w, h, ext)}
	}
	return nil
}

// CheckWritable reports, without leaving any file behind, whether Save(path, ...) could work: known extension, existing writable folder (create and remove a temp file there), path not a folder.
func CheckWritable(path string) error {
	// A folder is said first: "--output results" is a folder, not a
	// name without an extension.
	if err := checkNotFolder(path); err != nil {
		return &Error{Op: "check output", Path: path, Err: err}
	}
	if _, err := encoderFor(path); err != nil {
		return &Error{Op: "check output", Path: path, Err: err}
	}
	return CheckWritableFile(path)
}

// checkNotFolder refuses a path that is a folder, or a link to one.
func checkNotFolder(path string) error {
	path, err := linkTarget(path)
	if err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("is a folder, not a file")
	}
	return nil
}

// CheckWritableFile reports, without leaving any file behind, whether
// WriteFileAtomic(path, ...) could work: an existing folder where this
// process may create files, and path (or the target of a link there) not a
// folder, nor a device, FIFO or socket (ErrNotRegular).
func CheckWritableFile(path string) error {
	fail := func(err error) error { return &Error{Op: "check output", Path: path, Err: err} }
	if err := checkNotFolder(path); err != nil {
		return fail(err)
	}
	target, err := linkTarget(path)
	if err != nil {
		return fail(err)
	}
	if err := checkRegular(path, target); err != nil {
		return fail(err)
	}
	path = target
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

func missingFolder(dir string) error {
	return &detailError{kind: fs.ErrNotExist, msg: "folder " + dir + " does not exist"}
}

// toRGBA clips and truncates img to an opaque 8-bit image, the reference's
// np.clip(img, 0, 255).astype(np.uint8). Opaque RGBA makes the PNG and BMP
// encoders write plain RGB (the TIFF one is ours, for the same reason).
func toRGBA(img *Image) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, img.W, img.H))
	p := img.Pix
	for i, j := 0, 0; i+2 < len(p); i, j = i+3, j+4 {
		m.Pix[j], m.Pix[j+1], m.Pix[j+2], m.Pix[j+3] = clip8(p[i]), clip8(p[i+1]), clip8(p[i+2]), 0xff
	}
	return m
}

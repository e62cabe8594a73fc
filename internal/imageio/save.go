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
	fail := func(err error) error { return &Error{Op: "save", Path: path, Err: err} }
	enc, err := encoderFor(path)
	if err != nil {
		return fail(err)
	}
	m := toRGBA(img)
	err = writeAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10)
		if err := enc(bw, m); err != nil {
			return fmt.Errorf("encoding: %w", err)
		}
		return osCause(bw.Flush())
	})
	if err != nil {
		return fail(err)
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

package imageio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	_ "image/gif" // registered decoders: Read accepts every format listed in the package doc
	"image/png"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/fifo"
	"github.com/neuralstyle/neuralstyle/internal/imageio/jpeg"
	"github.com/neuralstyle/neuralstyle/internal/sysmem"

	_ "golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the pixel limit Read applies when ReadOptions.MaxPixels is 0.
const DefaultMaxPixels = 100_000_000

// ReadOptions: MaxPixels 0 means the default limit of 100 megapixels; a
// negative MaxPixels disables the limit. MaxMemory, when its Bytes are
// positive, refuses an image whose decoding would take more memory
// (DecodeBytes) with an error wrapping ErrTooLarge, before the pixels are
// allocated: an image within the pixel limit may still not fit the
// process (a 10000 x 10000 PNG of a few hundred KB takes over 2 GB to
// decode), and Go ends a process that cannot allocate with a fatal error,
// not an error value. Its Source is said in the error as given.
type ReadOptions struct {
	MaxPixels int
	MaxMemory sysmem.Limit
}

// DecodeBytesPerPixel is the peak memory Read takes per pixel: the
// float32 RGB result (12 bytes) beside the decoder's image (up to 8 bytes
// for 16-bit RGBA) or beside a rotated copy (12 bytes for an EXIF
// orientation), as measured (peak RSS 22-23 bytes per pixel for PNG and
// JPEG at 81 and 100 megapixels). Address space (RLIMIT_AS) is the same
// per pixel, on top of the Go runtime's own reservation (about 1.2 GiB of
// VmSize in a process that has allocated little), which the limit given
// must leave out (sysmem.ProcessLimit's RLIMIT_AS figure does).
const DecodeBytesPerPixel = 24

// DecodeBytes is the memory Read takes at its peak to decode a w x h image.
func DecodeBytes(w, h int) int64 {
	return DecodeBytesPerPixel * int64(w) * int64(h)
}

// checkDecode is CheckSize, then the MaxMemory check: the checks of a
// header before its pixels are decoded.
func (o ReadOptions) checkDecode(w, h int) error {
	if err := o.CheckSize(w, h); err != nil {
		return err
	}
	need := DecodeBytes(w, h)
	if lim := o.MaxMemory; lim.Bytes > 0 && need > lim.Bytes {
		msg := fmt.Sprintf("%d x %d pixels would take about %s to decode, over the memory limit of %s", w, h, sysmem.FormatSize(need), sysmem.FormatSize(lim.Bytes))
		if lim.Source != "" {
			msg += " (" + lim.Source + ")"
		}
		return &detailError{kind: ErrOverMemory, msg: msg}
	}
	return nil
}

// ErrOverMemory is the kind of the errors of images refused by
// ReadOptions.MaxMemory; it wraps ErrTooLarge.
var ErrOverMemory = fmt.Errorf("%w: over the memory limit", ErrTooLarge)

// CheckSize refuses a w x h image over the pixel limit (an error wrapping
// ErrTooLarge). Read applies it to every header; callers apply it to the
// sizes they resize to, so that no path exhausts memory.
func (o ReadOptions) CheckSize(w, h int) error {
	limit := o.MaxPixels
	if limit == 0 {
		limit = DefaultMaxPixels
	}
	if limit > 0 && int64(w)*int64(h) > int64(limit) {
		return &detailError{kind: ErrTooLarge, msg: fmt.Sprintf("%d x %d pixels exceeds the limit of %d", w, h, limit)}
	}
	return nil
}

// Read decodes a JPEG, PNG, GIF (first frame), BMP, TIFF or WebP file into RGB
// float32 0..255. The header is checked against the pixel limit before any
// pixel memory is allocated. EXIF orientation (JPEG, PNG, WebP, TIFF) is
// applied; grayscale is replicated to three channels; alpha is dropped without
// compositing (the colour channels are taken un-premultiplied, as the
// reference's img[:, :, :3] does); palette, CMYK/YCCK and 16-bit images are
// converted to 8-bit RGB. JPEG is decoded by package jpeg, to the values
// Pillow (libjpeg-turbo) gives.
// A PNG whose pixel data is whole is read even when its end (the IEND chunk,
// the last CRC) is missing, as Pillow reads it. Pipes, FIFOs and devices
// ("--content <(cat x.png)") are read like files; see ReadContext.
func Read(path string, opts ReadOptions) (*Image, error) {
	return ReadContext(context.Background(), path, opts)
}

// ReadContext is Read that gives up when ctx is done while it waits on a
// FIFO nothing writes to, or on a pipe whose writer sends nothing: the
// error then says so and wraps ctx.Err() (context.Canceled on a Ctrl-C).
// A regular file is read whole whatever ctx says.
func ReadContext(ctx context.Context, path string, opts ReadOptions) (*Image, error) {
	h, err := OpenContext(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.Decode()
}

// Header is an image whose header has been read and whose pixels have not
// been decoded: its size is known before any pixel memory exists, so that
// a caller can refuse, or plan for, what the image leads to (a resize, a
// network of its size) first. A pipe's, FIFO's or device's bytes are held
// in memory from OpenContext on (a pipe reads once), up to what an image of
// the header's size can take; a regular file stays open until Close.
type Header struct {
	W, H   int    // the size Decode gives: EXIF orientation applied (5..8 swap the stored sides)
	Format string // jpeg, png, gif, bmp, tiff or webp

	path        string
	opts        ReadOptions
	file        *os.File
	src         readSeekerAt // the file, or the stream's bytes
	size        int64
	cfg         image.Config // the stored size
	orientation int
}

type readSeekerAt interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

// OpenContext opens an image as ReadContext does and reads its header and
// its EXIF orientation, checking its size against the limits of opts; the
// errors are ReadContext's. The caller closes the Header.
func OpenContext(ctx context.Context, path string, opts ReadOptions) (*Header, error) {
	fail := func(err error) error { return &Error{Op: "read", Path: path, Err: err} }
	f, err := fifo.Open(ctx, path)
	if errors.Is(err, fifo.ErrNoWriter) {
		return nil, fail(&detailError{kind: ctx.Err(), msg: err.Error()})
	}
	if err != nil {
		return nil, fail(osCause(err))
	}
	h := &Header{path: path, opts: opts, file: f, src: f}
	if err := h.readHeader(ctx); err != nil {
		f.Close()
		return nil, fail(err)
	}
	return h, nil
}

// readHeader reads the header of h's open file.
func (h *Header) readHeader(ctx context.Context) error {
	st, err := h.file.Stat()
	if err != nil {
		return osCause(err)
	}
	if st.IsDir() {
		return &detailError{kind: ErrUnsupported, msg: "is a directory, not an image"}
	}
	if st.Mode().IsRegular() {
		if h.size = st.Size(); h.size == 0 {
			return &detailError{kind: ErrUnsupported, msg: "empty file, not an image"}
		}
		if h.cfg, h.Format, err = decodeConfig(bufio.NewReaderSize(h.file, 64<<10)); err != nil {
			if h.Format == "jpeg" {
				return err // classified by decodeConfig
			}
			return decodeCause(err, h.file, "", h.size)
		}
	} else {
		data, c, fm, err := readStream(ctx, h.file, h.opts)
		if err != nil {
			return err
		}
		r := bytes.NewReader(data)
		h.src, h.size, h.cfg, h.Format = r, r.Size(), c, fm
	}
	if h.cfg.Width <= 0 || h.cfg.Height <= 0 {
		return &detailError{kind: ErrCorrupt, msg: fmt.Sprintf("%s header gives an empty %d x %d image", h.Format, h.cfg.Width, h.cfg.Height)}
	}
	if err := h.opts.checkDecode(h.cfg.Width, h.cfg.Height); err != nil {
		return err
	}
	h.orientation = readOrientation(h.src, h.size, h.Format)
	h.W, h.H = h.cfg.Width, h.cfg.Height
	if h.orientation >= 5 {
		h.W, h.H = h.H, h.W
	}
	return nil
}

// decodeConfig reads an image's header and names its format. JPEG goes to
// package jpeg, which decodes its pixels (image.DecodeConfig could take
// another registered JPEG decoder, which refuses samplings that package
// reads), and its errors come classified (jpegCause); the others' come as
// the decoders give them, for decodeCause.
func decodeConfig(br *bufio.Reader) (image.Config, string, error) {
	if head, _ := br.Peek(2); isJPEG(head) {
		c, err := recovered(func() (jpeg.Config, error) { return jpeg.DecodeConfig(br) })
		if err != nil {
			return image.Config{}, "jpeg", jpegCause(err)
		}
		return image.Config{ColorModel: color.RGBAModel, Width: c.Width, Height: c.Height}, "jpeg", nil
	}
	var format string
	cfg, err := recovered(func() (c image.Config, err error) {
		c, format, err = image.DecodeConfig(br)
		return c, err
	})
	return cfg, format, err
}

// Close closes the file the header was read from.
func (h *Header) Close() error { return h.file.Close() }

// Decode decodes the image's pixels, EXIF orientation applied, into an
// h.W x h.H image; the errors are ReadContext's.
func (h *Header) Decode() (*Image, error) {
	img, err := h.decode()
	if err != nil {
		return nil, &Error{Op: "read", Path: h.path, Err: err}
	}
	if img.W != h.W || img.H != h.H { // the decoders agree with their headers; this keeps it so
		return nil, &Error{Op: "read", Path: h.path, Err: &detailError{kind: ErrCorrupt,
			msg: fmt.Sprintf("%s decodes to %d x %d pixels, its header said %d x %d", h.Format, img.W, img.H, h.W, h.H)}}
	}
	return img, nil
}

func (h *Header) decode() (*Image, error) {
	src, format, cfg := h.src, h.Format, h.cfg
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(src, 64<<10)
	if format == "jpeg" {
		img, err := readJPEG(br, h.opts)
		if err != nil {
			return nil, err
		}
		return orient(img, h.orientation), nil
	}
	decodeFn := func() (image.Image, error) { m, _, err := image.Decode(br); return m, err }
	if format == "tiff" {
		// Given the file, the TIFF decoder reads strips with ReadAt; through
		// image.Decode's buffered reader it would copy the file into memory.
		decodeFn = func() (image.Image, error) { return tiff.Decode(src) }
	}
	m, err := recovered(decodeFn)
	if err != nil && format == "png" {
		if whole := pngWithEnd(src, h.size); whole != nil {
			if mm, err2 := recovered(func() (image.Image, error) { return png.Decode(whole) }); err2 == nil {
				m, err = mm, nil
			}
		}
	}
	if err != nil {
		return nil, decodeCause(err, src, format, h.size)
	}
	canvas := image.Rect(0, 0, cfg.Width, cfg.Height)
	if b := m.Bounds(); b.Empty() || !b.In(canvas) {
		return nil, &detailError{kind: ErrCorrupt, msg: fmt.Sprintf("%s decodes to pixels %v outside its %d x %d header",
			format, b, cfg.Width, cfg.Height)}
	}
	return orient(fromImage(m, cfg.Width, cfg.Height), h.orientation), nil
}

// streamSlack is what a stream may hold beyond 16 bytes a pixel (the most
// an uncompressed image takes: RGBA, 32 bits a channel): metadata, a
// thumbnail, an ICC profile.
const streamSlack = 64 << 20

// readStream reads an image from a pipe, FIFO or device into memory: the
// header first, checked against the pixel limit, then the rest, up to what
// an image of that size could take. It gives up when ctx is done.
func readStream(ctx context.Context, f *os.File, opts ReadOptions) ([]byte, image.Config, string, error) {
	// A pollable descriptor (a pipe, a FIFO) wakes from a blocked read when
	// its deadline passes; for others the read goes on until data comes.
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	interrupted := func() error {
		if ctx.Err() == nil {
			return nil
		}
		return &detailError{kind: ctx.Err(), msg: "interrupted while waiting for data (a pipe or FIFO whose writer sends nothing?)", cause: ctx.Err()}
	}
	// What the buffered reader reads ahead is recorded too: the rest
	// follows it.
	rec := &recorder{r: f}
	cfg, format, err := decodeConfig(bufio.NewReaderSize(rec, 64<<10))
	if err != nil {
		if e := interrupted(); e != nil {
			return nil, cfg, "", e
		}
		if rec.buf.Len() == 0 {
			return nil, cfg, "", &detailError{kind: ErrUnsupported, msg: "no data (an empty pipe or device), not an image"}
		}
		if format == "jpeg" {
			return nil, cfg, "", err // classified by decodeConfig
		}
		r := bytes.NewReader(rec.buf.Bytes())
		return nil, cfg, "", decodeCause(err, r, "", r.Size())
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, cfg, format, nil // reported by the caller
	}
	if err := opts.checkDecode(cfg.Width, cfg.Height); err != nil {
		return nil, cfg, format, err
	}
	limit := 16*int64(cfg.Width)*int64(cfg.Height) + streamSlack
	if _, err := io.Copy(&rec.buf, io.LimitReader(f, limit+1-int64(rec.buf.Len()))); err != nil {
		if e := interrupted(); e != nil {
			return nil, cfg, "", e
		}
		return nil, cfg, "", err
	}
	if int64(rec.buf.Len()) > limit {
		return nil, cfg, "", &detailError{kind: ErrCorrupt, msg: fmt.Sprintf("%s stream is longer than a %d x %d image can be (over %d bytes)",
			format, cfg.Width, cfg.Height, limit)}
	}
	return rec.buf.Bytes(), cfg, format, nil
}

// recorder keeps what is read through it.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

// pngWithEnd returns the PNG in r completed as Pillow takes it when its end
// is missing (Pillow reads the pixel data and stops at the end of the
// file): the whole chunks, the data of a cut IDAT chunk with its CRC
// recomputed, and an IEND chunk. It returns nil when r has its IEND or is
// not a PNG. Decoding the result still fails when pixel data is missing.
func pngWithEnd(r io.ReaderAt, size int64) io.Reader {
	off := int64(8) // the end of the whole chunks, which stay as they are
	var cut []byte  // the cut IDAT chunk, completed
	var head [8]byte
	for off+8 <= size {
		if _, err := r.ReadAt(head[:], off); err != nil {
			return nil
		}
		n := int64(binary.BigEndian.Uint32(head[:4]))
		typ := string(head[4:8])
		if typ == "IEND" {
			if off+12 <= size {
				return nil // whole: nothing to complete
			}
			break
		}
		if end := off + 12 + n; end <= size {
			off = end
			continue
		}
		if typ == "IDAT" {
			data := make([]byte, min(n, size-off-8))
			if _, err := r.ReadAt(data, off+8); err != nil {
				return nil
			}
			cut = pngChunkBytes(typ, data)
		}
		break
	}
	return io.MultiReader(io.NewSectionReader(r, 0, off), bytes.NewReader(cut), bytes.NewReader(pngChunkBytes("IEND", nil)))
}

// pngChunkBytes is a PNG chunk with its length and CRC.
func pngChunkBytes(typ string, data []byte) []byte {
	b := make([]byte, 0, 12+len(data))
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// recovered calls fn, turning a decoder panic on hostile input into an
// error.
func recovered[T any](fn func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			var zero T
			v, err = zero, fmt.Errorf("decoder failed: %v", p)
		}
	}()
	return fn()
}

// osCause drops the *fs.PathError wrapper, whose text would repeat the path.
func osCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// decodeCause classifies a decoder error: not an image, truncated, or corrupt.
// Decoders report a cut file in their own words ("not enough pixel data"), so
// a missing end marker also counts as truncation.
func decodeCause(err error, f io.ReaderAt, format string, size int64) error {
	if errors.Is(err, image.ErrFormat) {
		head := make([]byte, 32)
		n, _ := f.ReadAt(head, 0)
		if name := knownUnsupported(head[:n]); name != "" {
			return &detailError{kind: ErrUnsupported, msg: name + " images are not supported (use JPEG, PNG, GIF, BMP, TIFF or WebP)"}
		}
		return &detailError{kind: ErrUnsupported, msg: "not an image, or an unsupported format (use JPEG, PNG, GIF, BMP, TIFF or WebP)"}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "unexpected EOF") ||
		!hasTrailer(f, format, size) {
		return &detailError{kind: ErrTruncated, msg: "truncated image (the file ends before the image data)", cause: err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return &detailError{kind: ErrCorrupt, msg: "corrupt image data", cause: err}
}

// hasTrailer reports whether the file ends with its format's end marker;
// formats without one are taken as complete.
func hasTrailer(f io.ReaderAt, format string, size int64) bool {
	var end []byte
	switch format {
	case "png":
		end = []byte("\x00\x00\x00\x00IEND\xae\x42\x60\x82")
	case "jpeg":
		end = []byte{0xff, 0xd9}
	case "gif":
		end = []byte{0x3b}
	default:
		return true
	}
	if size < int64(len(end)) {
		return false
	}
	got := make([]byte, len(end))
	if _, err := f.ReadAt(got, size-int64(len(end))); err != nil {
		return false
	}
	return bytes.Equal(got, end)
}

// knownUnsupported names common image formats without a decoder here, so the
// message can say what the file is rather than just what it is not.
func knownUnsupported(h []byte) string {
	switch {
	case len(h) >= 12 && string(h[4:8]) == "ftyp":
		switch string(h[8:12]) {
		case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1":
			return "HEIC/HEIF"
		case "avif", "avis":
			return "AVIF"
		}
	case bytes.HasPrefix(h, []byte{0xff, 0x0a}), bytes.HasPrefix(h, []byte("\x00\x00\x00\x0cJXL ")):
		return "JPEG XL"
	case bytes.HasPrefix(h, []byte("8BPS")):
		return "Photoshop (PSD)"
	case bytes.HasPrefix(h, []byte("\x00\x00\x01\x00")):
		return "ICO"
	case bytes.HasPrefix(h, []byte("<svg")), bytes.HasPrefix(h, []byte("<?xml")):
		return "SVG/XML"
	}
	return ""
}

// fromImage converts a decoded image to a w x h RGB float32 canvas (a GIF's
// first frame may cover only part of its logical screen; the rest stays black),
// taking colour channels un-premultiplied and ignoring alpha.
func fromImage(m image.Image, w, h int) *Image {
	out := New(w, h)
	o := out.Pix
	switch m := m.(type) {
	case *image.YCbCr:
		fromYCbCr(o, w, m)
	case *image.NYCbCrA:
		fromYCbCrAt(o, w, &m.YCbCr, m.Bounds())
	case *image.Gray:
		fromGray(o, w, m)
	case *image.Gray16:
		fromGray16(o, w, m)
	case *image.NRGBA:
		fromNRGBA(o, w, m)
	case *image.NRGBA64:
		fromNRGBA64(o, w, m)
	case *image.RGBA:
		fromRGBA(o, w, m)
	case *image.Paletted:
		fromPaletted(o, w, m)
	case *image.CMYK:
		fromCMYK(o, w, m)
	default:
		fromAny(o, w, m)
	}
	return out
}

// The from* functions below write the pixels of m's bounds into the RGB
// canvas o, w pixels wide, at their own coordinates.

// rowStart is the offset in a canvas w pixels wide of pixel (b.Min.X, y).
func rowStart(b image.Rectangle, w, y int) int { return (y*w + b.Min.X) * 3 }

// fromYCbCr converts a decoded JPEG as libjpeg does, rows in parallel, and
// any other YCbCr image as image/color does.
func fromYCbCr(o []float32, w int, m *image.YCbCr) {
	b := m.Bounds()
	if b != m.Rect || b.Min != (image.Point{}) {
		fromYCbCrAt(o, w, m, b)
		return
	}
	parallel(b.Dy(), 64, func(lo, hi int) {
		cw := (b.Dx() + 1) / 2
		ycbcrRows(o, m, lo, hi, make([]int32, cw), make([]int32, cw))
	})
}

// fromYCbCrAt converts the pixels of m within b one at a time, as
// image/color does.
func fromYCbCrAt(o []float32, w int, m *image.YCbCr, b image.Rectangle) {
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		for x := 0; x < n; x++ {
			ci := m.COffset(b.Min.X+x, y)
			r, g, bb := color.YCbCrToRGB(m.Y[m.YOffset(b.Min.X+x, y)], m.Cb[ci], m.Cr[ci])
			dst[3*x], dst[3*x+1], dst[3*x+2] = float32(r), float32(g), float32(bb)
		}
	}
}

func fromGray(o []float32, w int, m *image.Gray) {
	b := m.Bounds()
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		src := m.Pix[m.PixOffset(b.Min.X, y):][:n]
		for x, v := range src {
			f := float32(v)
			dst[3*x], dst[3*x+1], dst[3*x+2] = f, f, f
		}
	}
}

func fromGray16(o []float32, w int, m *image.Gray16) {
	b := m.Bounds()
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		src := m.Pix[m.PixOffset(b.Min.X, y):][:2*n]
		for x := 0; x < n; x++ {
			f := float32(src[2*x]) // the high byte, as Pillow keeps it
			dst[3*x], dst[3*x+1], dst[3*x+2] = f, f, f
		}
	}
}

func fromNRGBA(o []float32, w int, m *image.NRGBA) {
	b := m.Bounds()
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		src := m.Pix[m.PixOffset(b.Min.X, y):][:4*n]
		for x := 0; x < n; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = float32(src[4*x]), float32(src[4*x+1]), float32(src[4*x+2])
		}
	}
}

// fromNRGBA64 keeps the high byte of each channel, as Pillow does.
func fromNRGBA64(o []float32, w int, m *image.NRGBA64) {
	b := m.Bounds()
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		src := m.Pix[m.PixOffset(b.Min.X, y):][:8*n]
		for x := 0; x < n; x++ {
			dst[3*x], dst[3*x+1], dst[3*x+2] = float32(src[8*x]), float32(src[8*x+2]), float32(src[8*x+4])
		}
	}
}

// fromRGBA un-premultiplies the pixels that are not opaque.
func fromRGBA(o []float32, w int, m *image.RGBA) {
	b := m.Bounds()
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		src := m.Pix[m.PixOffset(b.Min.X, y):][:4*n]
		for x := 0; x < n; x++ {
			p := src[4*x : 4*x+4]
			r, g, bb := p[0], p[1], p[2]
			if p[3] != 0xff {
				c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
				r, g, bb = c.R, c.G, c.B
			}
			dst[3*x], dst[3*x+1], dst[3*x+2] = float32(r), float32(g), float32(bb)
		}
	}
}

func fromPaletted(o []float32, w int, m *image.Paletted) {
	var pal [256][3]float32 // indexes past the palette read black
	for i, c := range m.Palette {
		if i >= len(pal) {
			break
		}
		nc, ok := c.(color.NRGBA) // keeps the colour of fully transparent entries
		if !ok {
			nc = color.NRGBAModel.Convert(c).(color.NRGBA)
		}
		pal[i] = [3]float32{float32(nc.R), float32(nc.G), float32(nc.B)}
	}
	b := m.Bounds()
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		src := m.Pix[m.PixOffset(b.Min.X, y):][:n]
		for x, v := range src {
			c := pal[v]
			dst[3*x], dst[3*x+1], dst[3*x+2] = c[0], c[1], c[2]
		}
	}
}

func fromCMYK(o []float32, w int, m *image.CMYK) {
	b := m.Bounds()
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		src := m.Pix[m.PixOffset(b.Min.X, y):][:4*n]
		for x := 0; x < n; x++ {
			r, g, bb := color.CMYKToRGB(src[4*x], src[4*x+1], src[4*x+2], src[4*x+3])
			dst[3*x], dst[3*x+1], dst[3*x+2] = float32(r), float32(g), float32(bb)
		}
	}
}

// fromAny converts any other image through color.NRGBAModel, pixel by pixel.
func fromAny(o []float32, w int, m image.Image) {
	b := m.Bounds()
	n := b.Dx()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		dst := o[rowStart(b, w, y):][:3*n]
		for x := 0; x < n; x++ {
			c := color.NRGBAModel.Convert(m.At(b.Min.X+x, y)).(color.NRGBA)
			dst[3*x], dst[3*x+1], dst[3*x+2] = float32(c.R), float32(c.G), float32(c.B)
		}
	}
}

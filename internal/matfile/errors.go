package matfile

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel causes, to test with errors.Is. Truncated input is reported with
// io.ErrUnexpectedEOF.
var (
	// ErrNotMAT means the data has no MAT-file version 5 header.
	ErrNotMAT = errors.New("not a MAT-file version 5 (no IM/MI endian indicator in the header)")
	// ErrHDF5 means the file is a MATLAB 7.3 file, which is HDF5 inside.
	ErrHDF5 = errors.New("MAT-file version 7.3 (HDF5) is not supported: re-save it in MATLAB with save -v7")
	// ErrUnsupported marks arrays this package does not decode: complex,
	// sparse, object, function-handle and opaque arrays. They can still be
	// skipped.
	ErrUnsupported = errors.New("unsupported array")
)

// FormatError reports malformed or unsupported data, with where it was found.
type FormatError struct {
	// Offset is the file offset of the data at fault; for data inside a
	// compressed element it is the offset of that element.
	Offset int64
	// Inflated is the offset of the data at fault within the inflated
	// stream of a compressed element, or -1 for data that is not compressed.
	Inflated int64
	// Path names the array inside the variable, e.g. layers{12}.weights{1};
	// empty for file-level problems.
	Path string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying cause, if any (io.ErrUnexpectedEOF, ErrHDF5,
	// ErrUnsupported, a flate error, ...).
	Err error
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString("matfile: ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil {
		if e.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	if e.Inflated >= 0 {
		fmt.Fprintf(&b, " (at byte %d of the data inflated from the compressed element at file offset %d)", e.Inflated, e.Offset)
	} else {
		fmt.Fprintf(&b, " (at file offset %d)", e.Offset)
	}
	return b.String()
}

func (e *FormatError) Unwrap() error { return e.Err }

package matfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRead checks that no input makes the reader panic, hang or answer
// with anything but a *FormatError, whether it decodes everything or walks
// the arrays skipping some.
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(casesDir, "*.mat"))
	tiny, _ := filepath.Glob("../../testdata/vgg19-tiny/*.mat")
	if len(seeds) == 0 || len(tiny) == 0 {
		f.Fatal("no seed files")
	}
	for _, p := range append(seeds, tiny...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := readBytes(b)
		checkFuzzError(t, err)
		r, err := NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		for i := 0; ; i++ {
			a, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkFuzzError(t, err)
				break
			}
			if i%2 == 1 {
				continue // left unread: Next must skip it
			}
			if err := walk(a, i); err != nil {
				checkFuzzError(t, err)
				break
			}
		}
	})
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T is not a *FormatError: %v", err, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error spans several lines: %q", err)
	}
}

// walk reads a, skipping some of its children and reading the others.
func walk(a *Array, k int) error {
	switch {
	case a.Class == ClassCell || a.Class == ClassStruct:
		for {
			kid, err := a.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			k++
			switch k % 3 {
			case 0:
				err = kid.skip()
			case 1:
				err = walk(kid, k)
			}
			if err != nil {
				return err
			}
		}
	case a.Class == ClassChar:
		_, err := a.Text()
		return err
	case a.Class.Numeric():
		if a.done {
			return nil
		}
		_, err := a.Float32s()
		return err
	}
	return a.skip()
}

//go:build windows && (amd64 || arm64) && cuda

package cuda

import (
	"fmt"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/windows"
)

// dlopenSupported says whether this build can load libraries at run time.
const dlopenSupported = true

// loadLibrary opens the DLL at path; its dependencies are looked for in its
// own folder first (LOAD_WITH_ALTERED_SEARCH_PATH), as cuBLAS's and cuDNN's
// need.
func loadLibrary(path string) (uintptr, error) {
	h, err := windows.LoadLibraryEx(path, 0, windows.LOAD_WITH_ALTERED_SEARCH_PATH)
	if err != nil {
		return 0, fmt.Errorf("LoadLibraryEx %s: %w", path, err)
	}
	return uintptr(h), nil
}

func lookup(h uintptr, name string) (uintptr, error) {
	return windows.GetProcAddress(windows.Handle(h), name)
}

// bind makes *fptr, a pointer to a func variable, call the C function at addr.
func bind(fptr any, addr uintptr) { purego.RegisterFunc(fptr, addr) }

// errNoDlopen is never returned where loading is supported.
var errNoDlopen error

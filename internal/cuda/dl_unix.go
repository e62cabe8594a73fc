//go:build (linux || darwin) && (amd64 || arm64) && cuda

package cuda

import (
	"errors"
	"strings"

	"github.com/ebitengine/purego"
)

// dlopenSupported says whether this build can load libraries at run time.
const dlopenSupported = true

// loadLibrary opens the shared library at path. The error is the dynamic
// loader's (dlerror), which names the file.
func loadLibrary(path string) (uintptr, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		// dlerror starts with the path, which the messages already give.
		return 0, errors.New(strings.TrimPrefix(err.Error(), path+": "))
	}
	return h, nil
}

func lookup(h uintptr, name string) (uintptr, error) { return purego.Dlsym(h, name) }

// bind makes *fptr, a pointer to a func variable, call the C function at addr.
func bind(fptr any, addr uintptr) { purego.RegisterFunc(fptr, addr) }

// errNoDlopen is never returned where loading is supported.
var errNoDlopen error

//go:build (linux || darwin) && (amd64 || arm64) && !nocuda

package cuda

import "github.com/ebitengine/purego"

// dlopenSupported says whether this build can load libraries at run time.
const dlopenSupported = true

// loadLibrary opens the shared library at path. The error is the dynamic
// loader's (dlerror), which names the file.
func loadLibrary(path string) (uintptr, error) {
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

func lookup(h uintptr, name string) (uintptr, error) { return purego.Dlsym(h, name) }

// bind makes *fptr, a pointer to a func variable, call the C function at addr.
func bind(fptr any, addr uintptr) { purego.RegisterFunc(fptr, addr) }

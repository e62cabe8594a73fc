//go:build !((linux || darwin || windows) && (amd64 || arm64)) || nocuda

package cuda

import (
	"fmt"
	"runtime"
)

// dlopenSupported says whether this build can load libraries at run time:
// not on this platform (purego's calls cover 64-bit Linux, macOS and
// Windows, and CUDA no other), nor in a build with -tags nocuda.
const dlopenSupported = false

var errNoDlopen = fmt.Errorf("loading libraries at run time is not in this build (%s/%s; -tags nocuda, or a platform without CUDA)",
	runtime.GOOS, runtime.GOARCH)

func loadLibrary(string) (uintptr, error)     { return 0, errNoDlopen }
func lookup(uintptr, string) (uintptr, error) { return 0, errNoDlopen }
func bind(any, uintptr)                       { panic("cuda: bind without dlopen") }

//go:build !((linux || darwin || windows) && (amd64 || arm64)) || !cuda

package cuda

import (
	"fmt"
	"runtime"
)

// dlopenSupported says whether this build can load libraries at run time:
// not on this platform (purego's calls cover 64-bit Linux, macOS and
// Windows, and CUDA no other), nor in a build without -tags cuda (the default build stays a static binary).
const dlopenSupported = false

var errNoDlopen = fmt.Errorf("loading libraries at run time is not in this build (%s/%s; build with -tags cuda on 64-bit Linux, macOS or Windows)",
	runtime.GOOS, runtime.GOARCH)

func loadLibrary(string) (uintptr, error)     { return 0, errNoDlopen }
func lookup(uintptr, string) (uintptr, error) { return 0, errNoDlopen }
func bind(any, uintptr)                       { panic("cuda: bind without dlopen") }

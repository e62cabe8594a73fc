//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly && !windows

package sysmem

// platformLimits: nothing is known here (Plan 9, WebAssembly, AIX,
// Solaris...): ProcessLimit reports 0 and no run is refused for memory
// unless a limit is given.
func platformLimits() []Limit { return nil }

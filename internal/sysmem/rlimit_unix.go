//go:build linux || darwin || freebsd || netbsd || dragonfly

package sysmem

import (
	"math"

	"golang.org/x/sys/unix"
)

// rlimitAS returns the soft RLIMIT_AS (address space), or no limit.
func rlimitAS() Limit {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_AS, &r); err != nil || r.Cur == unix.RLIM_INFINITY || r.Cur >= math.MaxInt64 {
		return Limit{}
	}
	return Limit{int64(r.Cur), "RLIMIT_AS"}
}

//go:build linux || darwin || freebsd || netbsd || dragonfly

package sysmem

import (
	"math"

	"golang.org/x/sys/unix"
)

// rlimitAS returns the soft RLIMIT_AS (address space) less the address
// space this process holds or will hold beyond the memory it uses, or no
// limit: the estimates a limit is compared with count resident memory, and
// under `ulimit -v` a run estimated to fit the bare limit would die
// allocating.
func rlimitAS() Limit {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_AS, &r); err != nil || r.Cur == unix.RLIM_INFINITY || r.Cur >= math.MaxInt64 {
		return Limit{}
	}
	return addressSpaceLimit(int64(r.Cur), reservedAddressSpace())
}

// threadStackBytes is the address space a thread started through cgo
// (pthread_create) maps for its stack: glibc's default, the soft
// RLIMIT_STACK, at most 8 MiB (the default when unlimited).
func threadStackBytes() int64 {
	const most = 8 << 20
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &r); err != nil || r.Cur == unix.RLIM_INFINITY || r.Cur > most {
		return most
	}
	return int64(r.Cur)
}

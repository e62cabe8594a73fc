//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package sysmem

import (
	"math"
	"runtime"

	"golang.org/x/sys/unix"
)

// platformLimits: the physical memory (these systems report no cheap
// "available" figure, and page out rather than kill) and RLIMIT_AS.
func platformLimits() []Limit {
	name := map[string]string{"darwin": "hw.memsize", "freebsd": "hw.physmem", "dragonfly": "hw.physmem"}[runtime.GOOS]
	if name == "" {
		name = "hw.physmem64"
	}
	var phys Limit
	if v, err := unix.SysctlUint64(name); err == nil && v < math.MaxInt64 {
		phys = Limit{int64(v), "physical RAM"}
	}
	return []Limit{phys, rlimitAS()}
}

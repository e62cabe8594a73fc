// Package sysmem tells how much memory this process may use (the smallest
// of the available RAM, a cgroup memory limit and RLIMIT_AS, as far as the
// platform reports them) and reads and writes memory sizes ("300MB",
// "1.5GiB").
package sysmem

import (
	"fmt"
	"math"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// Limit is an amount of memory and what sets it.
type Limit struct {
	Bytes  int64  // 0 when the platform reports nothing
	Source string // "available RAM", "cgroup memory limit", "RLIMIT_AS", ...
}

// ProcessLimit returns the memory this process may use: the smallest of
// the limits the platform reports. On Linux those are MemAvailable from
// /proc/meminfo, the cgroup's memory.max (v2) or memory.limit_in_bytes (v1)
// and RLIMIT_AS; on macOS and the BSDs the physical memory and RLIMIT_AS;
// on Windows the available physical memory. Elsewhere, or when none can be
// read, Bytes is 0: nothing known, nothing to check against.
func ProcessLimit() Limit {
	return smallest(platformLimits())
}

// smallest returns the smallest positive limit, the first of equals.
func smallest(ls []Limit) Limit {
	var best Limit
	for _, l := range ls {
		if l.Bytes > 0 && (best.Bytes == 0 || l.Bytes < best.Bytes) {
			best = l
		}
	}
	return best
}

// goReservedBytes is the address space a Go process maps beyond its
// resident memory (VmSize less VmRSS, measured with Go 1.26 on
// linux/amd64: 1.17 GiB at the start, 1.19 GiB holding 1 GB), where the
// platform cannot say what it is.
const goReservedBytes = 1200 << 20

// extraThreads is how many threads a process may start beyond GOMAXPROCS:
// those blocked in system calls, the runtime's own.
const extraThreads = 4

// addressSpaceLimit is RLIMIT_AS cur less reserved, the address space the
// process holds, or will hold, beyond its resident memory: what the
// estimates of resident memory may reach. It is 1 byte when nothing is
// left (0 would mean "no limit known").
func addressSpaceLimit(cur, reserved int64) Limit {
	if reserved <= 0 {
		return Limit{cur, "RLIMIT_AS"}
	}
	return Limit{max(1, cur-reserved), fmt.Sprintf("RLIMIT_AS of %s, less %s of address space the process reserves beyond its memory",
		FormatSize(cur), FormatSize(reserved))}
}

// futureThreadStacks is the address space of the thread stacks still to
// be mapped when a process running threads threads grows to gomaxprocs
// plus extraThreads, each taking stack bytes. Without cgo the runtime
// takes thread stacks from its heap, and nothing is counted.
func futureThreadStacks(gomaxprocs, threads int, stack int64) int64 {
	if !cgoThreads() {
		return 0
	}
	return int64(max(0, gomaxprocs+extraThreads-threads)) * stack
}

// cgoThreads reports whether the binary may start its threads through
// cgo (pthread_create, a mapped stack each): unless it says it was built
// with CGO_ENABLED=0.
var cgoThreads = sync.OnceValue(func() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "CGO_ENABLED" {
				return s.Value != "0"
			}
		}
	}
	return true
})

var sizeNumberRE = regexp.MustCompile(`^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$`)

var units = []struct {
	suffix string
	mult   float64
}{
	// Longest first: "kib" before "ib"-less forms, "kb" before "b".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseSize reads a memory size: a number (decimals allowed) and a unit,
// with or without a space between. kB, MB, GB and TB are powers of 1000;
// KiB, MiB, GiB and TiB powers of 1024, and so are the single letters K, M,
// G and T (as in ulimit, sort -S and docker); B or no unit is bytes. Case
// does not matter. "300MB" is 300,000,000 bytes, "1.5GiB" 1,610,612,736,
// "512k" 524,288.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range units {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(num), u.mult
			break
		}
	}
	if !sizeNumberRE.MatchString(t) {
		return 0, fmt.Errorf("memory size %q: want a number and a unit, such as 300MB, 4GB or 1.5GiB", s)
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("memory size %q: want a number and a unit, such as 300MB, 4GB or 1.5GiB", s)
	}
	b := v * mult
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("memory size %q is too large", s)
	}
	return int64(math.Round(b)), nil
}

// FormatSize writes n bytes in the largest binary unit that keeps a
// number of at least 1, with three significant digits: "512 MiB",
// "1.50 GiB", "12.3 GiB".
func FormatSize(n int64) string {
	v := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"} {
		if math.Abs(v) < 1024 || u == "PiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			switch {
			case math.Abs(v) >= 100:
				return fmt.Sprintf("%.0f %s", v, u)
			case math.Abs(v) >= 10:
				return fmt.Sprintf("%.1f %s", v, u)
			default:
				return fmt.Sprintf("%.2f %s", v, u)
			}
		}
		v /= 1024
	}
	panic("unreachable")
}

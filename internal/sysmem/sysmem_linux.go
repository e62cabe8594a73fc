package sysmem

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
)

func platformLimits() []Limit {
	ls := []Limit{{meminfoAvailable(readFile("/proc/meminfo")), "available RAM"}}
	ls = append(ls, Limit{cgroupLimit(readFile("/proc/self/cgroup"), readFile), "cgroup memory limit"})
	return append(ls, rlimitAS())
}

func readFile(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// meminfoAvailable returns MemAvailable from /proc/meminfo's text in
// bytes, or 0.
func meminfoAvailable(meminfo []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 || (len(f) > 1 && f[1] != "kB") {
			return 0
		}
		return kb << 10
	}
	return 0
}

// unlimitedCgroup: cgroup v1 writes "no limit" as the largest page-aligned
// int64; anything from here on is no limit.
const unlimitedCgroup = 1 << 62

// cgroupLimit returns the smallest memory limit of this process's cgroup
// and its ancestors, v2 (memory.max) or v1 (memory.limit_in_bytes), given
// /proc/self/cgroup's text; 0 when there is none. A container sees its own
// cgroup at the mount's root, where the path in /proc/self/cgroup may not
// exist, so the root's files count too.
func cgroupLimit(procCgroup []byte, read func(string) []byte) int64 {
	var best int64
	consider := func(file string) {
		s := strings.TrimSpace(string(read(file)))
		if s == "" || s == "max" {
			return
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 || v >= unlimitedCgroup {
			return
		}
		if best == 0 || v < best {
			best = v
		}
	}
	walk := func(root, rel, file string) {
		for p := path.Clean("/" + rel); ; p = path.Dir(p) {
			consider(path.Join(root, p, file))
			if p == "/" {
				return
			}
		}
	}
	for _, line := range strings.Split(string(procCgroup), "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			walk("/sys/fs/cgroup", parts[2], "memory.max")
			walk("/sys/fs/cgroup/unified", parts[2], "memory.max")
		case hasController(parts[1], "memory"):
			walk("/sys/fs/cgroup/memory", parts[2], "memory.limit_in_bytes")
		}
	}
	return best
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// reservedAddressSpace is what the process maps beyond its resident
// memory now (/proc/self/statm's size less resident: the Go runtime's
// reservations, the binary's untouched pages) and the stacks of the
// threads it may still start; goReservedBytes when statm cannot be read.
func reservedAddressSpace() int64 {
	mapped := mappedBeyondResident(readFile("/proc/self/statm"), int64(os.Getpagesize()))
	if mapped <= 0 {
		mapped = goReservedBytes
	}
	threads := statusThreads(readFile("/proc/self/status"))
	return mapped + futureThreadStacks(runtime.GOMAXPROCS(0), threads, threadStackBytes())
}

// mappedBeyondResident reads /proc/self/statm's text (sizes in pages: the
// whole, then the resident part): the bytes mapped and not resident, or 0.
func mappedBeyondResident(statm []byte, pageSize int64) int64 {
	f := strings.Fields(string(statm))
	if len(f) < 2 {
		return 0
	}
	size, err1 := strconv.ParseInt(f[0], 10, 64)
	resident, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || resident < 0 || size < resident {
		return 0
	}
	return (size - resident) * pageSize
}

// statusThreads reads the thread count from /proc/self/status's text, 0
// when it is not there.
func statusThreads(status []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Threads:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil || n < 0 {
				return 0
			}
			return n
		}
	}
	return 0
}

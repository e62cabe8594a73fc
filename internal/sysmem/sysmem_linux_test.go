package sysmem

import "testing"

func TestMeminfoAvailable(t *testing.T) {
	const meminfo = "MemTotal:       24683584 kB\nMemFree:        21934176 kB\nMemAvailable:   23414016 kB\nBuffers:   37264 kB\n"
	if got := meminfoAvailable([]byte(meminfo)); got != 23414016<<10 {
		t.Errorf("MemAvailable = %d", got)
	}
	for _, bad := range []string{"", "MemTotal: 5 kB\n", "MemAvailable:\n", "MemAvailable: x kB\n", "MemAvailable: 5 MB\n"} {
		if got := meminfoAvailable([]byte(bad)); got != 0 {
			t.Errorf("meminfoAvailable(%q) = %d, want 0", bad, got)
		}
	}
}

func TestCgroupLimit(t *testing.T) {
	files := map[string]string{
		// v2: the process's cgroup has no limit, its parent has 2 GiB, the root none
		"/sys/fs/cgroup/app/job/memory.max": "max\n",
		"/sys/fs/cgroup/app/memory.max":     "2147483648\n",
		// v1, in a container: the named path does not exist, the mount's root is the container's
		"/sys/fs/cgroup/memory/memory.limit_in_bytes": "1073741824\n",
		// v1 without a limit
		"/sys/fs/cgroup/memory/free/memory.limit_in_bytes": "9223372036854771712\n",
	}
	read := func(p string) []byte { return []byte(files[p]) }
	tests := []struct {
		name, cgroup string
		want         int64
	}{
		{"v2 parent", "0::/app/job\n", 2 << 30},
		{"v1 container root", "4:memory:/process_api/476c23535260\n3:cpuset:/\n0::/\n", 1 << 30},
		{"v1 unlimited", "4:cpu,memory:/free\n", 1 << 30}, // the root's 1 GiB still counts
		{"none", "0::/other\n", 0},
		{"garbage", "no colons here\n", 0},
	}
	for _, tt := range tests {
		if got := cgroupLimit([]byte(tt.cgroup), read); got != tt.want {
			t.Errorf("%s: cgroupLimit = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestMappedBeyondResident(t *testing.T) {
	for _, tt := range []struct {
		statm string
		want  int64
	}{
		{"306732 540 389 172 0 10137 0\n", (306732 - 540) * 4096},
		{"", 0}, {"12", 0}, {"5 9 1", 0}, {"x 1", 0},
	} {
		if got := mappedBeyondResident([]byte(tt.statm), 4096); got != tt.want {
			t.Errorf("mappedBeyondResident(%q) = %d, want %d", tt.statm, got, tt.want)
		}
	}
	// This process: a Go runtime maps far more than it touches.
	if got := mappedBeyondResident(readFile("/proc/self/statm"), 4096); got < 64<<20 {
		t.Errorf("this process maps %d bytes beyond its resident memory, want the runtime's reservation", got)
	}
}

func TestStatusThreads(t *testing.T) {
	if got := statusThreads([]byte("Name:\tx\nThreads:\t7\nSigQ:\t0/1\n")); got != 7 {
		t.Errorf("statusThreads = %d, want 7", got)
	}
	if got := statusThreads([]byte("Name:\tx\n")); got != 0 {
		t.Errorf("statusThreads without the line = %d, want 0", got)
	}
	if got := statusThreads(readFile("/proc/self/status")); got < 1 {
		t.Errorf("this process runs %d threads", got)
	}
}

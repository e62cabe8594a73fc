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

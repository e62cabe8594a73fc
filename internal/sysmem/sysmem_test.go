package sysmem

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"300MB", 300_000_000},
		{"4GB", 4_000_000_000},
		{"1.5GiB", 1_610_612_736},
		{"512k", 524_288},
		{"512K", 524_288},
		{"512KiB", 524_288},
		{"512kB", 512_000},
		{"2m", 2 << 20},
		{"2 MiB", 2 << 20},
		{"0.5g", 1 << 29},
		{"1T", 1 << 40},
		{"1tb", 1e12},
		{"1024", 1024},
		{"1024B", 1024},
		{" 8gib ", 8 << 30},
		{".5GB", 500_000_000},
		{"0", 0},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "MB", "-1GB", "+1GB", "1_000MB", "1e3", "0x10", "nan", "inf", "1.5.2GB", "4 GBs", "4XB",
		"99999999999TB", ".", "1 2GB"} {
		if got, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{512, "512 B"}, {1536, "1.50 KiB"}, {300_000_000, "286 MiB"}, {1_610_612_736, "1.50 GiB"}, {13_200_000_000, "12.3 GiB"}} {
		if got := FormatSize(tt.n); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestSmallest(t *testing.T) {
	got := smallest([]Limit{{0, "none"}, {8 << 30, "available RAM"}, {2 << 30, "cgroup memory limit"}, {4 << 30, "RLIMIT_AS"}})
	if got != (Limit{2 << 30, "cgroup memory limit"}) {
		t.Errorf("smallest = %+v", got)
	}
	if got := smallest([]Limit{{0, "a"}, {}}); got.Bytes != 0 {
		t.Errorf("smallest of unknowns = %+v, want 0", got)
	}
}

func TestProcessLimit(t *testing.T) {
	// Whatever the machine, the limit is either unknown or a plausible size.
	l := ProcessLimit()
	if l.Bytes < 0 || (l.Bytes > 0 && (l.Bytes < 1<<20 || l.Source == "")) {
		t.Errorf("ProcessLimit() = %+v", l)
	}
	if source, _, _ := strings.Cut(l.Source, " of "); l.Bytes > 0 && !strings.Contains("available RAM cgroup memory limit RLIMIT_AS physical RAM", source) {
		t.Errorf("ProcessLimit() source %q", l.Source)
	}
}

// TestAddressSpaceLimit: RLIMIT_AS counts less what the process reserves
// beyond its memory, and says so; a limit all reserved is 1 byte, not 0
// ("nothing known").
func TestAddressSpaceLimit(t *testing.T) {
	for _, tt := range []struct {
		cur, reserved int64
		want          Limit
	}{
		{4 << 30, 0, Limit{4 << 30, "RLIMIT_AS"}},
		{4 << 30, 1 << 30, Limit{3 << 30, "RLIMIT_AS of 4.00 GiB, less 1.00 GiB of address space the process reserves beyond its memory"}},
		{1 << 30, 1200 << 20, Limit{1, "RLIMIT_AS of 1.00 GiB, less 1.17 GiB of address space the process reserves beyond its memory"}},
	} {
		if got := addressSpaceLimit(tt.cur, tt.reserved); got != tt.want {
			t.Errorf("addressSpaceLimit(%d, %d) = %+v, want %+v", tt.cur, tt.reserved, got, tt.want)
		}
	}
}

func TestFutureThreadStacks(t *testing.T) {
	if !cgoThreads() {
		if got := futureThreadStacks(8, 1, 8<<20); got != 0 {
			t.Errorf("without cgo: %d bytes, want 0", got)
		}
		return
	}
	for _, tt := range []struct {
		gomaxprocs, threads int
		want                int64
	}{{8, 5, 7 * 2 << 20}, {2, 30, 0}} {
		if got := futureThreadStacks(tt.gomaxprocs, tt.threads, 2<<20); got != tt.want {
			t.Errorf("futureThreadStacks(%d, %d, 2 MiB) = %d, want %d", tt.gomaxprocs, tt.threads, got, tt.want)
		}
	}
}

// FuzzParseSize: any text either parses to a size of at least 0 or fails.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"300MB", "1.5GiB", "512k", "0", "-1", "1e3", "99999999999TB", ".5g"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && n < 0 {
			t.Errorf("ParseSize(%q) = %d", s, n)
		}
	})
}

package parallel

import (
	"runtime"
	"sync/atomic"
	"testing"
)

type countTask struct {
	hits []atomic.Int32
	// inner, if positive, makes every part run a nested For of that many parts.
	inner int
	sum   atomic.Int64
}

func (c *countTask) Run(i int) {
	c.hits[i].Add(1)
	if c.inner > 0 {
		in := &countTask{hits: make([]atomic.Int32, c.inner)}
		For(c.inner, in)
		for j := range in.hits {
			c.sum.Add(int64(in.hits[j].Load()))
		}
	}
}

// TestForRunsEachPartOnce checks every part runs exactly once, for part
// counts below, at and above GOMAXPROCS, under several GOMAXPROCS values.
func TestForRunsEachPartOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 5, 16} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 2, 3, 16, 17, 1000} {
			c := &countTask{hits: make([]atomic.Int32, n)}
			For(n, c)
			for i := range c.hits {
				if h := c.hits[i].Load(); h != 1 {
					t.Fatalf("GOMAXPROCS %d, %d parts: part %d ran %d times", procs, n, i, h)
				}
			}
		}
	}
}

// TestNested checks that For inside a part completes (no deadlock when all
// helpers are busy) and runs every inner part once.
func TestNested(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(4)
	c := &countTask{hits: make([]atomic.Int32, 64), inner: 50}
	For(64, c)
	if s := c.sum.Load(); s != 64*50 {
		t.Fatalf("nested parts ran %d times, want %d", s, 64*50)
	}
}

// TestRanges checks that the ranges cover 0..n exactly once and respect the
// minimum length.
func TestRanges(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(3)
	for _, tc := range []struct{ n, min int }{{0, 1}, {1, 1}, {10, 1}, {10, 4}, {1000, 16}, {7, 0}} {
		cover := make([]atomic.Int32, tc.n)
		var short atomic.Bool
		Ranges(tc.n, tc.min, func(lo, hi int) {
			if hi-lo < tc.min && !(lo == 0 && hi == tc.n) {
				short.Store(true)
			}
			for i := lo; i < hi; i++ {
				cover[i].Add(1)
			}
		})
		for i := range cover {
			if cover[i].Load() != 1 {
				t.Fatalf("n=%d min=%d: element %d covered %d times", tc.n, tc.min, i, cover[i].Load())
			}
		}
		if short.Load() {
			t.Errorf("n=%d min=%d: a range shorter than the minimum", tc.n, tc.min)
		}
	}
}

type nop struct{}

func (nop) Run(int) {}

// TestForAllocs checks that the steady state allocates nothing.
func TestForAllocs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(4)
	var task Task = nop{}
	For(8, task)
	if a := testing.AllocsPerRun(100, func() { For(8, task) }); a > 0 {
		t.Errorf("%v allocations per For, want 0", a)
	}
}

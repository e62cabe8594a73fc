package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// task is a unit of parallel work: run(t) does part t of n.
type task interface{ run(t int) }

// batch hands the parts of one task to the workers. Batches come from a
// free list and tasks are pointers held by their owners or free lists too,
// so that a parallel call allocates nothing in the steady state.
type batch struct {
	t    task
	n    int64
	next atomic.Int64
	wg   sync.WaitGroup
}

func (b *batch) work() {
	for {
		i := b.next.Add(1) - 1
		if i >= b.n {
			return
		}
		b.t.run(int(i))
	}
}

var (
	batches   freeList[batch]
	startOnce sync.Once
	queue     chan *batch
)

func worker() {
	for b := range queue {
		b.work()
		b.wg.Done()
	}
}

// parallel runs t.run(0..n-1) on up to GOMAXPROCS goroutines, the caller's
// included, and returns when all parts are done.
func parallel(n int, t task) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			t.run(i)
		}
		return
	}
	startOnce.Do(func() {
		// Helpers beyond the processors available at first use would only
		// contend; a later GOMAXPROCS rise uses the processors present then.
		p := max(runtime.NumCPU(), runtime.GOMAXPROCS(0))
		queue = make(chan *batch, p)
		for i := 0; i < p-1; i++ {
			go worker()
		}
	})
	b := batches.get()
	b.t, b.n = t, int64(n)
	b.next.Store(0)
	b.wg.Add(workers - 1)
	for i := 0; i < workers-1; i++ {
		queue <- b
	}
	b.work()
	b.wg.Wait()
	b.t = nil
	batches.put(b)
}

// freeList recycles values. Unlike a sync.Pool it keeps them across garbage
// collections (and under the race detector), so the steady state allocates
// nothing; it holds at most as many values as were ever in use at once.
type freeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

func (f *freeList[T]) get() *T {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.items); n > 0 {
		x := f.items[n-1]
		f.items[n-1] = nil
		f.items = f.items[:n-1]
		return x
	}
	return new(T)
}

func (f *freeList[T]) put(x *T) {
	f.mu.Lock()
	f.items = append(f.items, x)
	f.mu.Unlock()
}

// Package parallel is the one worker pool of the process: the kernels of nn
// and nn/fast and the image code of imageio split their work through it, so
// that the goroutines doing numeric work never outnumber GOMAXPROCS and one
// package's workers do not compete with another's.
//
// A call of For hands parts of one task to idle helpers and runs parts on the
// caller's goroutine too; it allocates nothing in the steady state. Calls may
// nest or run concurrently: a part that finds no idle helper runs on the
// goroutine that asked for it.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Task is work in parts: Run(i) does part i. Each part runs exactly once per
// For call, and different parts may run at the same time.
type Task interface{ Run(part int) }

// Procs is the number of goroutines that For uses at most: GOMAXPROCS, read
// on every call so that the pool follows changes of it.
func Procs() int { return runtime.GOMAXPROCS(0) }

// batch hands the parts of one task to the goroutines working on it.
type batch struct {
	t    Task
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
		b.t.Run(int(i))
	}
}

var (
	batches FreeList[batch]
	mu      sync.Mutex
	helpers int // helper goroutines started
	queue   = make(chan *batch, 1024)
)

func helper() {
	for b := range queue {
		b.work()
		b.wg.Done()
	}
}

// ensureHelpers starts helpers until there are n.
func ensureHelpers(n int) {
	mu.Lock()
	for helpers < n {
		helpers++
		go helper()
	}
	mu.Unlock()
}

// For runs t.Run(0), ..., t.Run(n-1) on up to Procs() goroutines, the
// caller's included, and returns when all parts are done.
func For(n int, t Task) {
	workers := min(Procs(), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			t.Run(i)
		}
		return
	}
	ensureHelpers(workers - 1)
	b := batches.Get()
	b.t, b.n = t, int64(n)
	b.next.Store(0)
	for i := 0; i < workers-1; i++ {
		b.wg.Add(1)
		select {
		case queue <- b:
		default:
			// Every helper busy and the queue full (deeply nested calls):
			// the caller does that share itself.
			b.wg.Done()
		}
	}
	b.work()
	b.wg.Wait()
	b.t = nil
	batches.Put(b)
}

// Ranges splits 0..n into at most Procs() contiguous ranges of at least
// minLen elements each and runs fn on them concurrently; a single range runs
// on the caller's goroutine.
func Ranges(n, minLen int, fn func(lo, hi int)) {
	parts := min(Procs(), n/max(minLen, 1))
	if parts <= 1 {
		fn(0, n)
		return
	}
	For(parts, &rangeTask{n: n, parts: parts, fn: fn})
}

type rangeTask struct {
	n, parts int
	fn       func(lo, hi int)
}

func (r *rangeTask) Run(i int) { r.fn(r.n*i/r.parts, r.n*(i+1)/r.parts) }

// FreeList recycles values (Get a new or recycled one, Put it back). Unlike a sync.Pool it keeps them across garbage
// collections (and under the race detector), so the steady state allocates
// nothing; it holds at most as many values as were ever in use at once.
type FreeList[T any] struct {
	mu    sync.Mutex
	items []*T
}

func (f *FreeList[T]) Get() *T {
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

func (f *FreeList[T]) Put(x *T) {
	f.mu.Lock()
	f.items = append(f.items, x)
	f.mu.Unlock()
}

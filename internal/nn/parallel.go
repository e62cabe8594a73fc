package nn

import parallelpkg "github.com/neuralstyle/neuralstyle/internal/parallel"

// task is a unit of parallel work: Run(t) does part t of n.
type task = parallelpkg.Task

// parallel runs t.Run(0..n-1) on the process's worker pool (up to
// GOMAXPROCS goroutines, the caller's included) and returns when all parts
// are done.
func parallel(n int, t task) { parallelpkg.For(n, t) }

// freeList recycles values; see parallel.FreeList.
type freeList[T any] struct{ parallelpkg.FreeList[T] }

func (f *freeList[T]) get() *T  { return f.Get() }
func (f *freeList[T]) put(x *T) { f.Put(x) }

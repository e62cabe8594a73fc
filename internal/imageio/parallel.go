package imageio

import (
	"runtime"
	"sync"
)

// parallel splits rows 0..n into one contiguous range per CPU and runs fn on
// each concurrently; under minRows rows per worker it stays on the caller's
// goroutine, where starting goroutines would cost more than it saves.
func parallel(n, minRows int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n/max(minRows, 1))
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range workers {
		lo, hi := n*i/workers, n*(i+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

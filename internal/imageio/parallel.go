package imageio

import parallelpkg "github.com/neuralstyle/neuralstyle/internal/parallel"

// parallel splits rows 0..n into contiguous ranges, one per worker of the
// process's pool, and runs fn on each concurrently; under minRows rows per
// worker it stays on the caller's goroutine, where handing work out would
// cost more than it saves.
func parallel(n, minRows int, fn func(lo, hi int)) {
	parallelpkg.Ranges(n, minRows, fn)
}

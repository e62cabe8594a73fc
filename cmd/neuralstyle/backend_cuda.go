package main

import (
	"github.com/neuralstyle/neuralstyle/internal/cuda"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
)

// --backend cuda finds and opens the CUDA libraries at run time (no cgo)
// and, in this build, reports what it found and exits with status 1: the
// GPU compute path has not run on a GPU yet.
func init() {
	stylize.RegisterBackend("cuda", cuda.NewEngine)
}

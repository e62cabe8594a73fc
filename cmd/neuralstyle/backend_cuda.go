package main

import "github.com/neuralstyle/neuralstyle/internal/cuda"

// cudaBackend finds and opens the CUDA libraries at run time (no cgo, build
// tag cuda: the loader links the binary against libc's dynamic loader, so the
// default build leaves it out and stays static) and reports what it found
// with an error, exit status 1: the GPU compute path has not run on a GPU yet.
var cudaBackend = cuda.NewEngine

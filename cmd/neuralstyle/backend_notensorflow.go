//go:build !tensorflow

package main

import "github.com/neuralstyle/neuralstyle/internal/stylize"

// tensorflowBackend is nil without the build tag tensorflow.
var tensorflowBackend stylize.EngineFactory

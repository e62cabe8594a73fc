//go:build tensorflow

package main

import (
	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/tfbackend"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// tensorflowBackend: a binary built with -tags tensorflow (make tf) can
// select the TensorFlow backend with --backend tensorflow.
var tensorflowBackend = func(w *vgg.Weights) (engine.Engine, error) {
	return tfbackend.New(w)
}

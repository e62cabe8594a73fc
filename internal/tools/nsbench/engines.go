package main

import (
	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// tfEngine makes the TensorFlow backend's engine; nil unless nsbench is
// built with -tags tensorflow (tf.go).
var tfEngine func(*vgg.Weights) (engine.Engine, error)

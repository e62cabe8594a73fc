// Package vgg loads the VGG-19 network from MatConvNet's .mat files and runs
// the part of it the style-transfer losses need, forward and backward.
package vgg

import "github.com/neuralstyle/neuralstyle/internal/nn"

// Weights are the parts of VGG-19 neural style uses.
type Weights struct {
	// Conv holds conv1_1..conv5_4 in the order of ConvNames, kernels in
	// HWIO order after the reference's transpose of the first two axes.
	Conv [NumConv]nn.ConvWeights
	// MeanPixel is the RGB mean subtracted in preprocessing.
	MeanPixel [3]float32
}

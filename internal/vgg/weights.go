// Package vgg loads the VGG-19 network from MatConvNet's .mat files and runs
// the part of it the style-transfer losses need, forward and backward.
package vgg

import "github.com/neuralstyle/neuralstyle/internal/nn"

// ConvNames are VGG-19's convolution layers up to conv5_4, in order.
var ConvNames = [16]string{
	"conv1_1", "conv1_2",
	"conv2_1", "conv2_2",
	"conv3_1", "conv3_2", "conv3_3", "conv3_4",
	"conv4_1", "conv4_2", "conv4_3", "conv4_4",
	"conv5_1", "conv5_2", "conv5_3", "conv5_4",
}

// Weights are the parts of VGG-19 neural style uses.
type Weights struct {
	// Conv holds conv1_1..conv5_4 in the order of ConvNames, kernels in
	// HWIO order after the reference's transpose of the first two axes.
	Conv [16]nn.ConvWeights
	// MeanPixel is the RGB mean subtracted in preprocessing.
	MeanPixel [3]float32
}

package vgg

import (
	"fmt"
	"strings"
)

// LayerKind tells what one entry of VGG-19's layer table computes.
type LayerKind int

const (
	ConvLayer LayerKind = iota // 3x3 convolution with bias
	ReLULayer                  // the ReLU of the convolution before it
	PoolLayer                  // 2x2 pooling, stride 2 (max or avg)
)

// LayerInfo is one entry of VGG-19's layer table.
type LayerInfo struct {
	Name string
	Kind LayerKind
	// Conv is the index in ConvNames of the convolution this entry is or
	// follows: a ReLU's own convolution, a pool's preceding one.
	Conv Layer
}

// layerNames is the one place VGG-19's layer names are spelled out, in the
// network's order, as the reference's VGG19_LAYERS tuple has them up to
// relu5_4 (the layers after it, pool5 and the fully connected ones, are
// never evaluated).
var layerNames = [...]string{
	"conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
	"conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
	"conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "conv3_4", "relu3_4", "pool3",
	"conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3", "conv4_4", "relu4_4", "pool4",
	"conv5_1", "relu5_1", "conv5_2", "relu5_2", "conv5_3", "relu5_3", "conv5_4", "relu5_4",
}

// NumConv is the number of VGG-19's convolutions up to conv5_4.
const NumConv = 16

// Widths are the output channels of the real VGG-19's convolutions, conv1_1
// to conv5_4 (a weights file gives its own; these size estimates made
// before it is loaded).
var Widths = [NumConv]int{64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512}

// Layers is VGG-19's layer table up to relu5_4, in order.
var Layers = func() []LayerInfo {
	out := make([]LayerInfo, len(layerNames))
	conv := Layer(-1)
	for i, name := range layerNames {
		kind := ConvLayer
		switch {
		case strings.HasPrefix(name, "conv"):
			conv++
		case strings.HasPrefix(name, "relu"):
			kind = ReLULayer
		default:
			kind = PoolLayer
		}
		out[i] = LayerInfo{Name: name, Kind: kind, Conv: conv}
	}
	return out
}()

// ConvNames are VGG-19's convolution layers up to conv5_4, in order.
var ConvNames = namesOf(ConvLayer)

// ReLUNames are the layers the losses may read, relu1_1 to relu5_4, in
// order; ReLUNames[l] is the ReLU of convolution l.
var ReLUNames = namesOf(ReLULayer)

func namesOf(kind LayerKind) [NumConv]string {
	var names [NumConv]string
	for _, l := range Layers {
		if l.Kind == kind {
			names[l.Conv] = l.Name
		}
	}
	return names
}

// The reference's loss layers (neural_style.py's CONTENT_LAYERS and
// STYLE_LAYERS), the defaults of the selectable ones.
var (
	ReferenceContentLayers = []string{"relu4_2", "relu5_2"}
	ReferenceStyleLayers   = []string{"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"}
)

// poolBefore[l] reports whether a pooling layer precedes convolution l.
var poolBefore = func() [NumConv]bool {
	var b [NumConv]bool
	for i, l := range Layers {
		if l.Kind == PoolLayer {
			b[Layers[i+1].Conv] = true
		}
	}
	return b
}()

// PoolBefore reports whether a pooling layer precedes convolution l (the
// first convolution of blocks 2 to 5).
func PoolBefore(l Layer) bool { return poolBefore[l] }

// PoolAfter reports whether a pooling layer follows the ReLU of
// convolution l (the last convolution of blocks 1 to 4).
func PoolAfter(l Layer) bool { return int(l)+1 < NumConv && poolBefore[l+1] }

// PoolsBefore returns the number of pooling layers before convolution l.
func PoolsBefore(l Layer) int {
	k := 0
	for i := Layer(0); i <= l; i++ {
		if poolBefore[i] {
			k++
		}
	}
	return k
}

// LayerIndex returns the layer of a relu or conv name ("relu4_2",
// "conv1_1").
func LayerIndex(name string) (Layer, error) {
	for _, l := range Layers {
		if l.Name == name && l.Kind != PoolLayer {
			return l.Conv, nil
		}
	}
	return 0, fmt.Errorf("vgg: unknown layer %q", name)
}

// ReLUIndex returns the layer of a ReLU's name ("relu4_2"), the only names
// the losses may read.
func ReLUIndex(name string) (Layer, error) {
	for i, n := range ReLUNames {
		if n == name {
			return Layer(i), nil
		}
	}
	return 0, fmt.Errorf("vgg: unknown layer %q (want one of relu1_1 .. relu5_4)", name)
}

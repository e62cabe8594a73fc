// Package engine defines the boundary between the optimisation loop
// (package stylize) and the code that evaluates the style-transfer objective
// on a compute backend (the native Go engine, or TensorFlow).
//
// Images crossing this boundary are preprocessed (mean pixel subtracted),
// float32, height x width x 3, row-major (HWC), like the reference's tensors.
package engine

import "errors"

// Pooling selects the network's pooling layers.
type Pooling int

const (
	MaxPool Pooling = iota // the reference's default
	AvgPool
)

func (p Pooling) String() string {
	if p == AvgPool {
		return "avg"
	}
	return "max"
}

// Image is a preprocessed image of W x H pixels, stored H x W x 3 (HWC).
// Its size is W, H in that order, as imageio.Image's is.
type Image struct {
	W, H int
	Pix  []float32 // len H*W*3, HWC
}

// LayerWeight is one layer a loss reads, by its VGG-19 name ("relu4_2"),
// and the layer's share of that loss.
type LayerWeight struct {
	Layer  string
	Weight float64
}

// Spec is everything the objective needs, with the reference's weights
// already resolved (normalised blend weights, per-layer weights).
type Spec struct {
	Content Image
	Styles  []Image
	Pooling Pooling

	ContentWeight float64
	// ContentLayers are the content loss's layers with their weights (the
	// reference's relu4_2 and relu5_2 with B and 1-B).
	ContentLayers []LayerWeight
	StyleWeight   float64
	// StyleBlendWeights has one weight per style, summing to 1.
	StyleBlendWeights []float64
	// StyleLayers are the style loss's layers with their weights, summing
	// to 1 (the reference's relu1_1 .. relu5_1).
	StyleLayers []LayerWeight
	TVWeight    float64
	// MaxBytes is the memory the problem's buffers may take; 0: no bound.
	// An engine that can tile plans under it (the native engine's networks
	// tiled as vgg.PlanTiles chooses); others ignore it.
	MaxBytes int64
}

// Losses are the objective's terms at one image, as the reference reports
// them. Values are computed in float32 and widened.
type Losses struct {
	Content, Style, TV, Total float64
}

// Engine builds problems on one backend.
type Engine interface {
	// Name is the backend's name ("native", "tensorflow").
	Name() string
	// NewProblem computes the content and style targets of spec and
	// prepares to evaluate the objective on images of the content's size.
	NewProblem(spec *Spec) (Problem, error)
}

// Problem evaluates the objective for images of one size.
type Problem interface {
	// Eval returns the losses at x and, when grad is not nil, sets grad to
	// the gradient of the total loss with respect to x. x and grad are
	// H x W x 3 (HWC) and must not alias.
	Eval(x *Image, grad []float32) (Losses, error)
	// Close releases the problem's buffers.
	Close() error
}

// ErrClosed is returned by a Problem used after Close.
var ErrClosed = errors.New("engine: problem is closed")

// AdamSettings are Adam's hyperparameters (TensorFlow 1's AdamOptimizer).
type AdamSettings struct {
	LearningRate, Beta1, Beta2, Epsilon float64
}

// AdamStepper is implemented by problems that run the Adam update on their
// backend (the TensorFlow backend uses its own ResourceApplyAdam). Package
// stylize uses it for Adam when present and otherwise applies its own Adam
// to the gradient from Eval.
type AdamStepper interface {
	// Step computes the gradient at x, applies one Adam step to x in place
	// and advances the backend's Adam state (m, v, t).
	Step(x *Image, opt AdamSettings) error
}

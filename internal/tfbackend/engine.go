//go:build tensorflow

package tfbackend

import (
	"fmt"

	tf "github.com/galeone/tensorflow/tensorflow/go"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// Version is the version of the linked TensorFlow C library.
func Version() string { return tf.Version() }

// WeightsError reports weights that cannot form VGG-19's convolutions.
type WeightsError struct {
	Layer  string
	Reason string
}

func (e *WeightsError) Error() string {
	return fmt.Sprintf("tfbackend: weights of %s: %s", e.Layer, e.Reason)
}

// SpecError reports a problem specification the graph cannot be built for.
type SpecError struct {
	Reason string
}

func (e *SpecError) Error() string { return "tfbackend: " + e.Reason }

// Engine builds TensorFlow problems from one set of VGG-19 weights.
type Engine struct {
	w *vgg.Weights
}

// New returns a TensorFlow engine computing with w, which it reads but does
// not copy: w must not change while the engine is in use.
func New(w *vgg.Weights) (engine.Engine, error) {
	if err := checkWeights(w); err != nil {
		return nil, err
	}
	return &Engine{w: w}, nil
}

// Name implements engine.Engine.
func (e *Engine) Name() string { return "tensorflow" }

// NewProblem implements engine.Engine: it builds the problem's graph, starts
// its session and computes the content and style targets in it.
func (e *Engine) NewProblem(spec *engine.Spec) (engine.Problem, error) {
	return newProblem(e.w, spec)
}

// checkWeights verifies the chain of layers up to conv5_4, the deepest a
// loss may read, so that a bad file fails here rather than inside
// TensorFlow.
func checkWeights(w *vgg.Weights) error {
	if w == nil {
		return &WeightsError{Layer: "network", Reason: "no weights"}
	}
	in := 3
	for i := range w.Conv {
		c := &w.Conv[i]
		name := vgg.ConvNames[i]
		switch {
		case c.In != in:
			return &WeightsError{Layer: name, Reason: fmt.Sprintf("%d input channels, want %d", c.In, in)}
		case c.Out <= 0:
			return &WeightsError{Layer: name, Reason: fmt.Sprintf("%d output channels", c.Out)}
		case len(c.Kernel) != 9*c.In*c.Out:
			return &WeightsError{Layer: name, Reason: fmt.Sprintf("kernel has %d values, want 3*3*%d*%d", len(c.Kernel), c.In, c.Out)}
		case len(c.Bias) != c.Out:
			return &WeightsError{Layer: name, Reason: fmt.Sprintf("bias has %d values, want %d", len(c.Bias), c.Out)}
		}
		in = c.Out
	}
	return nil
}

package stylize

import (
	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// Optimizer improves the image x in place from the gradient g of the
// objective at x, one step per call (Adam here; package optim's L-BFGS has
// the same method).
type Optimizer interface {
	Step(x, g []float32)
}

// descent takes the loop's steps on one problem: the loop has one path
// whether the optimiser runs in Go on the gradients Eval returns or the
// backend steps the image itself.
type descent interface {
	// losses evaluates the objective at x. When reuse is set the gradient
	// may be computed with it, for the next step, which costs nothing
	// extra on a backend that computes them together.
	losses(x *engine.Image, reuse bool) (engine.Losses, error)
	// step takes one optimisation step on x.
	step(x *engine.Image) error
}

// newDescent returns the steps of opt on problem p: on the backend when opt
// is an Adam and p runs Adam itself (TensorFlow's ResourceApplyAdam),
// otherwise opt applied to the gradients of p.Eval.
func newDescent(p engine.Problem, opt Optimizer, n int) descent {
	if adam, ok := opt.(*Adam); ok {
		if s, ok := p.(engine.AdamStepper); ok {
			return &backendAdam{p: s, problem: p, settings: adam.settings}
		}
	}
	return &gradientDescent{p: p, opt: opt, grad: make([]float32, n)}
}

// gradientDescent applies an Optimizer to the gradients of Eval.
type gradientDescent struct {
	p    engine.Problem
	opt  Optimizer
	grad []float32
	// fresh: grad holds the gradient at the current x (computed by losses
	// with reuse), so the step need not evaluate again.
	fresh bool
}

func (d *gradientDescent) losses(x *engine.Image, reuse bool) (engine.Losses, error) {
	if !reuse {
		return d.p.Eval(x, nil)
	}
	ls, err := d.p.Eval(x, d.grad)
	d.fresh = err == nil
	return ls, err
}

func (d *gradientDescent) step(x *engine.Image) error {
	if !d.fresh {
		if _, err := d.p.Eval(x, d.grad); err != nil {
			return err
		}
	}
	d.opt.Step(x.Pix, d.grad)
	d.fresh = false
	return nil
}

// backendAdam lets the backend compute the gradient and apply Adam.
type backendAdam struct {
	p        engine.AdamStepper
	problem  engine.Problem
	settings engine.AdamSettings
}

func (d *backendAdam) losses(x *engine.Image, _ bool) (engine.Losses, error) {
	return d.problem.Eval(x, nil)
}

func (d *backendAdam) step(x *engine.Image) error { return d.p.Step(x, d.settings) }

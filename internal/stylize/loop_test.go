package stylize

import (
	"context"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/optim"
)

// bowl is a fake problem: total = sum((x - 3)^2), split into three terms.
type bowl struct {
	evals, grads int
	cancelAfter  int // cancel after this many gradient evaluations
	cancel       func()
	losses       []float64 // if set, the totals to report, in order of evaluation
}

func (b *bowl) Eval(x *engine.Image, grad []float32) (engine.Losses, error) {
	b.evals++
	var s float64
	for i, v := range x.Pix {
		d := float64(v) - 3
		s += d * d
		if grad != nil {
			grad[i] = float32(2 * d)
		}
	}
	if grad != nil {
		b.grads++
		if b.cancel != nil && b.grads == b.cancelAfter {
			b.cancel()
		}
	}
	if b.losses != nil {
		s = b.losses[b.evals-1]
	}
	return engine.Losses{Content: s / 2, Style: s / 4, TV: s / 4, Total: s}, nil
}

func (b *bowl) Close() error { return nil }

func newX() *engine.Image { return &engine.Image{H: 1, W: 2, Pix: []float32{0, 0, 0, 0, 0, 0}} }

func TestLoopNumbering(t *testing.T) {
	tests := []struct {
		name                    string
		iterations, print, ckpt int
		records, checkpoints    []int
		evals                   int
	}{
		{"print every step", 5, 1, 0, []int{0, 1, 2, 3, 5}, []int{5}, 1 + 5},
		{"print every 2", 5, 2, 0, []int{0, 2, 5}, []int{5}, 1 + 5},
		{"no printing", 4, 0, 0, []int{4}, []int{4}, 4 + 1},
		{"checkpoints", 7, 0, 3, []int{7}, []int{0, 3, 7}, 7 + 1},
		{"one step", 1, 1, 1, []int{1}, []int{1}, 1 + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &bowl{}
			var records, checkpoints []int
			var events []EventKind
			l := &loop{problem: p, iterations: tt.iterations, printEvery: tt.print, checkpointEvery: tt.ckpt,
				optimizer:  NewAdam(6, engine.AdamSettings{LearningRate: 0.1, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}),
				emit:       func(ev Event) { events = append(events, ev.Kind) },
				record:     func(itr int, _ engine.Losses) { records = append(records, itr) },
				checkpoint: func(itr int, _ *engine.Image) error { checkpoints = append(checkpoints, itr); return nil },
			}
			res, err := l.run(context.Background(), newX())
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(records, tt.records) {
				t.Errorf("records at %v, want %v", records, tt.records)
			}
			if !reflect.DeepEqual(checkpoints, tt.checkpoints) {
				t.Errorf("checkpoints at %v, want %v", checkpoints, tt.checkpoints)
			}
			if p.evals != tt.evals {
				t.Errorf("%d evaluations, want %d (recording losses must reuse the next step's pass)", p.evals, tt.evals)
			}
			if res.steps != tt.iterations || res.interrupted {
				t.Errorf("steps %d interrupted %v", res.steps, res.interrupted)
			}
			if events[0] != EventStart {
				t.Errorf("first event %v", events[0])
			}
		})
	}
}

// TestLoopMatchesPlainAdam: reusing the gradient computed for a loss record
// must not change the trajectory.
func TestLoopMatchesPlainAdam(t *testing.T) {
	p := engine.AdamSettings{LearningRate: 0.5, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
	x := newX()
	l := &loop{problem: &bowl{}, iterations: 6, printEvery: 1, optimizer: NewAdam(6, p),
		emit: func(Event) {}, record: func(int, engine.Losses) {}}
	if _, err := l.run(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	y := newX()
	a := NewAdam(len(y.Pix), p)
	g := make([]float32, len(y.Pix))
	for i := 0; i < 6; i++ {
		(&bowl{}).Eval(y, g)
		a.Step(y.Pix, g)
	}
	if !reflect.DeepEqual(x.Pix, y.Pix) {
		t.Errorf("loop gave %v, plain Adam %v", x.Pix, y.Pix)
	}
}

func TestLoopKeepsBest(t *testing.T) {
	// Totals by evaluation: the gradient for step 1, checkpoint 0, the
	// gradient for step 3, checkpoint 2, the last step (4). Checkpoint 2
	// has the lowest loss.
	p := &bowl{losses: []float64{5, 9, 100, 1, 7}}
	var got []float32
	l := &loop{problem: p, iterations: 4, checkpointEvery: 2, optimizer: NewAdam(6, engine.AdamSettings{LearningRate: 1, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}),
		emit: func(Event) {}, record: func(int, engine.Losses) {},
	}
	var snapshots [][]float32
	x := newX()
	var atEval [][]float32
	l.checkpoint = func(itr int, best *engine.Image) error {
		snapshots = append(snapshots, append([]float32(nil), best.Pix...))
		atEval = append(atEval, append([]float32(nil), x.Pix...))
		return nil
	}
	res, err := l.run(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	got = res.best.Pix
	if res.bestLoss != 1 {
		t.Fatalf("best loss %v, want 1", res.bestLoss)
	}
	if !reflect.DeepEqual(got, atEval[1]) {
		t.Errorf("best image is not the one evaluated at the second checkpoint")
	}
	if !reflect.DeepEqual(snapshots[2], atEval[1]) {
		t.Errorf("last checkpoint wrote the current image, not the best")
	}
	if math.IsInf(res.bestLoss, 0) {
		t.Error("no best")
	}
}

func TestLoopInterrupt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &bowl{cancelAfter: 3, cancel: cancel}
	var kinds []EventKind
	var checkpoints []int
	l := &loop{problem: p, iterations: 100, optimizer: NewAdam(6, engine.AdamSettings{LearningRate: 0.1, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}),
		emit:       func(ev Event) { kinds = append(kinds, ev.Kind) },
		record:     func(int, engine.Losses) {},
		checkpoint: func(itr int, _ *engine.Image) error { checkpoints = append(checkpoints, itr); return nil },
	}
	x := newX()
	res, err := l.run(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	if !res.interrupted || res.steps != 3 {
		t.Fatalf("interrupted=%v after %d steps, want true after 3", res.interrupted, res.steps)
	}
	if kinds[len(kinds)-1] != EventInterrupted {
		t.Errorf("last event %v, want EventInterrupted", kinds[len(kinds)-1])
	}
	if !reflect.DeepEqual(res.best.Pix, x.Pix) {
		t.Errorf("the interrupted run's best should be its only evaluated image")
	}
	if len(checkpoints) != 0 {
		t.Errorf("checkpoints %v written on interrupt; only the output should be", checkpoints)
	}
}

func TestStyleLayerWeights(t *testing.T) {
	w := styleLayerWeights(2, 5)
	want := []float64{1.0 / 31, 2.0 / 31, 4.0 / 31, 8.0 / 31, 16.0 / 31}
	for i := range w {
		if math.Abs(w[i]-want[i]) > 1e-15 {
			t.Errorf("w[%d] = %v, want %v", i, w[i], want[i])
		}
	}
}

func TestRecentMean(t *testing.T) {
	var r recent
	if r.mean() != 0 {
		t.Errorf("empty mean %v", r.mean())
	}
	for i := 1; i <= 15; i++ {
		r.add(time.Duration(i) * time.Second)
	}
	// the last ten: 6..15 seconds
	if got, want := r.mean(), 10500*time.Millisecond; got != want {
		t.Errorf("mean of the last ten = %v, want %v", got, want)
	}
}

// selfStepper is a bowl whose backend runs Adam itself, as TensorFlow's
// ResourceApplyAdam does.
type selfStepper struct {
	bowl
	steps    int
	settings engine.AdamSettings
}

func (s *selfStepper) Step(x *engine.Image, opt engine.AdamSettings) error {
	s.steps++
	s.settings = opt
	g := make([]float32, len(x.Pix))
	s.bowl.Eval(x, g)
	for i := range x.Pix {
		x.Pix[i] -= 0.1 * g[i]
	}
	return nil
}

// countingOptimizer is an Optimizer other than Adam.
type countingOptimizer struct{ steps int }

func (c *countingOptimizer) Step(x, g []float32) {
	c.steps++
	for i := range x {
		x[i] -= 0.1 * g[i]
	}
}

// TestLoopOptimizerPaths: Adam on a problem that steps itself runs on the
// backend with Adam's settings, evaluating only for the records; any other
// optimiser gets the gradients of Eval, even on such a problem.
func TestLoopOptimizerPaths(t *testing.T) {
	settings := engine.AdamSettings{LearningRate: 0.5, Beta1: 0.8, Beta2: 0.99, Epsilon: 1e-7}
	p := &selfStepper{}
	l := &loop{problem: p, iterations: 5, printEvery: 2, optimizer: NewAdam(6, settings),
		emit: func(Event) {}, record: func(int, engine.Losses) {}}
	if _, err := l.run(context.Background(), newX()); err != nil {
		t.Fatal(err)
	}
	if p.steps != 5 || p.settings != settings || p.grads != 5 {
		t.Errorf("backend steps %d with %+v, %d gradients; want 5 with %+v, 5 (one per step, none for records)",
			p.steps, p.settings, p.grads, settings)
	}

	p = &selfStepper{}
	opt := &countingOptimizer{}
	l = &loop{problem: p, iterations: 5, printEvery: 2, optimizer: opt,
		emit: func(Event) {}, record: func(int, engine.Losses) {}}
	if _, err := l.run(context.Background(), newX()); err != nil {
		t.Fatal(err)
	}
	if p.steps != 0 || opt.steps != 5 {
		t.Errorf("backend steps %d, optimiser steps %d; want 0, 5", p.steps, opt.steps)
	}
}

// TestLBFGSNotOnBackend: L-BFGS on a problem that runs Adam itself (the
// TensorFlow backend) takes the Eval path: the backend never steps.
func TestLBFGSNotOnBackend(t *testing.T) {
	p := &selfStepper{}
	o := DefaultOptions()
	o.Optimizer = "lbfgs"
	opt, err := (&resolved{Options: o}).newOptimizer(6)
	if err != nil {
		t.Fatal(err)
	}
	lb, ok := opt.(*optim.LBFGS)
	if !ok {
		t.Fatalf("optimizer %T, want *optim.LBFGS", opt)
	}
	l := &loop{problem: p, iterations: 5, printEvery: 2, optimizer: opt,
		emit: func(Event) {}, record: func(int, engine.Losses) {}}
	if _, err := l.run(context.Background(), newX()); err != nil {
		t.Fatal(err)
	}
	if p.steps != 0 || lb.Iterations() != 5 || p.grads != 5 {
		t.Errorf("backend steps %d, L-BFGS steps %d, gradients %d; want 0, 5, 5", p.steps, lb.Iterations(), p.grads)
	}
}

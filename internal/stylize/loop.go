package stylize

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// loop is the reference's optimisation loop (docs/SPEC.md section 5) over
// one problem.
type loop struct {
	problem         engine.Problem
	optimizer       Optimizer
	iterations      int
	printEvery      int // 0: losses only at the last step
	checkpointEvery int // 0: only the last step is evaluated

	emit func(Event)
	// checkpoint receives the best image so far (preprocessed, owned by the
	// loop: copy it to keep it) at every checkpoint with its number.
	checkpoint func(label int, best *engine.Image) error
	// record receives the losses at every recorded iteration.
	record func(label int, l engine.Losses)
	// save, when set, receives what a resumed run needs after every
	// checkpoint and when the run stops early: the steps taken, the image
	// after them and the best image so far (as an uninterrupted run has
	// it, so before the stop's own evaluation counts).
	save func(steps int, x *engine.Image, res *loopResult) error
	// resume, when set, is the saved state to continue from: its steps
	// are taken already, x is the image after them.
	resume *loopResult
}

// loopResult is what the loop leaves behind.
type loopResult struct {
	best        *engine.Image // the lowest-loss image evaluated, preprocessed
	bestLoss    float64
	haveBest    bool
	steps       int  // optimisation steps taken
	interrupted bool // the context was cancelled before the last step
}

// consider keeps x as the best image if its loss is lower.
func (res *loopResult) consider(x *engine.Image, ls engine.Losses) {
	if ls.Total < res.bestLoss || !res.haveBest {
		// The reference keeps the first image whose loss is lower than
		// the best so far; a NaN loss never is, so with nothing better
		// the current image stands in rather than none.
		if ls.Total < res.bestLoss {
			res.bestLoss = ls.Total
		}
		copy(res.best.Pix, x.Pix)
		res.haveBest = true
	}
}

// run optimises x in place from its initial value.
func (l *loop) run(ctx context.Context, x *engine.Image) (*loopResult, error) {
	d := newDescent(l.problem, l.optimizer, len(x.Pix))
	res := &loopResult{best: &engine.Image{H: x.H, W: x.W, Pix: make([]float32, len(x.Pix))}, bestLoss: math.Inf(1)}
	first := 0
	if l.resume != nil {
		res, first = l.resume, l.resume.steps
	}

	l.emit(Event{Kind: EventStart, Iterations: l.iterations})
	// The reference prints (without recording) the initial losses when
	// print-iterations is set. Their gradient serves the first step. A
	// resumed run evaluates at its saved image in its first step instead:
	// on a deterministic engine the same gradient, bit for bit.
	if l.printEvery > 0 && first == 0 {
		ls, err := d.losses(x, true)
		if err != nil {
			return nil, err
		}
		l.emit(Event{Kind: EventInitialLosses, Iterations: l.iterations, Losses: ls})
	}
	start := time.Now()
	var times recent
	for i := first; i < l.iterations; i++ {
		iterStart := time.Now()
		ev := Event{Kind: EventIteration, Iteration: i + 1, Iterations: l.iterations}
		if i > first {
			ev.Elapsed = time.Since(start)
			ev.Remaining = times.mean() * time.Duration(l.iterations-i)
		}
		l.emit(ev)
		if err := d.step(x); err != nil {
			return nil, fmt.Errorf("iteration %d: %w", i+1, err)
		}
		res.steps = i + 1
		stopping := ctx.Err() != nil
		if err := l.after(i, x, d, res, stopping); err != nil {
			return nil, err
		}
		times.add(time.Since(iterStart))
		if stopping && i < l.iterations-1 {
			res.interrupted = true
			l.emit(Event{Kind: EventInterrupted, Iteration: i + 1, Iterations: l.iterations, Label: i})
			break
		}
	}
	return res, nil
}

// after records, checkpoints and keeps the best image after step i (0-based)
// as the reference does: records every printEvery steps and at the last,
// checkpoints every checkpointEvery steps and at the last, both numbered i
// except the last, numbered i+1. Stopping evaluates too, to keep the best.
func (l *loop) after(i int, x *engine.Image, d descent, res *loopResult, stopping bool) error {
	last := i == l.iterations-1
	recordNow := last || (l.printEvery > 0 && i%l.printEvery == 0)
	checkpointNow := last || (l.checkpointEvery > 0 && i%l.checkpointEvery == 0)
	if !recordNow && !checkpointNow && !stopping {
		return nil
	}
	label := i
	if last {
		label = i + 1
	}
	// Unless no step follows, the gradient comes with the losses: the next
	// step would compute it anyway, so recording costs no network pass.
	ls, err := d.losses(x, !last && !stopping)
	if err != nil {
		return fmt.Errorf("iteration %d: %w", i+1, err)
	}
	if recordNow {
		l.record(label, ls)
		l.emit(Event{Kind: EventLosses, Iteration: i + 1, Iterations: l.iterations, Label: label, Losses: ls})
	}
	if !checkpointNow {
		if !stopping {
			return nil
		}
		// Stopping: the state saved is the uninterrupted run's, which
		// would not weigh this image against the best.
		if err := l.saveState(i+1, x, res); err != nil {
			return err
		}
		res.consider(x, ls)
		return nil
	}
	res.consider(x, ls)
	if l.checkpoint != nil {
		if err := l.checkpoint(label, res.best); err != nil {
			return err
		}
	}
	return l.saveState(i+1, x, res)
}

func (l *loop) saveState(steps int, x *engine.Image, res *loopResult) error {
	if l.save == nil {
		return nil
	}
	res.steps = steps
	return l.save(steps, x, res)
}

// recent keeps the last iterations' durations: the reference estimates
// the time left from the mean of the last ten.
type recent struct {
	d [10]time.Duration
	n int // durations added so far
}

func (r *recent) add(d time.Duration) {
	r.d[r.n%len(r.d)] = d
	r.n++
}

func (r *recent) mean() time.Duration {
	k := min(r.n, len(r.d))
	if k == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range r.d[:k] {
		sum += d
	}
	return sum / time.Duration(k)
}

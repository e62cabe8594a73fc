package stylize

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// loop is the reference's optimisation loop (SPEC 5) over one problem.
type loop struct {
	problem         engine.Problem
	iterations      int
	printEvery      int // 0: losses only at the last step
	checkpointEvery int // 0: only the last step is evaluated
	adam            engine.Adam

	emit func(Event)
	// checkpoint receives the best image so far (preprocessed, owned by the
	// loop: copy it to keep it) at every checkpoint with its iteration number.
	checkpoint func(itr int, best *engine.Image) error
	// record receives the losses at every recorded iteration.
	record func(itr int, l engine.Losses)
}

// loopResult is what the loop leaves behind.
type loopResult struct {
	best        *engine.Image // the lowest-loss image evaluated, preprocessed
	bestLoss    float64
	steps       int  // Adam steps taken
	interrupted bool // the context was cancelled before the last step
}

// run optimises x in place from its initial value.
func (l *loop) run(ctx context.Context, x *engine.Image) (*loopResult, error) {
	n := len(x.Pix)
	grad := make([]float32, n)
	haveGrad := false // grad holds the gradient at the current x
	stepper, _ := l.problem.(engine.Stepper)
	var opt *Adam
	if stepper == nil {
		opt = NewAdam(n, l.adam)
	}
	res := &loopResult{best: &engine.Image{H: x.H, W: x.W, Pix: make([]float32, n)}, bestLoss: math.Inf(1)}
	haveBest := false

	// eval returns the losses at the current x. Unless this is the last step
	// it also computes the gradient, which the next step would compute
	// anyway: recording losses then costs no extra network pass.
	eval := func(withGrad bool) (engine.Losses, error) {
		if withGrad && stepper == nil {
			ls, err := l.problem.Eval(x, grad)
			haveGrad = err == nil
			return ls, err
		}
		return l.problem.Eval(x, nil)
	}
	consider := func(ls engine.Losses) {
		if ls.Total < res.bestLoss || !haveBest {
			// The reference keeps the first image whose loss is lower than
			// the best so far; a NaN loss never is, so with nothing better
			// the current image stands in rather than none.
			if ls.Total < res.bestLoss {
				res.bestLoss = ls.Total
			}
			copy(res.best.Pix, x.Pix)
			haveBest = true
		}
	}

	l.emit(Event{Kind: EventStart, Iterations: l.iterations})
	// The reference prints (without recording) the initial losses when
	// print-iterations is set.
	if l.printEvery > 0 {
		ls, err := eval(true)
		if err != nil {
			return nil, err
		}
		l.emit(Event{Kind: EventInitialLosses, Iterations: l.iterations, Losses: ls})
	}
	start := time.Now()
	var times recent
	for i := 0; i < l.iterations; i++ {
		iterStart := time.Now()
		ev := Event{Kind: EventIteration, Iteration: i + 1, Iterations: l.iterations}
		if i > 0 {
			ev.Elapsed = time.Since(start)
			ev.Remaining = times.mean() * time.Duration(l.iterations-i)
		}
		l.emit(ev)

		if stepper != nil {
			if err := stepper.Step(x, l.adam); err != nil {
				return nil, fmt.Errorf("iteration %d: %w", i+1, err)
			}
		} else {
			if !haveGrad {
				if _, err := l.problem.Eval(x, grad); err != nil {
					return nil, fmt.Errorf("iteration %d: %w", i+1, err)
				}
			}
			opt.Step(x.Pix, grad)
		}
		haveGrad = false
		res.steps = i + 1

		last := i == l.iterations-1
		recordNow := last || (l.printEvery > 0 && i%l.printEvery == 0)
		checkpointNow := last || (l.checkpointEvery > 0 && i%l.checkpointEvery == 0)
		itr := i
		if last {
			itr = i + 1
		}
		stopping := ctx.Err() != nil
		if recordNow || checkpointNow || stopping {
			ls, err := eval(!last && !stopping)
			if err != nil {
				return nil, fmt.Errorf("iteration %d: %w", i+1, err)
			}
			if recordNow {
				l.record(itr, ls)
				l.emit(Event{Kind: EventLosses, Iteration: i + 1, Iterations: l.iterations, Itr: itr, Losses: ls})
			}
			if checkpointNow || stopping {
				consider(ls)
			}
			if checkpointNow && l.checkpoint != nil {
				if err := l.checkpoint(itr, res.best); err != nil {
					return nil, err
				}
			}
		}
		times.add(time.Since(iterStart))
		if stopping && !last {
			res.interrupted = true
			l.emit(Event{Kind: EventInterrupted, Iteration: i + 1, Iterations: l.iterations, Itr: i})
			break
		}
	}
	return res, nil
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

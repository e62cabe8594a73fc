package optim

import "github.com/neuralstyle/neuralstyle/internal/parallel"

// chunk is how many values one part of a sweep handles. A dot product is
// summed per chunk (by dot) and the chunks' sums are added in order, so its
// value depends on n alone, never on how many goroutines ran the parts:
// runs are the same on every machine and a resumed run continues bit for
// bit. A vector of at most chunk values is summed exactly as by dot.
const chunk = 1 << 15

// sweep is one pass over the direction q of the two-loop recursion, two of
// its steps fused so that q is read once for both: first one update of q
// (q = -neg; or q *= scale; or q += c*add), then the dot product of q with
// next, when next is set. The two-loop recursion is 4 passes over every
// pair a step, the most memory an iteration touches after the network, and
// fusing and splitting them is what keeps it from costing as much as the
// network's evaluation at large histories.
type sweep struct {
	q, neg, add, next []float32
	c, scale          float64
	partial           []float64 // per chunk, next·q
}

func (p *sweep) Run(i int) {
	lo := i * chunk
	hi := min(lo+chunk, len(p.q))
	q := p.q[lo:hi]
	switch {
	case p.neg != nil:
		for j, v := range p.neg[lo:hi] {
			q[j] = -v
		}
	case p.add != nil:
		axpy(q, p.c, p.add[lo:hi])
	default:
		for j, v := range q {
			q[j] = float32(float64(v) * p.scale)
		}
	}
	if p.next != nil {
		p.partial[i] = dot(p.next[lo:hi], q)
	}
}

// run carries out the sweep over all of q and returns next·q (0 without
// next), then clears the sweep's vectors for the next one.
func (p *sweep) run() float64 {
	parts := len(p.partial)
	if parts == 1 {
		p.Run(0)
	} else {
		parallel.For(parts, p)
	}
	var sum float64
	if p.next != nil {
		for _, v := range p.partial {
			sum += v
		}
	}
	p.neg, p.add, p.next = nil, nil, nil
	return sum
}

// direction sets d = -H g by the two-loop recursion over the kept pairs,
// newest first and then oldest first, in d itself as torch does in q/r:
//
//	q = -g
//	for newest to oldest: alpha = rho s·q; q -= alpha y
//	q *= H0
//	for oldest to newest: beta = rho y·q; q += (alpha - beta) s
//
// each update sweep computing the next dot product as it goes.
func (o *LBFGS) direction(g []float32) {
	p := &o.sweep
	p.q = o.d
	// pairAt returns pair k's s (first) or y, or nil past either end.
	pairAt := func(k int, first bool) []float32 {
		if k < 0 || k >= o.count {
			return nil
		}
		s, y := o.pair(o.slot(k))
		if first {
			return s
		}
		return y
	}
	p.neg, p.next = g, pairAt(o.count-1, true)
	sq := p.run()
	for k := o.count - 1; k >= 0; k-- {
		slot := o.slot(k)
		a := sq * o.rho[slot]
		o.alpha[slot] = a
		p.add, p.c, p.next = pairAt(k, false), -a, pairAt(k-1, true)
		sq = p.run()
	}
	p.scale, p.next = o.hDiag, pairAt(0, false)
	yq := p.run()
	for k := 0; k < o.count; k++ {
		slot := o.slot(k)
		b := yq * o.rho[slot]
		p.add, p.c, p.next = pairAt(k, true), o.alpha[slot]-b, pairAt(k+1, false)
		yq = p.run()
	}
}

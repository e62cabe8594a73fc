package nn

import "sync"

// portable is the pure-Go Kernels implementation.
type portable struct {
	scratch *scratch
	direct  bool // direct convolutions instead of Winograd's (for comparison)
}

// Portable returns the pure-Go kernels, which run on every platform. Convs
// made by one Portable value share its scratch buffers (the padded or
// transformed input of a call), so that a network holds one such buffer,
// the size of its largest layer's, rather than one per layer. One Conv
// serves one call at a time; different Convs may run concurrently.
func Portable() Kernels {
	return &portable{scratch: new(scratch)}
}

func (k *portable) Name() string {
	if k.direct {
		return "portable-direct"
	}
	return "portable"
}

func (k *portable) NewConv(wt *ConvWeights, h, w int) Conv {
	if k.direct {
		return newDirectConv(wt, h, w, k.scratch)
	}
	return newPortableConv(wt, h, w, k.scratch)
}

// scratch is a free list of buffers shared by the convolutions of one
// Kernels value. Sequential calls reuse one buffer; concurrent calls get
// their own.
type scratch struct {
	mu   sync.Mutex
	free [][]float32
}

func (s *scratch) get(n int) []float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, b := range s.free {
		if cap(b) >= n {
			last := len(s.free) - 1
			s.free[i] = s.free[last]
			s.free[last] = nil
			s.free = s.free[:last]
			return b[:n]
		}
	}
	// Dropping the smaller buffers keeps one buffer of the largest size in
	// the steady state.
	clear(s.free)
	s.free = s.free[:0]
	return make([]float32, n)
}

func (s *scratch) put(b []float32) {
	s.mu.Lock()
	s.free = append(s.free, b)
	s.mu.Unlock()
}

package vgg

import (
	"errors"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// TestTileAxis checks the windows' geometry on many sizes: one window
// size, every window inside the image and starting on a pooling boundary,
// the interiors partitioning the segment's output, and each window
// covering its interior with the halo or the image's edge on both sides.
func TestTileAxis(t *testing.T) {
	for _, depth := range Depths {
		k := poolsIn(depth)
		a := 1 << k
		halo := Halo(depth)
		if halo%a != 0 {
			t.Errorf("depth %d: halo %d is not a multiple of %d", depth, halo, a)
		}
		for n := 1; n < 700; n += 7 {
			for _, tile := range []int{1, 2, 3, 5, 17, 100} {
				win, spans := tileAxis(n, k, tile, halo)
				next := 0
				for _, s := range spans {
					if s.b0 != next || s.b1 <= s.b0 || s.b1-s.b0 > tile && len(spans) > 1 {
						t.Fatalf("depth %d, n %d, tile %d: interiors %v", depth, n, tile, spans)
					}
					next = s.b1
					lo, hi := s.b0*a, min(s.b1*a, n)
					if s.s%a != 0 || s.s < 0 || s.s+win > n {
						t.Fatalf("depth %d, n %d, tile %d: window [%d, %d) of the image [0, %d)", depth, n, tile, s.s, s.s+win, n)
					}
					if (s.s > 0 && s.s > lo-halo) || (s.s+win < n && s.s+win < hi+halo) {
						t.Fatalf("depth %d, n %d, tile %d: window [%d, %d) does not cover [%d, %d) with a margin of %d", depth, n, tile, s.s, s.s+win, lo, hi, halo)
					}
				}
				if next != (n+a-1)/a {
					t.Fatalf("depth %d, n %d, tile %d: interiors end at %d of %d cells", depth, n, tile, next, (n+a-1)/a)
				}
			}
		}
	}
}

// TestHaloSuffices checks that each depth's halo is the least that
// suffices (the next smaller multiple of 2^k does not).
func TestHaloSuffices(t *testing.T) {
	for _, depth := range Depths {
		p := Halo(depth)
		if !haloSuffices(depth, p) || haloSuffices(depth, p-(1<<poolsIn(depth))) {
			t.Errorf("depth %d: halo %d is not the least", depth, p)
		}
	}
}

func TestPlanTiles(t *testing.T) {
	ps := PlanSpec{H: 1024, W: 768, Pooling: engine.MaxPool, Taps: []Layer{0, 2, 4, 8, 9, 12, 13}}
	untiled, err := NewPlan(ps, 0, 0)
	if err != nil || untiled.Tiled() {
		t.Fatal(untiled, err)
	}
	for _, budget := range []int64{0, -1, untiled.Bytes, untiled.Bytes * 2} {
		if p, err := PlanTiles(ps, budget); err != nil || p.Tiled() {
			t.Errorf("budget %d: %v, %v; want untiled", budget, p, err)
		}
	}
	prev := untiled.Bytes
	for _, f := range []int64{2, 3, 6} {
		budget := untiled.Bytes / f
		p, err := PlanTiles(ps, budget)
		if err != nil || !p.Tiled() || p.Bytes > budget {
			t.Errorf("budget %d: %v, %v", budget, p, err)
		}
		if p.Bytes > prev {
			t.Errorf("budget %d: plan of %d bytes, more than the larger budget's %d", budget, p.Bytes, prev)
		}
		prev = p.Bytes
	}
	least, err := PlanTiles(ps, 1)
	if !errors.Is(err, ErrBudget) || !least.Tiled() {
		t.Fatalf("1 byte: %v, %v", least, err)
	}
	if p, err := PlanTiles(ps, least.Bytes); err != nil || p.Bytes > least.Bytes {
		t.Errorf("the least plan's budget: %v, %v", p, err)
	}
	for _, c := range []struct{ depth, tile int }{{3, 4}, {4, 0}, {16, 1}, {-2, 1}} {
		if _, err := NewPlan(ps, c.depth, c.tile); err == nil {
			t.Errorf("NewPlan(depth %d, tile %d): no error", c.depth, c.tile)
		}
	}
	if _, err := NewPlan(PlanSpec{H: 64, W: 64, Taps: []Layer{3}}, 4, 1); err == nil {
		t.Errorf("tiling deeper than the deepest tapped layer: no error")
	}
}

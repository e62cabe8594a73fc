package stylize

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

// TestWriteProgressPlotDegenerate draws losses a log scale cannot show as
// they are (all zero, infinite, NaN, one constant value, the ends of the
// float range): each must give a PNG, not a panic or an endless tick loop.
func TestWriteProgressPlotDegenerate(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	same := func(v float64) engine.Losses { return engine.Losses{Content: v, Style: v, TV: v, Total: v} }
	tests := []struct {
		name string
		recs []Record
	}{
		{"no records", nil},
		{"all weights zero", []Record{{Label: 0, Losses: same(0)}, {Label: 10, Losses: same(0)}}},
		{"all infinite", []Record{{Label: 0, Losses: same(inf)}, {Label: 10, Losses: same(inf)}}},
		{"all NaN", []Record{{Label: 0, Losses: same(nan)}, {Label: 10, Losses: same(nan)}}},
		{"negative", []Record{{Label: 0, Losses: same(-1)}, {Label: 10, Losses: same(-2)}}},
		{"one point below one", []Record{{Label: 1, Losses: same(0.5)}}},
		{"constant below one", []Record{{Label: 0, Losses: same(0.25)}, {Label: 5, Losses: same(0.25)}}},
		{"constant at float32 max", []Record{{Label: 0, Losses: same(math.MaxFloat32)}, {Label: 5, Losses: same(math.MaxFloat32)}}},
		{"float64 max", []Record{{Label: 0, Losses: same(math.MaxFloat64)}, {Label: 5, Losses: same(1)}}},
		{"smallest denormal", []Record{{Label: 0, Losses: same(5e-324)}, {Label: 5, Losses: same(1)}}},
		{"mixed", []Record{{Label: 0, Losses: engine.Losses{Content: 0, Style: inf, TV: 3, Total: inf}}, {Label: 10, Losses: engine.Losses{Content: 0, Style: 1e30, TV: 2, Total: 1e30}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "progress.png")
			if err := writeProgressPlot(path, tt.recs, nil); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := png.Decode(f); err != nil {
				t.Fatalf("progress.png does not decode: %v", err)
			}
		})
	}
}

func TestLogRange(t *testing.T) {
	tests := []struct {
		lo, hi         float64
		wantLo, wantHi float64
	}{
		{0.25, 0.25, 0.1, 1},
		{1, 1, 1, 10},
		{3, 3000, 1, 10000},
		{100, 1000, 100, 1000},
		{5e-324, 1, 1e-300, 1},
		{1, math.MaxFloat64, 1, 1e300},
	}
	for _, tt := range tests {
		lo, hi := logRange(tt.lo, tt.hi)
		if lo != tt.wantLo || hi != tt.wantHi {
			t.Errorf("logRange(%g, %g) = %g, %g; want %g, %g", tt.lo, tt.hi, lo, hi, tt.wantLo, tt.wantHi)
		}
	}
}

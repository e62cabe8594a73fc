package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
)

// wideFields is a line at its longest: big counts, hours, losses in
// exponent form.
var wideFields = barFields{
	iteration: 123456, iterations: 999999, done: 123455,
	elapsed: 10*time.Hour + 59*time.Minute, remaining: 99*time.Hour + 59*time.Minute,
	showETA: true, haveLoss: true,
	losses: engine.Losses{Content: -1.23456e+38, Style: 3.40282e+38, TV: 1.17549e-38, Total: math.Inf(1)},
}

// TestLayoutBarFits: at every width the line stays under the terminal's
// width (its last column would wrap on some terminals and each redraw add
// a line), and the fields go in their order as the width shrinks.
func TestLayoutBarFits(t *testing.T) {
	tests := []struct {
		columns       int
		want, wantNot []string
	}{
		{200, []string{"[##", "123456/999999", "elapsed", "ETA 99 hr 59 min", "loss inf", "(content -1.23456e+38"}, nil},
		{120, []string{"[#", "123456/999999", "ETA", "loss inf"}, []string{"(content"}},
		{80, []string{"123456/999999", "ETA 99 hr 59 min"}, []string{"(content"}},
		{40, []string{"123456/999999", "ETA 99 hr 59 min"}, []string{"(content", "elapsed", "loss"}},
		{20, []string{"123456/999999"}, []string{"ETA", "["}},
		{8, []string{"123456/"}, nil},
	}
	for _, tt := range tests {
		line := layoutBar(tt.columns, wideFields)
		if len(line) >= tt.columns {
			t.Errorf("width %d: line of %d columns: %q", tt.columns, len(line), line)
		}
		for _, w := range tt.want {
			if !strings.Contains(line, w) {
				t.Errorf("width %d: %q lacks %q", tt.columns, line, w)
			}
		}
		for _, w := range tt.wantNot {
			if strings.Contains(line, w) {
				t.Errorf("width %d: %q has %q, which does not fit", tt.columns, line, w)
			}
		}
	}
	for columns := -1; columns <= 250; columns++ {
		for _, f := range []barFields{wideFields, {iteration: 1, iterations: 1}, {iteration: 7, iterations: 10, done: 6, haveLoss: true}} {
			line := layoutBar(columns, f)
			limit := columns
			if columns <= 0 {
				limit = fallbackColumns
			}
			if len(line) >= max(limit, 1) {
				t.Fatalf("width %d: line of %d columns: %q", columns, len(line), line)
			}
		}
	}
}

// TestLayoutBarCells: the bar grows with the room, from 10 to 30 cells,
// and fills with the iterations done.
func TestLayoutBarCells(t *testing.T) {
	f := barFields{iteration: 51, iterations: 100, done: 50}
	cells := func(line string) (n, filled int) {
		open, end := strings.IndexByte(line, '['), strings.IndexByte(line, ']')
		if open != 0 || end < 0 {
			return -1, -1
		}
		bar := line[1:end]
		return len(bar), strings.Count(bar, "#")
	}
	for _, tt := range []struct{ columns, cells, filled int }{{200, 30, 15}, {24, 14, 7}, {20, 10, 5}} {
		n, filled := cells(layoutBar(tt.columns, f))
		if n != tt.cells || filled != tt.filled {
			t.Errorf("width %d: %d cells, %d filled; want %d, %d", tt.columns, n, filled, tt.cells, tt.filled)
		}
	}
}

// TestReporterLiveLineFits: every redraw the live reporter writes is one
// line narrower than its terminal, whose width it asks at each redraw (a
// resize shows at the next one).
func TestReporterLiveLineFits(t *testing.T) {
	var out bytes.Buffer
	cols := 120
	r := &reporter{out: &out, errw: &out, live: true, columns: func() int { return cols }}
	r.report(stylize.Event{Kind: stylize.EventStart})
	r.report(stylize.Event{Kind: stylize.EventInitialLosses, Losses: wideFields.losses})
	for i, c := range []int{120, 60, 200} {
		cols = c
		r.drawn = time.Time{}
		out.Reset()
		r.report(stylize.Event{Kind: stylize.EventIteration, Iteration: 500 + i, Iterations: 1000, Elapsed: time.Hour, Remaining: time.Hour})
		line, ok := strings.CutPrefix(out.String(), "\r\033[K")
		if !ok || strings.ContainsAny(line, "\r\n") || len(line) >= c {
			t.Errorf("width %d: wrote %q", c, out.String())
		}
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
)

// reporter shows a run's progress: a live bar on a terminal (stderr), or
// the reference's plain lines (stdout) for scripts and logs. The bar is one
// line laid out by layoutBar to the terminal's width, which follows
// SIGWINCH. It is written here rather than with schollz/progressbar or
// vbauerster/mpb: neither is among the project's dependencies, the line is
// mostly our own fields (losses, the reference's h/min/sec times) that
// their templates would only wrap, and what they add (several bars,
// spinners, byte rates) a run does not use.
type reporter struct {
	out, errw io.Writer
	live      bool
	started   time.Time
	last      engine.Losses
	haveLoss  bool
	columns   func() int // the terminal's width, 0 when unknown
	drawn     time.Time  // when the bar was last drawn
}

func newReporter(stdout, stderr io.Writer) *reporter {
	// The bar replaces the plain lines only when both streams are terminals:
	// "neuralstyle ... > log" must still log what the reference prints.
	r := &reporter{out: stdout, errw: stderr, live: isTerminal(stdout) && isTerminal(stderr), columns: func() int { return 0 }}
	if f, ok := stderr.(*os.File); ok && r.live {
		r.columns = func() int { return terminalWidth(f) }
	}
	return r
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (r *reporter) report(ev stylize.Event) {
	switch ev.Kind {
	case stylize.EventStart:
		r.started = time.Now()
		if ev.SeedDrawn && ev.UsesNoise {
			fmt.Fprintf(r.errw, "neuralstyle: noise seed %d (give --seed %d to repeat this run)\n", ev.Seed, ev.Seed)
		}
		if ev.Plan != "" && ev.Scales == 0 { // a scale's plan follows its EventScale line
			fmt.Fprintf(r.out, "Tiles: %s\n", ev.Plan)
		}
		if !r.live {
			fmt.Fprintln(r.out, "Optimization started...")
		}
	case stylize.EventInitialLosses:
		r.last, r.haveLoss = ev.Losses, true
		if !r.live {
			printLosses(r.out, ev.Losses)
		}
	case stylize.EventScale:
		if r.live {
			fmt.Fprintf(r.errw, "\r\033[K")
		}
		fmt.Fprintf(r.lines(), "%s: %d iterations\n", scaleLabel(ev), ev.Iterations)
		if ev.Plan != "" {
			fmt.Fprintf(r.lines(), "Tiles: %s\n", ev.Plan)
		}
	case stylize.EventIteration:
		if r.live {
			r.bar(ev)
			return
		}
		prefix := ""
		if ev.Scales > 0 {
			prefix = scaleLabel(ev) + " "
		}
		if ev.Elapsed == 0 {
			fmt.Fprintf(r.out, "%sIteration %4d/%4d\n", prefix, ev.Iteration, ev.Iterations)
		} else {
			fmt.Fprintf(r.out, "%sIteration %4d/%4d (%s elapsed, %s remaining)\n",
				prefix, ev.Iteration, ev.Iterations, hms(ev.Elapsed), hms(ev.Remaining))
		}
	case stylize.EventLosses:
		r.last, r.haveLoss = ev.Losses, true
		if !r.live {
			printLosses(r.out, ev.Losses)
		} else if ev.Iteration == ev.Iterations {
			r.bar(stylize.Event{Iteration: ev.Iteration, Iterations: ev.Iterations, Elapsed: time.Since(r.started),
				Scale: ev.Scale, Scales: ev.Scales, ScaleW: ev.ScaleW, ScaleH: ev.ScaleH})
			fmt.Fprintln(r.errw)
		}
	case stylize.EventCheckpoint:
		if r.live {
			fmt.Fprintf(r.errw, "\r\033[Kcheckpoint %s\n", ev.Path)
		}
	case stylize.EventInterrupted:
		if r.live {
			fmt.Fprintln(r.errw)
		}
	case stylize.EventWarning:
		fmt.Fprintf(r.errw, "neuralstyle: warning: %s\n", ev.Message)
	}
}

// lines is where the plain lines go: stdout, or stderr under the bar.
func (r *reporter) lines() io.Writer {
	if r.live {
		return r.errw
	}
	return r.out
}

// scaleLabel names a coarse-to-fine run's scale: "scale 2/3 (256x171)".
func scaleLabel(ev stylize.Event) string {
	return fmt.Sprintf("scale %d/%d (%dx%d)", ev.Scale, ev.Scales, ev.ScaleW, ev.ScaleH)
}

// bar redraws the one-line progress display on stderr, at most ten times a
// second so that fast iterations do not flood the terminal.
func (r *reporter) bar(ev stylize.Event) {
	final := ev.Kind != stylize.EventIteration
	if !final && ev.Iteration > 1 && time.Since(r.drawn) < 100*time.Millisecond {
		return
	}
	r.drawn = time.Now()
	done := ev.Iteration - 1
	if final {
		done = ev.Iteration
	}
	line := layoutBar(r.columns(), barFields{
		iteration: ev.Iteration, iterations: ev.Iterations, done: done,
		elapsed: ev.Elapsed, remaining: ev.Remaining, showETA: ev.Iteration > 1 && !final,
		haveLoss: r.haveLoss, losses: r.last, scale: scaleOf(ev),
	})
	io.WriteString(r.errw, "\r\033[K"+line)
}

// barFields are what the live line can show.
type barFields struct {
	iteration, iterations, done int
	elapsed, remaining          time.Duration
	showETA, haveLoss           bool
	losses                      engine.Losses
	scale                       string // a coarse-to-fine run's scale label, or ""
}

// scaleOf is ev's scale label in a coarse-to-fine run, or "".
func scaleOf(ev stylize.Event) string {
	if ev.Scales == 0 {
		return ""
	}
	return scaleLabel(ev)
}

// The bar's width in cells, and the width taken when the terminal's is
// unknown.
const (
	minBarCells, maxBarCells = 10, 30
	fallbackColumns          = 80
)

// layoutBar lays the progress line out in fewer than columns columns
// (writing the last column makes some terminals wrap, and every redraw
// would then add a line):
//
//	[#####.....] 12/100  1 min 3 sec elapsed, ETA 8 min 2 sec  loss 1.2e+06 (content 3, style 4, tv 5)
//
// When it does not fit, the fields go in this order: the three losses, the
// time elapsed, the total loss, the bar, the scale, the ETA; the count stays (cut
// short on a terminal narrower than itself). The bar takes 10 to 30 cells
// of what is left. The line is ASCII, so bytes are columns.
func layoutBar(columns int, f barFields) string {
	if columns <= 0 {
		columns = fallbackColumns
	}
	avail := columns - 1
	elapsed, eta := hms(f.elapsed)+" elapsed", "ETA "+hms(f.remaining)
	loss := "loss " + pyG(f.losses.Total)
	detail := fmt.Sprintf("(content %s, style %s, tv %s)", pyG(f.losses.Content), pyG(f.losses.Style), pyG(f.losses.TV))
	type set struct{ scale, bar, elapsed, eta, loss, detail bool }
	render := func(s set, cells int) string {
		var b strings.Builder
		if s.scale {
			b.WriteString(f.scale + " ")
		}
		if s.bar {
			filled := cells * f.done / max(f.iterations, 1)
			filled = min(max(filled, 0), cells)
			b.WriteString("[" + strings.Repeat("#", filled) + strings.Repeat(".", cells-filled) + "] ")
		}
		fmt.Fprintf(&b, "%d/%d", f.iteration, f.iterations)
		switch {
		case s.elapsed && s.eta:
			b.WriteString("  " + elapsed + ", " + eta)
		case s.elapsed:
			b.WriteString("  " + elapsed)
		case s.eta:
			b.WriteString("  " + eta)
		}
		if s.loss {
			b.WriteString("  " + loss)
			if s.detail {
				b.WriteString(" " + detail)
			}
		}
		return b.String()
	}
	s := set{scale: f.scale != "", bar: true, elapsed: true, eta: f.showETA, loss: f.haveLoss, detail: f.haveLoss}
	drops := []func(*set){
		func(s *set) { s.detail = false },
		func(s *set) { s.elapsed = false },
		func(s *set) { s.loss = false },
		func(s *set) { s.bar = false },
		func(s *set) { s.scale = false },
		func(s *set) { s.eta = false },
	}
	for i := 0; ; i++ {
		if line := render(s, minBarCells); len(line) <= avail {
			if s.bar {
				line = render(s, min(maxBarCells, minBarCells+avail-len(line)))
			}
			return line
		}
		if i == len(drops) {
			return render(s, 0)[:max(avail, 0)]
		}
		drops[i](&s)
	}
}

// printLosses prints the reference's loss lines ('{:>13s} {:g}').
func printLosses(w io.Writer, l engine.Losses) {
	fmt.Fprintf(w, "%13s %s\n", "content loss:", pyG(l.Content))
	fmt.Fprintf(w, "%13s %s\n", "style loss:", pyG(l.Style))
	fmt.Fprintf(w, "%13s %s\n", "tv loss:", pyG(l.TV))
	fmt.Fprintf(w, "%13s %s\n", "total loss:", pyG(l.Total))
}

// pyG formats like Python's '{:g}' (C's %g: 6 significant digits).
func pyG(v float64) string {
	switch s := strconv.FormatFloat(v, 'g', 6, 64); s {
	case "+Inf":
		return "inf"
	case "-Inf":
		return "-inf"
	case "NaN":
		return "nan"
	default:
		return s
	}
}

// hms formats a duration as the reference does.
func hms(d time.Duration) string {
	s := int(d.Seconds())
	h, m := s/3600, (s/60)%60
	s %= 60
	switch {
	case h > 0:
		return fmt.Sprintf("%d hr %d min", h, m)
	case m > 0:
		return fmt.Sprintf("%d min %d sec", m, s)
	default:
		return fmt.Sprintf("%d sec", s)
	}
}

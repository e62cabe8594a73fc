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
// the reference's plain lines (stdout) for scripts and logs.
type reporter struct {
	out, errw io.Writer
	live      bool
	started   time.Time
	last      engine.Losses
	haveLoss  bool
	width     int
	drawn     time.Time // when the bar was last drawn
}

func newReporter(stdout, stderr io.Writer) *reporter {
	// The bar replaces the plain lines only when both streams are terminals:
	// "neuralstyle ... > log" must still log what the reference prints.
	return &reporter{out: stdout, errw: stderr, live: isTerminal(stdout) && isTerminal(stderr), width: 30}
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
	filled := r.width * done / max(ev.Iterations, 1)
	var b strings.Builder
	b.WriteString("\r\033[K")
	if ev.Scales > 0 {
		b.WriteString(scaleLabel(ev) + " ")
	}
	fmt.Fprintf(&b, "[%s%s] %d/%d  %s elapsed",
		strings.Repeat("#", filled), strings.Repeat(".", r.width-filled), ev.Iteration, ev.Iterations, hms(ev.Elapsed))
	if ev.Iteration > 1 && !final {
		fmt.Fprintf(&b, ", ETA %s", hms(ev.Remaining))
	}
	if r.haveLoss {
		fmt.Fprintf(&b, "  loss %s (content %s, style %s, tv %s)",
			pyG(r.last.Total), pyG(r.last.Content), pyG(r.last.Style), pyG(r.last.TV))
	}
	io.WriteString(r.errw, b.String())
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

package weights

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Progress shows a download's progress on w: on a terminal a bar redrawn in
// place (bytes, percentage, rate, time left), otherwise a plain line every
// tenth of the file (or every 50 MB when the size is not known).
type Progress struct {
	w        io.Writer
	live     bool
	now      func() time.Time
	start    time.Time
	from     int64 // bytes on disk before this run: not counted in the rate
	last     time.Time
	lastStep int64
	drawn    bool
	// The last update, and whether a plain line showed it.
	done, total int64
	shown       bool
}

// NewProgress makes a Progress writing to w; live selects the redrawn bar.
func NewProgress(w io.Writer, live bool) *Progress {
	return &Progress{w: w, live: live, now: time.Now, lastStep: -1}
}

// Update is a DownloadOptions.Progress function.
func (p *Progress) Update(done, total int64) {
	now := p.now()
	p.done, p.total, p.shown = done, total, false
	if p.start.IsZero() {
		p.start, p.from = now, done
	}
	if p.live {
		if now.Sub(p.last) < 100*time.Millisecond && done != total {
			return
		}
		p.last = now
		fmt.Fprintf(p.w, "\r%s\033[K", p.line(done, total, now, true))
		p.drawn = true
		return
	}
	step := done / (50 << 20)
	if total > 0 {
		step = done * 10 / total
	}
	if step == p.lastStep {
		return
	}
	first := p.lastStep < 0
	p.lastStep = step
	if first && done == p.from && done > 0 {
		fmt.Fprintf(p.w, "resuming at %s\n", mb(done))
		return
	}
	if first && done == 0 {
		return
	}
	fmt.Fprintln(p.w, p.line(done, total, now, false))
	p.shown = true
}

// Finish ends the bar's line; without a bar it prints the last state if
// no line showed it.
func (p *Progress) Finish() {
	switch {
	case p.live && p.drawn:
		fmt.Fprintln(p.w)
		p.drawn = false
	case !p.live && !p.shown && !p.start.IsZero() && p.done > 0:
		fmt.Fprintln(p.w, p.line(p.done, p.total, p.now(), false))
		p.shown = true
	}
}

func (p *Progress) line(done, total int64, now time.Time, bar bool) string {
	var b strings.Builder
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done-p.from) / elapsed
	}
	if total > 0 {
		frac := float64(done) / float64(total)
		if bar {
			const width = 24
			n := int(frac * width)
			b.WriteString("[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] ")
		}
		fmt.Fprintf(&b, "%s / %s %3.0f%%", mb(done), mb(total), 100*frac)
	} else {
		b.WriteString(mb(done))
	}
	if rate > 0 {
		fmt.Fprintf(&b, "  %s/s", mb(int64(rate)))
		if total > 0 && done < total {
			eta := time.Duration(float64(total-done) / rate * float64(time.Second))
			fmt.Fprintf(&b, "  ETA %s", clock(eta))
		}
	}
	return b.String()
}

func mb(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// clock writes d as M:SS or H:MM:SS.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

package stylize

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
)

// writeProgressText writes the recorded losses as the reference's
// np.savetxt does: a "# itr content style tv total" header, then one row
// per record, every value in %.18e, space-separated. With sizes (a
// coarse-to-fine run's scales) each scale's rows follow a "# scale W x H"
// line.
func writeProgressText(path string, recs []Record, sizes [][2]int) error {
	var b bytes.Buffer
	b.WriteString("# itr content style tv total\n")
	scale := -1
	for _, r := range recs {
		if sizes != nil && r.Scale != scale && r.Scale < len(sizes) {
			scale = r.Scale
			fmt.Fprintf(&b, "# scale %d x %d\n", sizes[scale][0], sizes[scale][1])
		}
		for i, v := range [5]float64{float64(r.Label), r.Losses.Content, r.Losses.Style, r.Losses.TV, r.Losses.Total} {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(savetxtFloat(v))
		}
		b.WriteByte('\n')
	}
	return writeFile(path, b.Bytes())
}

// writeFile writes data through imageio.WriteFileAtomic, as the images are
// written: a whole file or none, with os.Create's mode, removed on a second
// Ctrl-C.
func writeFile(path string, data []byte) error {
	return imageio.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// savetxtFloat formats v as numpy's savetxt does with its default '%.18e',
// non-finite values included ("nan", "inf", "-inf").
func savetxtFloat(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return fmt.Sprintf("%.18e", v)
}

// writeProgressPlot draws the recorded losses on a log scale, one line per
// loss, as the reference's matplotlib figure does. A coarse-to-fine run's
// scales follow each other along the x axis. Values a log scale cannot
// show (zero, negative, infinite, NaN: a zero or huge weight gives them) are
// left out; when none is left the axes are drawn empty with a note in the
// title, as matplotlib does, rather than failing after the whole run.
func writeProgressPlot(path string, recs []Record, scales []scale) error {
	offsets := make([]int, len(scales)+1)
	for i, sc := range scales {
		offsets[i+1] = offsets[i] + sc.iterations
	}
	p := plot.New()
	p.Title.Text = "neuralstyle losses"
	p.X.Label.Text = "iterations"
	p.Y.Label.Text = "losses"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	series := []struct {
		name string
		get  func(r Record) float64
	}{
		{"content", func(r Record) float64 { return r.Losses.Content }},
		{"style", func(r Record) float64 { return r.Losses.Style }},
		{"tv", func(r Record) float64 { return r.Losses.TV }},
		{"total", func(r Record) float64 { return r.Losses.Total }},
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range series {
		var pts plotter.XYs
		for _, r := range recs {
			if v := s.get(r); v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
				pts = append(pts, plotter.XY{X: float64(offsets[min(r.Scale, len(scales))] + r.Label), Y: v})
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("progress plot: %w", err)
		}
		line.Color = plotColors[i%len(plotColors)]
		line.Width = vg.Points(1.5)
		p.Add(line)
		p.Legend.Add(s.name, line)
	}
	if lo > hi {
		p.Title.Text += " (no positive finite loss to plot)"
		lo, hi = 1, 10
		if len(recs) > 0 {
			first, last := recs[0], recs[len(recs)-1]
			p.X.Min = float64(offsets[min(first.Scale, len(scales))] + first.Label)
			p.X.Max = float64(offsets[min(last.Scale, len(scales))] + last.Label)
		}
	}
	// gonum widens an empty range by one either side (below zero for values
	// under one) and loops over decades up to an infinite one: give the log
	// axis whole, finite decades itself.
	p.Y.Min, p.Y.Max = logRange(lo, hi)
	w, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("progress plot %s: %w", path, err)
	}
	return imageio.WriteFileAtomic(path, func(f io.Writer) error {
		_, err := w.WriteTo(f)
		return err
	})
}

// logRange widens the positive range lo..hi to whole decades, at least one,
// within 1e-300..1e300.
func logRange(lo, hi float64) (float64, float64) {
	const minExp, maxExp = -300, 300
	// e is the decade of v: 10^e <= v < 10^(e+1), found exactly (Log10 alone
	// can be off by one at powers of ten).
	decade := func(v float64) int {
		e := int(math.Floor(math.Log10(v)))
		e = min(max(e, minExp), maxExp)
		for e > minExp && math.Pow10(e) > v {
			e--
		}
		for e < maxExp && math.Pow10(e+1) <= v {
			e++
		}
		return e
	}
	eLo, eHi := decade(lo), decade(hi)
	if math.Pow10(eHi) < hi || eHi == eLo {
		eHi++
	}
	eHi = min(eHi, maxExp)
	if eHi <= eLo {
		eLo = eHi - 1
	}
	return math.Pow10(eLo), math.Pow10(eHi)
}

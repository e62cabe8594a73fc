package stylize

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// writeProgressText writes the recorded losses as the reference's
// np.savetxt does: a "# itr content style tv total" header, then one row
// per record, every value in %.18e, space-separated.
func writeProgressText(path string, recs []Record) error {
	var b bytes.Buffer
	b.WriteString("# itr content style tv total\n")
	for _, r := range recs {
		for i, v := range [5]float64{float64(r.Label), r.Losses.Content, r.Losses.Style, r.Losses.TV, r.Losses.Total} {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(savetxtFloat(v))
		}
		b.WriteByte('\n')
	}
	return writeFileAtomic(path, b.Bytes())
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
// loss, as the reference's matplotlib figure does.
func writeProgressPlot(path string, recs []Record) error {
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
	for i, s := range series {
		var pts plotter.XYs
		for _, r := range recs {
			// A log scale cannot show zero or negative values (a zero
			// weight makes a loss vanish): leave those points out.
			if v := s.get(r); v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
				pts = append(pts, plotter.XY{X: float64(r.Label), Y: v})
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
	w, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("progress plot %s: %w", path, err)
	}
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		return fmt.Errorf("progress plot %s: %w", path, err)
	}
	return writeFileAtomic(path, b.Bytes())
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so that a crash never leaves a half-written file.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

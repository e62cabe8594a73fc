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
// scales follow each other along the x axis.
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
	for i, s := range series {
		var pts plotter.XYs
		for _, r := range recs {
			// A log scale cannot show zero or negative values (a zero
			// weight makes a loss vanish): leave those points out.
			if v := s.get(r); v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
				pts = append(pts, plotter.XY{X: float64(offsets[min(r.Scale, len(scales))] + r.Label), Y: v})
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
	return imageio.WriteFileAtomic(path, func(f io.Writer) error {
		_, err := w.WriteTo(f)
		return err
	})
}

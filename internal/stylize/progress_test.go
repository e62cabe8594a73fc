package stylize

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
)

func TestWriteProgressText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "progress.txt")
	recs := []Record{
		{Label: 0, Losses: engine.Losses{Content: 126.32324981689453, Style: 512648.6875, TV: 91701.3515625, Total: 604476.375}},
		{Label: 10, Losses: engine.Losses{Content: math.NaN(), Style: math.Inf(1), TV: math.Inf(-1), Total: 0}},
	}
	if err := writeProgressText(path, recs, nil); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// what numpy.savetxt(fn, rows, header="itr content style tv total") writes
	want := "# itr content style tv total\n" +
		"0.000000000000000000e+00 1.263232498168945312e+02 5.126486875000000000e+05 9.170135156250000000e+04 6.044763750000000000e+05\n" +
		"1.000000000000000000e+01 nan inf -inf 0.000000000000000000e+00\n"
	if string(got) != want {
		t.Errorf("progress.txt:\n%s\nwant:\n%s", got, want)
	}
}

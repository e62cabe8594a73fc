//go:build measure

// The measurement behind the README's choice of a fresh Adam at each scale
// of a coarse-to-fine run, not a test: the recipe's final loss with Adam's
// moments reset against carried over (resampled). Run with
//
//	go test -tags measure -run Measure -v -timeout 60m ./internal/stylize

package stylize

import (
	"context"
	"flag"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

var measureSize = flag.Int("stylize.size", 128, "output width of the measured recipe")

func TestMeasureAdamAcrossScales(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	size := *measureSize
	for _, name := range []string{"content.png", "style.png"} {
		img := imageio.New(size, size)
		for cells := 4; cells <= size; cells *= 2 {
			small := imageio.New(cells, cells)
			for i := range small.Pix {
				small.Pix[i] = float32(rng.IntN(256))
			}
			for i, v := range imageio.Resize(small, size, size).Pix {
				img.Pix[i] += v / 2
			}
		}
		for i := range img.Pix {
			img.Pix[i] = min(255, img.Pix[i]/2)
		}
		if err := imageio.Save(filepath.Join(dir, name), img); err != nil {
			t.Fatal(err)
		}
	}
	weights := vggtest.RandomWeights(rand.New(rand.NewPCG(1, 2)), vggtest.FullWidths)
	for _, carry := range []bool{false, true} {
		carryAdamMoments = carry
		o := DefaultOptions()
		o.Content, o.Styles = filepath.Join(dir, "content.png"), []string{filepath.Join(dir, "style.png")}
		o.Network = filepath.Join(tiny, "vgg19-tiny-new.mat")
		o.Engine = func(*vgg.Weights) (engine.Engine, error) { return native.New(weights, native.DefaultKernels()), nil }
		o.Output = filepath.Join(dir, "out.png")
		o.Overwrite, o.Seed, o.PrintIterations = true, 1, 50
		o.Scales = []int{size / 4, size / 2, size}
		o.ScaleIterations = []int{400, 200, 150}
		var last []float64
		o.Progress = func(ev Event) {
			if ev.Kind == EventLosses && ev.Scale == ev.Scales {
				last = append(last, ev.Losses.Total)
			}
		}
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		t.Logf("moments carried %v: final-scale losses every 50 steps %v", carry, last)
	}
	carryAdamMoments = false
}

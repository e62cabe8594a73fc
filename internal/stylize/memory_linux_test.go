package stylize

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// memoryChildEnv tells the test binary, re-run by TestEstimateMemory, to
// run the sizes it holds ("WxH" for the content, then ",WxH" per style)
// and exit.
const memoryChildEnv = "NEURALSTYLE_MEMORY_CHILD"

func parseSizes(s string) []Size {
	var out []Size
	for _, f := range strings.Split(s, ",") {
		w, h, _ := strings.Cut(f, "x")
		wi, _ := strconv.Atoi(w)
		hi, _ := strconv.Atoi(h)
		out = append(out, Size{wi, hi})
	}
	return out
}

// TestMain runs the child's work when asked: what Run allocates, on
// random full-size VGG-19 weights (the network file's weights are the same
// size), through two iterations.
func TestMain(m *testing.M) {
	if spec := os.Getenv(memoryChildEnv); spec != "" {
		if err := memoryChild(parseSizes(spec)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func memoryChild(sizes []Size) error {
	rng := rand.New(rand.NewPCG(1, 2))
	wt := vggtest.RandomWeights(rng, vggtest.FullWidths)
	randomImage := func(s Size) *imageio.Image {
		im := imageio.New(s.W, s.H)
		for i := range im.Pix {
			im.Pix[i] = float32(rng.IntN(256))
		}
		return im
	}
	content := randomImage(sizes[0])
	spec := &engine.Spec{
		Content: preprocess(content, wt.MeanPixel), ContentWeight: 5,
		ContentLayers: layerWeights(vgg.ReferenceContentLayers, []float64{1, 0.5}),
		StyleWeight:   500, StyleLayers: layerWeights(vgg.ReferenceStyleLayers, styleLayerWeights(1, 5)), TVWeight: 100,
	}
	for _, s := range sizes[1:] {
		spec.Styles = append(spec.Styles, preprocess(randomImage(s), wt.MeanPixel))
		spec.StyleBlendWeights = append(spec.StyleBlendWeights, 1/float64(len(sizes)-1))
	}
	prob, err := native.New(wt, native.DefaultKernels()).NewProblem(spec)
	if err != nil {
		return err
	}
	x := initialImage(nil, wt.MeanPixel, content.W, content.H, 1, 1)
	out := imageio.New(content.W, content.H)
	grad := make([]float32, len(x.Pix))
	best := make([]float32, len(x.Pix))
	adam := NewAdam(len(x.Pix), engine.AdamSettings{LearningRate: 1, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8})
	for range 2 {
		if _, err := prob.Eval(x, grad); err != nil {
			return err
		}
		copy(best, x.Pix)
		adam.Step(x.Pix, grad)
	}
	unprocess(out, &engine.Image{H: x.H, W: x.W, Pix: best}, wt.MeanPixel)
	return prob.Close()
}

// measurePeak runs the child on sizes and returns its peak resident
// memory in bytes.
func measurePeak(t *testing.T, sizes string) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memoryChildEnv+"="+sizes)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child %s: %v\n%s", sizes, err, out)
	}
	return int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10 // kilobytes on Linux
}

// TestEstimateMemory holds EstimatePeakMemory within 25% of the measured
// peak of a child process at two small sizes, one with two styles of other
// sizes. NEURALSTYLE_MEMORY_SIZES="256x256 384x256,200x300,512x384" measures
// others (the calibration runs of memory.go); the first size is the content, the others the styles.
func TestEstimateMemory(t *testing.T) {
	cases := []string{"96x64,96x64", "128x96,64x80,150x100"}
	if s := os.Getenv("NEURALSTYLE_MEMORY_SIZES"); s != "" {
		cases = strings.Fields(s)
	}
	for _, c := range cases {
		sizes := parseSizes(c)
		est := EstimatePeakMemory("native", sizes[0], sizes[1:], 13, 0)
		got := measurePeak(t, c)
		ratio := float64(est) / float64(got)
		t.Logf("%s: estimate %d MB, measured %d MB (%.3f)", c, est>>20, got>>20, ratio)
		if ratio < 0.75 || ratio > 1.25 {
			t.Errorf("%s: estimate %d bytes, measured peak %d: off by more than 25%%", c, est, got)
		}
	}
}

package main

import (
	"path/filepath"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/imageio"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// still are the flags of a run that leaves its initial image, the content,
// as it is (a zero learning rate), so that the output shows the content's
// pixels as the run resized them and progress.txt the losses there.
var still = []string{"--learning-rate", "0", "--initial-noiseblend", "0", "--iterations", "1", "--progress-write", "--quiet"}

func readTiny(t *testing.T, name string) *imageio.Image {
	t.Helper()
	img, err := imageio.Read(filepath.Join(tiny, name), imageio.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func tinyWeights(t *testing.T) *vgg.Weights {
	t.Helper()
	w, err := vgg.Load(filepath.Join(tiny, "vgg19-tiny-new.mat"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// preprocessed is img less the mean pixel, in float32 as the run does.
func preprocessed(img *imageio.Image, mean [3]float32) engine.Image {
	out := engine.Image{H: img.H, W: img.W, Pix: make([]float32, len(img.Pix))}
	for i, v := range img.Pix {
		out.Pix[i] = v - mean[i%3]
	}
	return out
}

// TestWidthPixels: --width resizes the content with the Pillow-exact
// resizer; the output of a still run is that image, pixel for pixel.
func TestWidthPixels(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, baseArgs(dir, append([]string{"--width", "20"}, still...)...)...); code != 0 {
		t.Fatal(stderr)
	}
	mean := tinyWeights(t).MeanPixel
	want := imageio.Resize(readTiny(t, "content.png"), 20, 15) // floor(29/37*20) = 15
	got := decode(t, filepath.Join(dir, "out.png"))
	if b := got.Bounds(); b.Dx() != 20 || b.Dy() != 15 {
		t.Fatalf("output %v, want 20x15", b)
	}
	pre := preprocessed(want, mean)
	bad := 0
	for y := 0; y < 15; y++ {
		for x := 0; x < 20; x++ {
			r, g, b, _ := got.At(x, y).RGBA()
			for c, v := range []uint32{r >> 8, g >> 8, b >> 8} {
				i := (y*20+x)*3 + c
				if w := uint8(min(max(pre.Pix[i]+mean[c], 0), 255)); uint32(w) != v {
					bad++
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values differ from the resized content", bad, 20*15*3)
	}
}

// TestStyleScalesLosses: --style-scales resizes each style relative to the
// content's width; the style loss recorded at the content is that of the
// styles resized so, as the engine computes it, and not that of unscaled
// styles.
func TestStyleScalesLosses(t *testing.T) {
	dir := t.TempDir()
	args := baseArgs(dir, append([]string{"--styles", filepath.Join(tiny, "style2.png"),
		"--style-scales", "1", "0.5", "--style-blend-weights", "3", "1"}, still...)...)
	if code, _, stderr := runCLI(t, args...); code != 0 {
		t.Fatal(stderr)
	}
	rows := readProgress(t, filepath.Join(dir, "progress.txt"))
	if len(rows) != 1 {
		t.Fatalf("progress.txt has %d rows, want 1", len(rows))
	}
	wt := tinyWeights(t)
	scaled := styleLossAt(t, wt, [2]float64{1, 0.5})
	if got := rows[0][2]; got != scaled {
		t.Errorf("style loss %v, want %v (the styles scaled by 1 and 0.5)", got, scaled)
	}
	if unscaled := styleLossAt(t, wt, [2]float64{1, 1}); unscaled == scaled {
		t.Errorf("the scales do not change the style loss (%v): the check proves nothing", unscaled)
	}
}

// styleLossAt is the style loss at the content of the two tiny styles with
// the given scales and blend weights 3:1, through the native engine.
func styleLossAt(t *testing.T, wt *vgg.Weights, scales [2]float64) float64 {
	t.Helper()
	content := readTiny(t, "content.png")
	spec := &engine.Spec{
		Content:           preprocessed(content, wt.MeanPixel),
		ContentWeight:     5,
		ContentLayers:     vggtest.Weighted(vgg.ReferenceContentLayers, 1, 0),
		StyleWeight:       500,
		StyleBlendWeights: []float64{0.75, 0.25},
		StyleLayers:       vggtest.Weighted(vgg.ReferenceStyleLayers, 0.2, 0.2, 0.2, 0.2, 0.2),
		TVWeight:          100,
	}
	for i, name := range []string{"style1.png", "style2.png"} {
		s := readTiny(t, name)
		w, h := imageio.ScaledSize(s.W, s.H, imageio.StyleScaleFactor(scales[i], content.W, s.W))
		spec.Styles = append(spec.Styles, preprocessed(imageio.Resize(s, w, h), wt.MeanPixel))
	}
	p, err := native.New(wt, native.DefaultKernels()).NewProblem(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x := spec.Content
	ls, err := p.Eval(&x, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ls.Style
}

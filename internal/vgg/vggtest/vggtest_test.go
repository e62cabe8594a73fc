package vggtest

import (
	"errors"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

const tinyDir = "../../../testdata/vgg19-tiny"

func TestLoadVectors(t *testing.T) {
	v, err := LoadVectors(tinyDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.Cases {
		if _, ok := v.MeanPixel[c.Network]; !ok {
			t.Errorf("%s/%s: no mean pixel", c.Network, c.Name)
		}
		if c.Iterations == 0 || len(c.LossHistory) != c.Iterations || len(c.InitialGradient.Data) == 0 ||
			len(c.FinalImage.Data) == 0 || len(c.ContentFeatures) == 0 || len(c.StyleGrams) != len(c.Styles) ||
			c.InitialLosses["total"] == 0 || c.LearningRate == 0 || c.Beta2 == 0 {
			t.Errorf("%s/%s: fields left empty: %+v", c.Network, c.Name, c)
		}
		sp, err := v.Spec(&c, v.MeanPixel[c.Network])
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, w := range sp.StyleBlendWeights {
			sum += w
		}
		if len(sp.Styles) != len(c.Styles) || sum < 1-1e-12 || sum > 1+1e-12 {
			t.Errorf("%s/%s: %d styles, blend weights %v", c.Network, c.Name, len(sp.Styles), sp.StyleBlendWeights)
		}
	}
	if _, err := LoadVectors(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadVectors of an empty folder: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vectors.json"), []byte(`{"cases": []}`), 0o644)
	if _, err := LoadVectors(dir); err == nil {
		t.Error("LoadVectors accepted a file without cases")
	}
}

func TestReadPNG(t *testing.T) {
	mean := [3]float32{1, 2, 3.5}
	dir := t.TempDir()
	write := func(name string, img image.Image) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return path
	}
	rgb := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range rgb.Pix {
		rgb.Pix[i] = uint8(i * 10)
		if i%4 == 3 {
			rgb.Pix[i] = 255
		}
	}
	im, err := ReadPNG(write("rgb.png", rgb), mean)
	if err != nil {
		t.Fatal(err)
	}
	if im.H != 2 || im.W != 3 || len(im.Pix) != 18 {
		t.Fatalf("image %dx%d with %d values", im.W, im.H, len(im.Pix))
	}
	c := rgb.NRGBAAt(2, 1) // HWC: pixel (x 2, y 1) is at 3*(1*3+2)
	if got, want := im.Pix[15:18], []float32{float32(c.R) - 1, float32(c.G) - 2, float32(c.B) - 3.5}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("pixel (2,1) = %v, want %v", got, want)
	}

	translucent := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	translucent.SetNRGBA(1, 1, color.NRGBA{10, 20, 30, 255})
	gray := image.NewGray(image.Rect(0, 0, 2, 2))
	for _, path := range []string{write("alpha.png", translucent), write("gray.png", gray)} {
		if _, err := ReadPNG(path, mean); !errors.Is(err, ErrNotRGB) {
			t.Errorf("%s: %v, want ErrNotRGB", filepath.Base(path), err)
		}
	}
}

func TestRandomWeights(t *testing.T) {
	wt := RandomWeights(rand.New(rand.NewPCG(1, 2)), TinyWidths)
	in := 3
	for i, cw := range wt.Conv {
		if cw.In != in || len(cw.Kernel) != 9*cw.In*cw.Out || len(cw.Bias) != cw.Out {
			t.Errorf("conv %d: %d -> %d, %d kernel values, %d biases; want %d inputs", i, cw.In, cw.Out, len(cw.Kernel), len(cw.Bias), in)
		}
		in = cw.Out
	}
	if wt.Conv[0].Out != TinyWidths[0] || wt.Conv[15].Out != TinyWidths[4] {
		t.Errorf("widths %d..%d, want %v", wt.Conv[0].Out, wt.Conv[15].Out, TinyWidths)
	}
}

func TestIterationFLOPs(t *testing.T) {
	wt := RandomWeights(rand.New(rand.NewPCG(1, 2)), TinyWidths)
	// in*out of conv1_1..conv5_2 with TinyWidths, by block.
	b1, b2, b3, b4, b5 := 3*4+4*4, 4*6+6*6, 6*8+3*8*8, 8*10+3*10*10, 10*12+12*12
	for _, c := range []struct {
		h, w int
		want int
	}{
		{1, 1, b1 + b2 + b3 + b4 + b5},
		{32, 32, 1024*b1 + 256*b2 + 64*b3 + 16*b4 + 4*b5},
		{5, 3, 15*b1 + 6*b2 + 2*b3 + b4 + b5}, // pooling rounds up
	} {
		if got := IterationFLOPs(wt, c.h, c.w); got != float64(36*c.want) {
			t.Errorf("%dx%d: %g FLOPs, want %d", c.h, c.w, got, 36*c.want)
		}
	}
}

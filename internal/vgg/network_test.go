package vgg_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// ref64 returns the reference network's post-ReLU outputs of layers
// 0..last.
func ref64(wt *vgg.Weights, img []float64, h, w int, pooling engine.Pooling, last vgg.Layer) [][]float64 {
	var acts [][]float64
	for _, t := range vggtest.Forward64(wt, img, h, w, pooling, last) {
		acts = append(acts, t.D)
	}
	return acts
}

func relErr32(got []float32, want []float64) float64 { return nntest.RelErr(got, want) }

var (
	lossTaps  = []vgg.Layer{0, 2, 4, 8, 9, 12, 13}
	styleTaps = []vgg.Layer{0, 2, 4, 8, 12}
	allTaps   = []vgg.Layer{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
)

var netCases = []struct {
	h, w    int
	pooling engine.Pooling
	taps    []vgg.Layer
}{
	{11, 13, engine.MaxPool, lossTaps},
	{11, 13, engine.AvgPool, lossTaps},
	{16, 9, engine.MaxPool, styleTaps},
	{5, 3, engine.AvgPool, styleTaps},
	{1, 1, engine.MaxPool, allTaps},
	{11, 13, engine.AvgPool, allTaps},
	{11, 13, engine.MaxPool, []vgg.Layer{13}},
	{7, 9, engine.MaxPool, []vgg.Layer{5, 3}},
}

func last(taps []vgg.Layer) vgg.Layer { return slices.Max(taps) }

func TestNetworkForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	for _, tc := range netCases {
		t.Run(fmt.Sprintf("%dx%d/%v/%v", tc.h, tc.w, tc.pooling, tc.taps), func(t *testing.T) {
			net, err := vgg.NewNetwork(wt, nn.Portable(), tc.h, tc.w, tc.pooling, tc.taps)
			if err != nil {
				t.Fatal(err)
			}
			img := nntest.RandomSlice(rng, 3*tc.h*tc.w, 50)
			img64 := nntest.To64(img)
			net.Forward(img)
			want := ref64(wt, img64, tc.h, tc.w, tc.pooling, last(tc.taps))
			for _, l := range tc.taps {
				if e := relErr32(net.Features(l), want[l]); e > 1e-5 {
					t.Errorf("%s: relative error %g", vgg.ConvNames[l], e)
				}
			}
		})
	}
}

// linearTap adds fixed random gradients r_l at some layers: the loss is
// sum_l r_l . act_l.
type linearTap struct{ r map[vgg.Layer][]float32 }

func (lt *linearTap) AddGrad(l vgg.Layer, g, scratch []float32) {
	clear(scratch) // scratch is the tap's to use
	if r, ok := lt.r[l]; ok {
		for i := range g {
			g[i] += r[i]
		}
	}
}

func (lt *linearTap) loss(acts [][]float64) float64 {
	var s float64
	for l, r := range lt.r {
		for i, v := range r {
			s += float64(v) * acts[l][i]
		}
	}
	return s
}

// TestNetworkBackward checks Backward against central differences of the
// float64 reference network.
func TestNetworkBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	for _, tc := range netCases {
		t.Run(fmt.Sprintf("%dx%d/%v/%v", tc.h, tc.w, tc.pooling, tc.taps), func(t *testing.T) {
			net, err := vgg.NewNetwork(wt, nn.Portable(), tc.h, tc.w, tc.pooling, tc.taps)
			if err != nil {
				t.Fatal(err)
			}
			tap := &linearTap{r: map[vgg.Layer][]float32{}}
			for _, l := range tc.taps {
				c, h, w := net.Shape(l)
				tap.r[l] = nntest.RandomSlice(rng, c*h*w, 1)
			}
			img := nntest.RandomSlice(rng, 3*tc.h*tc.w, 50)
			img64 := nntest.To64(img)
			net.Forward(img)
			grad := make([]float32, len(img))
			net.Backward(grad, tap)
			var maxG float64
			for _, v := range grad {
				maxG = math.Max(maxG, math.Abs(float64(v)))
			}
			for _, j := range rng.Perm(len(img))[:min(len(img), 40)] {
				const e = 1e-4
				old := img64[j]
				img64[j] = old + e
				up := tap.loss(ref64(wt, img64, tc.h, tc.w, tc.pooling, last(tc.taps)))
				img64[j] = old - e
				down := tap.loss(ref64(wt, img64, tc.h, tc.w, tc.pooling, last(tc.taps)))
				img64[j] = old
				fd := (up - down) / (2 * e)
				if math.Abs(fd-float64(grad[j])) > 1e-4*maxG {
					t.Errorf("d/dimg[%d] = %g, finite differences %g (largest |grad| %g)", j, grad[j], fd, maxG)
				}
			}
			// A second pass gives the same gradient: no state leaks between passes.
			grad2 := make([]float32, len(img))
			net.Forward(img)
			net.Backward(grad2, tap)
			for i := range grad {
				if grad[i] != grad2[i] {
					t.Fatalf("second backward pass differs at %d: %g vs %g", i, grad2[i], grad[i])
				}
			}
		})
	}
}

func TestNewNetworkErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	wt := vggtest.RandomWeights(rng, vggtest.TinyWidths)
	bad := *wt
	bad.Conv[3] = *nntest.RandomConv(rng, 5, 6)
	cases := []struct {
		name string
		wt   *vgg.Weights
		h, w int
		taps []vgg.Layer
	}{
		{"empty image", wt, 0, 5, lossTaps},
		{"layer out of range", wt, 5, 5, []vgg.Layer{16}},
		{"negative layer", wt, 5, 5, []vgg.Layer{-1, 3}},
		{"no taps", wt, 5, 5, nil},
		{"mismatched weights", &bad, 5, 5, lossTaps},
	}
	for _, c := range cases {
		if _, err := vgg.NewNetwork(c.wt, nn.Portable(), c.h, c.w, engine.MaxPool, c.taps); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

func TestLayerIndex(t *testing.T) {
	for _, c := range []struct {
		name string
		want vgg.Layer
		ok   bool
	}{{"relu1_1", 0, true}, {"conv4_2", 9, true}, {"relu5_2", 13, true}, {"relu5_4", 15, true}, {"pool1", 0, false}, {"relu6_1", 0, false}} {
		got, err := vgg.LayerIndex(c.name)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("LayerIndex(%q) = %d, %v", c.name, got, err)
		}
	}
}

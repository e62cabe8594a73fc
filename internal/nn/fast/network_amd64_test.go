//go:build amd64 && !purego

package fast

import (
	"math/rand/v2"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// TestNetworkWinograd runs the full-width VGG-19 forward through relu5_2
// on every variant, with the default choice of Winograd or direct layers
// and with Winograd on every layer but conv1_1, against the float64
// reference network: the error compounds over 14 layers but must stay
// within nntest.Tol at every loss layer, as the direct kernels' does.
func TestNetworkWinograd(t *testing.T) {
	const h, w = 40, 40
	rng := rand.New(rand.NewPCG(21, 22))
	wt := vggtest.RandomWeights(rng, vggtest.FullWidths)
	img := nntest.RandomSlice(rng, 3*h*w, 50)
	taps := []vgg.Layer{0, 2, 4, 8, 9, 12, 13}
	want := vggtest.Forward64(wt, nntest.To64(img), h, w, engine.MaxPool, 13)
	for _, k := range Variants() {
		for _, everywhere := range []bool{false, true} {
			v := *k.(*kernels).v
			name := k.Name() + "/default"
			if everywhere {
				v.winoMinWidth = 1
				name = k.Name() + "/everywhere"
			}
			t.Run(name, func(t *testing.T) {
				net, err := vgg.NewNetwork(wt, newKernels(&v), h, w, engine.MaxPool, taps)
				if err != nil {
					t.Fatal(err)
				}
				net.Forward(img)
				for _, l := range taps {
					e := nntest.RelErr(net.Features(l), want[l].D)
					t.Logf("%s: relative error %.2g", vgg.ConvNames[l], e)
					if e > nntest.Tol {
						t.Errorf("%s: relative error %.3g > %g", vgg.ConvNames[l], e, nntest.Tol)
					}
				}
			})
		}
	}
}

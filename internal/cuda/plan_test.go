package cuda

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// threeLayers is a small network: 3->4, pool, 4->8, 8->8.
var threeLayers = []LayerShape{
	{Name: "conv1_1", In: 3, Out: 4},
	{Name: "conv2_1", In: 4, Out: 8, PoolBefore: true},
	{Name: "conv2_2", In: 8, Out: 8},
}

func TestPlanByHand(t *testing.T) {
	// A 5x7 image: conv1_1 is 4x5x7 (140 values), the pooling makes 3x4,
	// conv2_1 and conv2_2 are 8x3x4 (96 values).
	cases := []struct {
		name string
		in   PlanInput
		want MemoryPlan
	}{
		{
			name: "content conv2_2, style conv1_1 and conv2_1, max pooling",
			in: PlanInput{H: 5, W: 7, Layers: threeLayers, Content: []string{"relu2_2"},
				Style: []string{"relu1_1", "relu2_1"}, Styles: 1},
			want: MemoryPlan{H: 5, W: 7,
				Layers: []LayerBuffers{
					{Name: "conv1_1", C: 4, H: 5, W: 7, Output: 560, Weights: 4 * (27*4 + 4), Grams: 3 * 4 * 4 * 4},
					{Name: "conv2_1", C: 8, H: 3, W: 4, Output: 384, PoolArg: 4 * 3 * 4, Weights: 4 * (36*8 + 8), Grams: 3 * 8 * 8 * 4},
					{Name: "conv2_2", C: 8, H: 3, W: 4, Output: 384, Weights: 4 * (72*8 + 8), ContentTarget: 384},
				},
				Image:     6 * 3 * 35 * 4,
				Scratch:   2 * 140 * 4,
				Workspace: 9 * 3 * 35 * 4, // conv1_1's: 3780 > conv2_2's 3456
			},
		},
		{
			name: "only conv2_1, two styles, average pooling: masks, no pooling positions, no conv2_2",
			in:   PlanInput{H: 5, W: 7, Pooling: engine.AvgPool, Layers: threeLayers, Style: []string{"relu2_1"}, Styles: 2},
			want: MemoryPlan{H: 5, W: 7,
				Layers: []LayerBuffers{
					{Name: "conv1_1", C: 4, H: 5, W: 7, Mask: 5 * 4, Weights: 4 * (27*4 + 4)}, // 140 bits in 5 words
					{Name: "conv2_1", C: 8, H: 3, W: 4, Output: 384, Weights: 4 * (36*8 + 8), Grams: 4 * 8 * 8 * 4},
				},
				Image:     6 * 3 * 35 * 4,
				Scratch:   2 * 140 * 4,
				Workspace: 9 * 3 * 35 * 4,
			},
		},
		{
			name: "a 1x1 image: the pooling keeps one pixel; the input is the largest buffer",
			in:   PlanInput{H: 1, W: 1, Layers: threeLayers[:1], Content: []string{"relu1_1"}},
			want: MemoryPlan{H: 1, W: 1,
				Layers:    []LayerBuffers{{Name: "conv1_1", C: 4, H: 1, W: 1, Output: 16, Weights: 4 * (27*4 + 4), ContentTarget: 16}},
				Image:     6 * 3 * 4,
				Scratch:   2 * 4 * 4,
				Workspace: 9 * 3 * 4,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Plan(c.in)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.Total = want.Image + want.Scratch + want.Workspace
			for _, l := range want.Layers {
				want.Total += l.Bytes()
			}
			if len(got.Layers) != len(want.Layers) {
				t.Fatalf("%d layers, want %d: %+v", len(got.Layers), len(want.Layers), got.Layers)
			}
			for i := range want.Layers {
				if got.Layers[i] != want.Layers[i] {
					t.Errorf("layer %d: %+v, want %+v", i, got.Layers[i], want.Layers[i])
				}
			}
			got.Layers, want.Layers = nil, nil
			if got.H != want.H || got.W != want.W || got.Image != want.Image || got.Scratch != want.Scratch ||
				got.Workspace != want.Workspace || got.Total != want.Total {
				t.Errorf("plan %+v, want %+v", got, want)
			}
		})
	}
}

func vgg19Input(h, w int) PlanInput {
	return PlanInput{H: h, W: w, Layers: VGG19, Content: vgg.ReferenceContentLayers, Style: vgg.ReferenceStyleLayers, Styles: 1}
}

func TestPlanVGG19(t *testing.T) {
	p, err := Plan(vgg19Input(512, 512))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Layers) != 14 || p.Layers[13].Name != "conv5_2" {
		t.Fatalf("planned %d layers, want conv1_1..conv5_2", len(p.Layers))
	}
	l := p.Layers[0] // relu1_1: a style layer, 64 x 512 x 512
	if l.Output != 64<<20 || l.Mask != 0 || l.Grams != 3*64*64*4 {
		t.Errorf("conv1_1 %+v", l)
	}
	l = p.Layers[1] // relu1_2: untapped, its sign only
	if l.Output != 0 || l.Mask != 64<<20/32 {
		t.Errorf("conv1_2 %+v", l)
	}
	if l := p.Layers[13]; l.C != 512 || l.H != 32 || l.W != 32 || l.ContentTarget != 512*32*32*4 {
		t.Errorf("conv5_2 %+v", l)
	}
	if p.Scratch != 2*64<<20 || p.Workspace != 9*4*64*512*512 {
		t.Errorf("scratch %d, workspace %d", p.Scratch, p.Workspace)
	}
	var weights int64
	for _, l := range p.Layers {
		weights += l.Weights
	}
	// VGG-19's conv1_1..conv5_2: 15.3 million weights and biases.
	if weights != 4*15_304_768 {
		t.Errorf("weights %d bytes, want %d", weights, 4*15_304_768)
	}
	// Doubling the side about quadruples every image-sized buffer.
	p2, err := Plan(vgg19Input(1024, 1024))
	if err != nil {
		t.Fatal(err)
	}
	if r := float64(p2.Total-weights) / float64(p.Total-weights); r < 3.9 || r > 4.1 {
		t.Errorf("1024x1024 needs %.2f times 512x512's activations", r)
	}
}

// TestPlanFromWeights: VGG19Layers reads the channels from the weights.
func TestPlanFromWeights(t *testing.T) {
	wt := vggtest.RandomWeights(rand.New(rand.NewPCG(1, 1)), vggtest.TinyWidths)
	layers := VGG19Layers(wt)
	for i, l := range layers {
		if l.In != wt.Conv[i].In || l.Out != wt.Conv[i].Out || l.PoolBefore != VGG19[i].PoolBefore || l.Name != VGG19[i].Name {
			t.Errorf("layer %d: %+v", i, l)
		}
	}
	in := vgg19Input(13, 11)
	in.Layers = layers
	p, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Layers[0].C, wt.Conv[0].Out; got != want {
		t.Errorf("conv1_1 has %d channels, want %d", got, want)
	}
}

func TestPlanErrors(t *testing.T) {
	bad := []struct {
		name string
		edit func(*PlanInput)
		want string
	}{
		{"empty", func(p *PlanInput) { p.H = 0 }, "image size 0x512 is empty"},
		{"negative", func(p *PlanInput) { p.W = -1 }, "is empty"},
		{"no taps", func(p *PlanInput) { p.Content, p.Style = nil, nil }, "no tapped layers"},
		{"unknown layer", func(p *PlanInput) { p.Content = []string{"relu6_1"} }, `no layer "relu6_1"`},
		{"no style images", func(p *PlanInput) { p.Styles = 0 }, "0 style images for 5 style layers"},
		{"channels", func(p *PlanInput) {
			p.Layers = append([]LayerShape(nil), VGG19...)
			p.Layers[3].In = 7
		}, "conv2_2 is 7->128 channels, want 128 inputs"},
		{"overflow", func(p *PlanInput) { p.H, p.W = 1<<30, 1<<30 }, "needs more than"},
	}
	for _, c := range bad {
		in := vgg19Input(512, 512)
		c.edit(&in)
		_, err := Plan(in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestCheckFits(t *testing.T) {
	p, err := Plan(vgg19Input(4000, 3000))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CheckFits(140 << 30); err != nil {
		t.Errorf("a 4000x3000 image does not fit in 140 GiB: %v", err)
	}
	err = p.CheckFits(8 << 30)
	if err == nil || !strings.HasPrefix(err.Error(), "cuda: a 4000x3000 image needs ") || !strings.HasSuffix(err.Error(), "GiB of GPU memory, 8.0 GiB are free") {
		t.Errorf("error %v", err)
	}
}

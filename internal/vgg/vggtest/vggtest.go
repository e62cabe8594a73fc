// Package vggtest holds test helpers for packages that use VGG-19: the
// reference vectors of testdata/vgg19-tiny (vectors.json, written by
// scripts/torch/nsref.py, and its PNG images), random VGG-19-shaped weights of any
// widths, random images, and the FLOP count of an iteration.
package vggtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// Array is a float64 tensor of vectors.json, row-major (HWC for images
// and feature maps).
type Array struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

// Losses are the losses of one evaluation by name: content, style, tv and
// total. A map, so that a test can tell a missing loss from a zero one.
type Losses map[string]float64

// Case is one reference run: its options as neural_style.py takes them,
// and what scripts/torch/nsref.py computed from them. Image and network names are
// relative to the folder of vectors.json.
type Case struct {
	Network string   `json:"network"`
	Name    string   `json:"name"`
	Pooling string   `json:"pooling"`
	Content string   `json:"content"`
	Initial string   `json:"initial"`
	Styles  []string `json:"styles"`

	ContentWeight       float64   `json:"content_weight"`
	ContentWeightBlend  float64   `json:"content_weight_blend"`
	StyleWeight         float64   `json:"style_weight"`
	StyleLayerWeightExp float64   `json:"style_layer_weight_exp"`
	StyleBlendWeights   []float64 `json:"style_blend_weights"` // nil: equal weights
	TVWeight            float64   `json:"tv_weight"`
	LearningRate        float64   `json:"learning_rate"`
	Beta1               float64   `json:"beta1"`
	Beta2               float64   `json:"beta2"`
	Epsilon             float64   `json:"epsilon"`
	Iterations          int       `json:"iterations"`

	ContentFeatures map[string]Array   `json:"content_features"` // of the content image, by relu layer
	StyleGrams      []map[string]Array `json:"style_grams"`      // per style, by relu layer
	InitialLosses   Losses             `json:"initial_losses"`   // of the initial image
	InitialGradient Array              `json:"initial_gradient"` // of the total loss, HWC
	LossHistory     []Losses           `json:"loss_history"`     // after each Adam step
	FinalImage      Array              `json:"final_image"`      // after the last step, HWC, mean added back
}

// Vectors is testdata/vgg19-tiny/vectors.json.
type Vectors struct {
	Dir       string                `json:"-"`          // the folder it was read from
	Generator string                `json:"generator"`  // what wrote it
	MeanPixel map[string][3]float32 `json:"mean_pixel"` // by network file
	Cases     []Case                `json:"cases"`
}

// LoadVectors reads dir/vectors.json. A file without cases is an error,
// since every test over it would pass vacuously.
func LoadVectors(dir string) (*Vectors, error) {
	path := filepath.Join(dir, "vectors.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := &Vectors{Dir: dir}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(v.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	return v, nil
}

// Weighted pairs layer names with weights.
func Weighted(names []string, weights ...float64) []engine.LayerWeight {
	out := make([]engine.LayerWeight, len(names))
	for i, n := range names {
		out[i] = engine.LayerWeight{Layer: n, Weight: weights[i]}
	}
	return out
}

// Image reads one of the case images of the folder, less mean.
func (v *Vectors) Image(name string, mean [3]float32) (engine.Image, error) {
	return ReadPNG(filepath.Join(v.Dir, name), mean)
}

// Spec resolves c's options as the reference does (normalised style blend
// and style layer weights), with images read from the folder less mean.
func (v *Vectors) Spec(c *Case, mean [3]float32) (*engine.Spec, error) {
	content, err := v.Image(c.Content, mean)
	if err != nil {
		return nil, err
	}
	sp := &engine.Spec{
		Content:       content,
		ContentWeight: c.ContentWeight,
		ContentLayers: Weighted(vgg.ReferenceContentLayers, c.ContentWeightBlend, 1-c.ContentWeightBlend),
		StyleWeight:   c.StyleWeight,
		TVWeight:      c.TVWeight,
	}
	if c.Pooling == "avg" {
		sp.Pooling = engine.AvgPool
	}
	var sum float64
	var lws []float64
	for i, lw := 0, 1.0; i < len(vgg.ReferenceStyleLayers); i, lw = i+1, lw*c.StyleLayerWeightExp {
		lws = append(lws, lw)
		sum += lw
	}
	for i := range lws {
		lws[i] /= sum
	}
	sp.StyleLayers = Weighted(vgg.ReferenceStyleLayers, lws...)
	blend := c.StyleBlendWeights
	if blend == nil {
		blend = make([]float64, len(c.Styles))
		for i := range blend {
			blend[i] = 1
		}
	}
	if len(blend) != len(c.Styles) {
		return nil, fmt.Errorf("case %s: %d style blend weights for %d styles", c.Name, len(blend), len(c.Styles))
	}
	sum = 0
	for _, b := range blend {
		sum += b
	}
	for i, s := range c.Styles {
		im, err := v.Image(s, mean)
		if err != nil {
			return nil, err
		}
		sp.Styles = append(sp.Styles, im)
		sp.StyleBlendWeights = append(sp.StyleBlendWeights, blend[i]/sum)
	}
	return sp, nil
}

// ErrNotRGB is returned by ReadPNG for an image that is not opaque 8-bit
// RGB(A): the fixtures are, and any other would need a conversion the
// reference's would have to match.
var ErrNotRGB = errors.New("not an opaque 8-bit RGB image")

// ReadPNG decodes an 8-bit RGB PNG into an HWC image less mean, in float32
// as the reference preprocesses it.
func ReadPNG(path string, mean [3]float32) (engine.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return engine.Image{}, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return engine.Image{}, fmt.Errorf("%s: %w", path, err)
	}
	b := img.Bounds()
	im := engine.Image{H: b.Dy(), W: b.Dx(), Pix: make([]float32, 3*b.Dx()*b.Dy())}
	for y := 0; y < im.H; y++ {
		for x := 0; x < im.W; x++ {
			var px [4]uint8
			switch m := img.(type) {
			case *image.RGBA:
				c := m.RGBAAt(b.Min.X+x, b.Min.Y+y)
				px = [4]uint8{c.R, c.G, c.B, c.A}
			case *image.NRGBA:
				c := m.NRGBAAt(b.Min.X+x, b.Min.Y+y)
				px = [4]uint8{c.R, c.G, c.B, c.A}
			default:
				return engine.Image{}, fmt.Errorf("%s: %w (%T)", path, ErrNotRGB, img)
			}
			if px[3] != 255 {
				return engine.Image{}, fmt.Errorf("%s: %w (alpha %d at %d,%d)", path, ErrNotRGB, px[3], x, y)
			}
			for c := 0; c < 3; c++ {
				im.Pix[(y*im.W+x)*3+c] = float32(px[c]) - mean[c]
			}
		}
	}
	return im, nil
}

// FullWidths are the real VGG-19's block widths; TinyWidths those of the
// fixture networks, all different so that a swapped axis cannot pass.
var (
	FullWidths = [5]int{64, 128, 256, 512, 512}
	TinyWidths = [5]int{4, 6, 8, 10, 12}
)

// RandomWeights returns VGG-19-shaped weights (conv1_1..conv5_4) with the
// given block widths: He-normal kernels, small random biases
// (nntest.RandomConv), and the ImageNet mean pixel.
func RandomWeights(rng *rand.Rand, widths [5]int) *vgg.Weights {
	wt := &vgg.Weights{MeanPixel: [3]float32{123.68, 116.779, 103.939}}
	perBlock := [5]int{2, 2, 4, 4, 4}
	in, i := 3, 0
	for b, n := range perBlock {
		for j := 0; j < n; j++ {
			wt.Conv[i] = *nntest.RandomConv(rng, in, widths[b])
			in = widths[b]
			i++
		}
	}
	return wt
}

// RandomImage returns an h x w image of normal(0, 40) values, about the
// spread of a photograph less the mean pixel.
func RandomImage(rng *rand.Rand, h, w int) engine.Image {
	return engine.Image{H: h, W: w, Pix: nntest.RandomSlice(rng, h*w*3, 40)}
}

// BenchSpec is the problem the iteration benchmarks of every engine
// measure, so that their figures compare: a random content and one random
// style of size x size, the reference's default weights, and both content
// layers weighted so that the network runs through relu5_2, as
// IterationFLOPs counts.
func BenchSpec(rng *rand.Rand, size int) *engine.Spec {
	return &engine.Spec{
		Content:           RandomImage(rng, size, size),
		Styles:            []engine.Image{RandomImage(rng, size, size)},
		ContentWeight:     5,
		ContentLayers:     Weighted(vgg.ReferenceContentLayers, 0.5, 0.5),
		StyleWeight:       500,
		StyleBlendWeights: []float64{1},
		StyleLayers:       Weighted(vgg.ReferenceStyleLayers, 0.2, 0.2, 0.2, 0.2, 0.2),
		TVWeight:          100,
	}
}

// IterationFLOPs counts 2 FLOPs per multiply-add of the convolutions of one
// iteration through relu5_2 on an h x w image: forward, and backward to the
// input (not to the weights).
func IterationFLOPs(wt *vgg.Weights, h, w int) float64 {
	var f float64
	relu52, _ := vgg.ReLUIndex("relu5_2")
	for i := vgg.Layer(0); i <= relu52; i++ {
		if vgg.PoolBefore(i) {
			h, w = nn.PoolSize(h), nn.PoolSize(w)
		}
		// Two factors of int, so that a 32-bit int cannot overflow.
		f += 2 * 2 * 9 * float64(wt.Conv[i].In*wt.Conv[i].Out) * float64(h*w)
	}
	return f
}

// Tensor64 is a float64 C x H x W activation of the reference network.
type Tensor64 struct {
	D       []float64
	C, H, W int
}

// Forward64 is the float64 reference network: it returns the post-ReLU
// outputs of conv layers 0..last for img (3 x h x w, CHW, preprocessed),
// pooling where vgg's layer table has the pools.
func Forward64(wt *vgg.Weights, img []float64, h, w int, pooling engine.Pooling, last vgg.Layer) []Tensor64 {
	in := Tensor64{img, 3, h, w}
	acts := make([]Tensor64, 0, last+1)
	for i := 0; i <= int(last); i++ {
		if vgg.PoolBefore(vgg.Layer(i)) {
			in = Tensor64{nntest.RefPool64(in.D, in.C, in.H, in.W, pooling == engine.AvgPool), in.C, (in.H + 1) / 2, (in.W + 1) / 2}
		}
		out := nntest.RefConv64(&wt.Conv[i], in.D, in.H, in.W)
		for j, v := range out {
			out[j] = math.Max(0, v)
		}
		in = Tensor64{out, wt.Conv[i].Out, in.H, in.W}
		acts = append(acts, in)
	}
	return acts
}

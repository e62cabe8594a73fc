package cuda

import (
	"fmt"
	"math/bits"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// LayerShape is one 3x3 convolution (with its bias and ReLU) of the network.
type LayerShape struct {
	Name    string // "conv1_1"; its ReLU is "relu1_1"
	In, Out int    // channels
	// PoolBefore says that a 2x2 pooling of stride 2 precedes it.
	PoolBefore bool
}

// VGG19Layers are w's convolutions conv1_1..conv5_4.
func VGG19Layers(w *vgg.Weights) []LayerShape {
	ls := make([]LayerShape, len(vgg.ConvNames))
	for i, name := range vgg.ConvNames {
		ls[i] = LayerShape{Name: name, In: w.Conv[i].In, Out: w.Conv[i].Out, PoolBefore: vgg19PoolsBefore(i)}
	}
	return ls
}

// VGG19 is the full network's shape, for planning without the weights.
var VGG19 = func() []LayerShape {
	out := [16]int{64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512, 512, 512}
	ls := make([]LayerShape, len(out))
	in := 3
	for i, name := range vgg.ConvNames {
		ls[i] = LayerShape{Name: name, In: in, Out: out[i], PoolBefore: vgg19PoolsBefore(i)}
		in = out[i]
	}
	return ls
}()

// vgg19PoolsBefore is whether a pooling precedes conv i: the first of
// blocks 2 to 5 (package vgg's poolsBefore).
func vgg19PoolsBefore(i int) bool { return i == 2 || i == 4 || i == 8 || i == 12 }

// PlanInput is what the device memory of an optimisation depends on.
type PlanInput struct {
	H, W    int // the content image, which the optimised image has
	Pooling engine.Pooling
	Layers  []LayerShape
	// Content and Style are the tapped layers' ReLU names ("relu4_2");
	// the network runs through the deepest of them.
	Content, Style []string
	Styles         int // style images: one Gram target each
}

// LayerBuffers are the device bytes one layer keeps for a forward and
// backward pass, as package vgg's Network keeps them on the CPU.
type LayerBuffers struct {
	Name    string
	C, H, W int // the output's shape
	// Output is the post-ReLU output (float32), kept for tapped layers;
	// Mask is the ReLU's sign (one bit each, 32-bit words) for the others.
	Output, Mask int64
	// PoolArg is the max-pooling positions of the layer's pooled input
	// (one byte each), when a max pooling precedes it.
	PoolArg int64
	// Weights is the kernel and bias (float32).
	Weights int64
	// ContentTarget is the content target (float32 like Output) of a
	// content layer; Grams are a style layer's Gram targets (one per
	// style), its current Gram and the Gram's gradient, C x C float32 each.
	ContentTarget, Grams int64
}

// Bytes is the layer's total.
func (l LayerBuffers) Bytes() int64 {
	return l.Output + l.Mask + l.PoolArg + l.Weights + l.ContentTarget + l.Grams
}

// MemoryPlan is the device memory of one optimisation.
type MemoryPlan struct {
	H, W   int
	Layers []LayerBuffers // through the deepest tapped layer
	// Image is the optimised image, its gradient and Adam's m and v
	// (HWC), and the network's input and input gradient (CHW): six
	// float32 images.
	Image int64
	// Scratch is two buffers of the largest layer, through which the
	// untapped layers' outputs and the gradients pass.
	Scratch int64
	// Workspace is the most the convolutions' workspace may take: the
	// largest layer's im2col matrix (9 x input channels x pixels, float32),
	// the explicit-GEMM algorithm's need; cuDNN's choice is capped at it.
	Workspace int64
	Total     int64
}

// maxPlanBytes bounds every size computed (1 EiB): beyond it a plan is
// refused rather than computed with overflowing integers.
const maxPlanBytes = 1 << 60

// Plan lays out the device memory of an optimisation of an H x W image. It
// is a pure function of its input.
func Plan(in PlanInput) (MemoryPlan, error) {
	if in.H < 1 || in.W < 1 {
		return MemoryPlan{}, fmt.Errorf("cuda: plan: image size %dx%d is empty", in.H, in.W)
	}
	if len(in.Content)+len(in.Style) == 0 {
		return MemoryPlan{}, fmt.Errorf("cuda: plan: no tapped layers")
	}
	if in.Styles < 0 || (len(in.Style) > 0 && in.Styles == 0) {
		return MemoryPlan{}, fmt.Errorf("cuda: plan: %d style images for %d style layers", in.Styles, len(in.Style))
	}
	index := map[string]int{}
	for i, l := range in.Layers {
		index["relu"+l.Name[min(len(l.Name), 4):]] = i
	}
	content, style := map[int]bool{}, map[int]bool{}
	last := -1
	for _, set := range []struct {
		names []string
		m     map[int]bool
	}{{in.Content, content}, {in.Style, style}} {
		for _, name := range set.names {
			i, ok := index[name]
			if !ok {
				return MemoryPlan{}, fmt.Errorf("cuda: plan: no layer %q in the network", name)
			}
			set.m[i] = true
			last = max(last, i)
		}
	}
	var (
		p   = MemoryPlan{H: in.H, W: in.W}
		s   sizer
		ch  = 3
		h   = int64(in.H)
		w   = int64(in.W)
		big = s.mul(3, h, w) // the largest layer, in elements
	)
	for i := 0; i <= last; i++ {
		l := in.Layers[i]
		if l.In != ch || l.Out < 1 {
			return MemoryPlan{}, fmt.Errorf("cuda: plan: %s is %d->%d channels, want %d inputs", l.Name, l.In, l.Out, ch)
		}
		b := LayerBuffers{Name: l.Name}
		if l.PoolBefore {
			h, w = int64(nn.PoolSize(int(h))), int64(nn.PoolSize(int(w)))
			if in.Pooling == engine.MaxPool {
				b.PoolArg = s.mul(int64(ch), h, w)
			}
		}
		// im2col of this layer's input: 9 values per input channel and pixel.
		p.Workspace = max(p.Workspace, s.mul(9*4, int64(ch), h, w))
		ch = l.Out
		n := s.mul(int64(ch), h, w)
		big = max(big, n)
		b.C, b.H, b.W = ch, int(h), int(w)
		if content[i] || style[i] {
			b.Output = s.mul(4, n)
		} else {
			b.Mask = s.mul(4, (n+31)/32)
		}
		b.Weights = s.mul(4, int64(l.In*9+1), int64(l.Out))
		if content[i] {
			b.ContentTarget = s.mul(4, n)
		}
		if style[i] {
			b.Grams = s.mul(4, int64(in.Styles+2), int64(ch), int64(ch))
		}
		p.Layers = append(p.Layers, b)
		p.Total = s.add(p.Total, b.Bytes())
	}
	p.Image = s.mul(6*4*3, int64(in.H), int64(in.W))
	p.Scratch = s.mul(2*4, big)
	p.Total = s.add(p.Total, p.Image, p.Scratch, p.Workspace)
	if s.overflow {
		return MemoryPlan{}, fmt.Errorf("cuda: plan: a %dx%d image needs more than %d bytes", in.H, in.W, int64(maxPlanBytes))
	}
	return p, nil
}

// CheckFits says whether the plan fits in free bytes of device memory.
func (p MemoryPlan) CheckFits(free uint64) error {
	if uint64(p.Total) > free {
		return fmt.Errorf("cuda: a %dx%d image needs %s of GPU memory, %s are free", p.H, p.W, formatBytes(p.Total), formatBytes(int64(min(free, 1<<62))))
	}
	return nil
}

func formatBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", b)
}

// sizer multiplies and adds non-negative sizes, remembering an overflow
// past maxPlanBytes instead of wrapping.
type sizer struct{ overflow bool }

func (s *sizer) mul(xs ...int64) int64 {
	r := uint64(1)
	for _, x := range xs {
		hi, lo := bits.Mul64(r, uint64(x))
		if x < 0 || hi != 0 || lo > maxPlanBytes {
			s.overflow = true
			return maxPlanBytes
		}
		r = lo
	}
	return int64(r)
}

func (s *sizer) add(xs ...int64) int64 {
	var r int64
	for _, x := range xs {
		r += x // each term is at most maxPlanBytes: no wrap for a few terms
		if r > maxPlanBytes {
			s.overflow = true
			return maxPlanBytes
		}
	}
	return r
}

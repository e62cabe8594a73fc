// Package nn holds the numeric kernels of the native engine: 3x3 convolution
// (forward with fused bias and ReLU, backward to the input), 2x2 pooling, ReLU
// gating and Gram matrices, all float32.
//
// Activations are stored channel-major (CHW): element (c, y, x) of a C x H x W
// tensor is at c*H*W + y*W + x. The convolution and Gram kernels sit behind the
// Kernels interface so that a SIMD implementation can replace the portable one
// without touching the network code.
package nn

// ConvWeights are the parameters of one 3x3, stride 1, SAME-padded convolution.
type ConvWeights struct {
	In, Out int
	// Kernel is laid out [3][3][In][Out] (kh, kw, in, out; TensorFlow's HWIO),
	// after the reference's transpose of the MatConvNet array.
	Kernel []float32
	// Bias has Out values.
	Bias []float32
}

// Kernels is the compute boundary of the native engine. Implementations use
// all cores (GOMAXPROCS) and allocate nothing per call once a Conv is made.
type Kernels interface {
	// Name identifies the implementation in benchmarks and test names.
	Name() string
	// NewConv prepares a convolution with fused bias and ReLU for inputs of
	// h x w pixels: it packs the weights once and sizes its buffers.
	NewConv(wt *ConvWeights, h, w int) Conv
	// Gram sets g (c x c) to scale * F F^T, F the c x n matrix in f.
	Gram(g, f []float32, c, n int, scale float32)
	// GramBackward sets df (c x n) to scale * (dg + dg^T) F, the gradient of
	// a loss through g = scale * F F^T.
	GramBackward(df, dg, f []float32, c, n int, scale float32)
	// GramBackwardAdd adds scale * (dg + dg^T) F to df: the losses'
	// gradient at a style layer without a separate buffer and pass over
	// it.
	GramBackwardAdd(df, dg, f []float32, c, n int, scale float32)
}

// Conv is a prepared 3x3 convolution for one image size.
type Conv interface {
	// Forward sets out (Out x H x W) to max(0, conv(in) + bias), in being
	// In x H x W.
	Forward(out, in []float32)
	// BackwardInput sets dIn (In x H x W) to the gradient with respect to the
	// convolution's input, given dOut (Out x H x W), the gradient with
	// respect to the convolution's output already gated by the ReLU.
	BackwardInput(dIn, dOut []float32)
}

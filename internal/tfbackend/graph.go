//go:build tensorflow

package tfbackend

import (
	"bytes"
	"fmt"
	"unsafe"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	tg "github.com/galeone/tfgo"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// network holds VGG-19's weights in resource variables of one graph.
// Constants would do, but every executor TensorFlow builds for a distinct
// run (targets, Eval, Step) keeps its own copy of a graph's constants: with
// variables the session holds the weights once.
type network struct {
	// per convolution through the deepest the problem reads
	kernel, bias []tf.Output
	width        []int
	pooling      engine.Pooling

	// init assigns the weights from initFeeds, once, before any other run.
	init      []*tf.Operation
	initFeeds map[tf.Output]*tf.Tensor
}

// newNetwork holds the weights of the first numConv convolutions.
func newNetwork(s *op.Scope, w *vgg.Weights, pooling engine.Pooling, id uint64, numConv int) (*network, error) {
	n := &network{pooling: pooling, initFeeds: make(map[tf.Output]*tf.Tensor, 2*numConv),
		kernel: make([]tf.Output, numConv), bias: make([]tf.Output, numConv), width: make([]int, numConv)}
	variable := func(s *op.Scope, name string, v []float32, shape ...int64) (tf.Output, error) {
		t, err := floatTensor(v, shape...)
		if err != nil {
			return tf.Output{}, fmt.Errorf("tfbackend: %s: %w", name, err)
		}
		s = s.SubScope(name)
		in := op.Placeholder(s.SubScope("Placeholder"), tf.Float, op.PlaceholderShape(tf.MakeShape(shape...)))
		h := op.VarHandleOp(s.SubScope("VarHandleOp"), tf.Float, tf.MakeShape(shape...),
			op.VarHandleOpSharedName(fmt.Sprintf("neuralstyle_%d_%s", id, name)))
		n.init = append(n.init, op.AssignVariableOp(s.SubScope("AssignVariableOp"), h, in))
		n.initFeeds[in] = t
		return op.ReadVariableOp(s.SubScope("ReadVariableOp"), h, tf.Float), nil
	}
	for i := 0; i < numConv; i++ {
		c := &w.Conv[i]
		name := vgg.ConvNames[i]
		var err error
		if n.kernel[i], err = variable(s, name+"_kernel", c.Kernel, 3, 3, int64(c.In), int64(c.Out)); err != nil {
			return nil, err
		}
		if n.bias[i], err = variable(s, name+"_bias", c.Bias, int64(c.Out)); err != nil {
			return nil, err
		}
		n.width[i] = c.Out
	}
	return n, nil
}

// forward applies the network to x (1 x H x W x 3) up to the ReLU of
// convolution last and returns every ReLU's output by layer name.
func (n *network) forward(s *op.Scope, x tf.Output, last int) map[string]tf.Output {
	out := make(map[string]tf.Output, last+1)
	cur := x
	for i := 0; i <= last; i++ {
		relu := vgg.ReLUNames[i]
		ls := s.SubScope(vgg.ConvNames[i])
		cur = op.Conv2D(ls.SubScope("Conv2D"), cur, n.kernel[i], []int64{1, 1, 1, 1}, "SAME")
		cur = op.BiasAdd(ls.SubScope("BiasAdd"), cur, n.bias[i])
		cur = op.Relu(s.SubScope(relu), cur)
		out[relu] = cur
		if vgg.PoolAfter(vgg.Layer(i)) && i < last {
			// TensorFlow's SAME pooling is the reference's: for odd sizes
			// the extra window hangs over the bottom/right edge, max ignores
			// the outside and avg divides by the cells inside.
			ps := s.SubScope("pool")
			ksize, strides := []int64{1, 2, 2, 1}, []int64{1, 2, 2, 1}
			if n.pooling == engine.AvgPool {
				cur = op.AvgPool(ps.SubScope("AvgPool"), cur, ksize, strides, "SAME")
			} else {
				cur = op.MaxPool(ps.SubScope("MaxPool"), cur, ksize, strides, "SAME")
			}
		}
	}
	return out
}

// gram is F^T F / (H*W*C), F the (H*W) x C matrix of the features f
// (1 x H x W x C), as the reference computes it.
func gram(s *op.Scope, f tf.Output, c int) tf.Output {
	s = s.SubScope("gram")
	m := op.Reshape(s.SubScope("Reshape"), f, tg.Const(s, []int32{-1, int32(c)}))
	g := op.MatMul(s.SubScope("MatMul"), m, m, op.MatMulTransposeA(true))
	return op.RealDiv(s.SubScope("RealDiv"), g, op.Cast(s.SubScope("Cast"), op.Size(s.SubScope("Size"), f), tf.Float))
}

// sumSquares is sum(t^2) written as the reference writes it, 2 * l2_loss(t)
// (l2_loss being sum(t^2)/2), scaled by coef.
func sumSquares(s *op.Scope, t tf.Output, coef float64) tf.Output {
	return op.Mul(s.SubScope("Mul"), tg.Const(s, float32(2*coef)), op.L2Loss(s.SubScope("L2Loss"), t))
}

// pooledSize is the size of a dimension of n cells after k SAME poolings.
func pooledSize(n, k int) int {
	for ; k > 0; k-- {
		n = (n + 1) / 2
	}
	return n
}

// floatTensor makes a TensorFlow tensor of the given shape holding a copy of v.
func floatTensor(v []float32, shape ...int64) (*tf.Tensor, error) {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	if int64(len(v)) != n {
		return nil, fmt.Errorf("%d values for shape %v", len(v), shape)
	}
	return tf.ReadTensor(tf.Float, shape, bytes.NewReader(floatBytes(v)))
}

// copyOut copies the float32 tensor t into dst, which must have t's size.
func copyOut(dst []float32, t *tf.Tensor) error {
	if t.DataType() != tf.Float {
		return fmt.Errorf("tfbackend: tensor of type %v, want float32", t.DataType())
	}
	n := int64(1)
	for _, d := range t.Shape() {
		n *= d
	}
	if n != int64(len(dst)) {
		return fmt.Errorf("tfbackend: tensor of shape %v into %d values", t.Shape(), len(dst))
	}
	w := sliceWriter{b: floatBytes(dst)}
	_, err := t.WriteContentsTo(&w)
	if err == nil && len(w.b) != 0 {
		err = fmt.Errorf("tfbackend: tensor of shape %v left %d bytes unwritten", t.Shape(), len(w.b))
	}
	return err
}

// floatBytes views v's memory as bytes: TensorFlow's tensors hold float32 in
// the machine's byte order, as Go does.
func floatBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
}

// sliceWriter fills a fixed byte slice, refusing to grow it.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > len(w.b) {
		return 0, fmt.Errorf("tfbackend: %d bytes for %d left", len(p), len(w.b))
	}
	copy(w.b, p)
	w.b = w.b[len(p):]
	return len(p), nil
}

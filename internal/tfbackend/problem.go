//go:build tensorflow

package tfbackend

import (
	"fmt"
	"runtime"
	"sync/atomic"

	tf "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
	tg "github.com/galeone/tfgo"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// problem is one graph and session: the network applied to a probe input
// (which computes the targets), the objective at the image x with its
// gradient, and TensorFlow 1's Adam on a resource variable holding x.
type problem struct {
	h, w int
	sess *tf.Session

	// probe is a 1 x ? x ? x 3 input; probeRelu and probeGram are the
	// network's ReLU outputs and the style layers' Grams on it.
	probe     tf.Output
	probeRelu map[string]tf.Output
	probeGram map[string]tf.Output

	x      tf.Output    // 1 x h x w x 3 input of the objective
	losses [4]tf.Output // content, style, tv, total
	grad   tf.Output

	// targets holds the content features and style Grams, computed once in
	// NewProblem and fed back to every run.
	targets map[tf.Output]*tf.Tensor

	// Adam: hyperparameters fed at each step, the state initialised by
	// adamInit at the first step, the step's operations and the image read
	// back after them.
	lr, beta1, beta2, eps tf.Output
	adamInit              []*tf.Operation
	adamStep              []*tf.Operation
	stepped               tf.Output
	started               bool

	// cGarbage counts the bytes of TensorFlow tensors this problem has
	// dropped since it last ran the garbage collector (see collect).
	cGarbage int64

	closed bool
}

// cGarbageLimit bounds the C memory held by dropped tensors. The binding
// frees a tensor's C buffer only in its finalizer, and a run allocates
// megabytes of C memory for a few hundred bytes of Go heap, so the collector
// would hardly ever run on its own.
const cGarbageLimit = 64 << 20

// collect notes n bytes of dropped tensors and runs the collector when they
// add up; the program's Go heap is small, which keeps that cheap.
func (p *problem) collect(n int) {
	p.cGarbage += int64(n)
	if p.cGarbage > cGarbageLimit {
		p.cGarbage = 0
		runtime.GC()
	}
}

var _ engine.AdamStepper = (*problem)(nil)

// graphCount makes the shared names of resource variables unique within the
// process, whatever TensorFlow's resource managers are shared by.
var graphCount atomic.Uint64

// lossLayer is a layer a loss reads, with its weight.
type lossLayer struct {
	name   string
	conv   int // index of its convolution
	weight float64
}

// lossLayers resolves the spec's layer names.
func lossLayers(what string, lws []engine.LayerWeight) ([]lossLayer, error) {
	if len(lws) == 0 {
		return nil, &SpecError{Reason: "no " + what + " layers"}
	}
	out := make([]lossLayer, len(lws))
	for i, lw := range lws {
		l, err := vgg.ReLUIndex(lw.Layer)
		if err != nil {
			return nil, &SpecError{Reason: fmt.Sprintf("%s layer: %v", what, err)}
		}
		out[i] = lossLayer{name: lw.Layer, conv: int(l), weight: lw.Weight}
	}
	return out, nil
}

// objective are the graph's inputs for the targets: per content layer (an
// empty Output where the objective leaves the layer out), and per style
// image and style layer.
type objective struct {
	content []tf.Output
	style   [][]tf.Output
}

func newProblem(w *vgg.Weights, spec *engine.Spec) (*problem, error) {
	if err := checkSpec(spec); err != nil {
		return nil, err
	}
	content, err := lossLayers("content", spec.ContentLayers)
	if err != nil {
		return nil, err
	}
	style, err := lossLayers("style", spec.StyleLayers)
	if err != nil {
		return nil, err
	}
	p := &problem{h: spec.Content.H, w: spec.Content.W}
	root := tg.NewRoot()
	id := graphCount.Add(1)
	// The graph holds the layers through the deepest listed one; TensorFlow
	// runs only what a run's fetches need.
	deepest := 0
	for _, l := range append(content[:len(content):len(content)], style...) {
		deepest = max(deepest, l.conv)
	}
	net, err := newNetwork(root.SubScope("vgg"), w, spec.Pooling, id, deepest+1)
	if err != nil {
		return nil, err
	}
	p.buildProbe(root.SubScope("probe"), net, style, deepest)
	obj := p.buildObjective(root.SubScope("objective"), net, spec, content, style)
	if root.Err() != nil {
		return nil, fmt.Errorf("tfbackend: building the objective: %w", root.Err())
	}
	grads := op.Gradients(root, []tf.Output{p.losses[3]}, []tf.Output{p.x})
	if root.Err() != nil {
		return nil, fmt.Errorf("tfbackend: building the gradient: %w", root.Err())
	}
	p.grad = grads[0]
	p.buildAdam(root.SubScope("adam"), id)
	if err := p.start(root, net); err != nil {
		return nil, err
	}
	if err := p.computeTargets(spec, content, style, obj); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// buildProbe applies the network to the probe input, which computes the
// targets: the reference computes them in graphs of their own; here the
// same weights serve a second application of the network.
func (p *problem) buildProbe(ps *op.Scope, net *network, style []lossLayer, deepest int) {
	p.probe = op.Placeholder(ps.SubScope("Placeholder"), tf.Float, op.PlaceholderShape(tf.MakeShape(1, -1, -1, 3)))
	p.probeRelu = net.forward(ps, p.probe, deepest)
	p.probeGram = make(map[string]tf.Output, len(style))
	for _, l := range style {
		p.probeGram[l.name] = gram(ps, p.probeRelu[l.name], net.width[l.conv])
	}
}

// buildObjective adds the objective at the image x, with the targets as
// inputs, and sets p.x and p.losses.
func (p *problem) buildObjective(obj *op.Scope, net *network, spec *engine.Spec, content, style []lossLayer) *objective {
	p.x = op.Placeholder(obj.SubScope("Placeholder"), tf.Float, op.PlaceholderShape(tf.MakeShape(1, int64(p.h), int64(p.w), 3)))
	// The objective goes as deep as the deepest layer a loss reads with a
	// weight: a content layer without one (relu5_2 at the default blend)
	// is left out when deeper than the rest, as in the native engine.
	last := 0
	for _, l := range style {
		last = max(last, l.conv)
	}
	for _, l := range content {
		if spec.ContentWeight*l.weight != 0 {
			last = max(last, l.conv)
		}
	}
	feats := net.forward(obj, p.x, last)
	in := &objective{content: make([]tf.Output, len(content)), style: make([][]tf.Output, len(spec.Styles))}
	contentLoss := p.contentLoss(obj.SubScope("content"), net, feats, spec, content, last, in)
	styleLoss := styleLoss(obj.SubScope("style"), net, feats, spec, style, in)
	tv := p.tvLoss(obj.SubScope("tv"), spec.TVWeight)
	total := op.AddN(obj.SubScope("total"), []tf.Output{contentLoss, styleLoss, tv})
	p.losses = [4]tf.Output{contentLoss, styleLoss, tv, total}
	return in
}

// contentLoss is the content term over the layers through last.
func (p *problem) contentLoss(cs *op.Scope, net *network, feats map[string]tf.Output, spec *engine.Spec,
	content []lossLayer, last int, in *objective) tf.Output {
	var terms []tf.Output
	for i, l := range content {
		if l.conv > last {
			continue
		}
		c := net.width[l.conv]
		in.content[i] = op.Placeholder(cs.SubScope("Placeholder"), tf.Float, op.PlaceholderShape(tf.MakeShape(1, -1, -1, int64(c))))
		k := vgg.PoolsBefore(vgg.Layer(l.conv))
		size := float64(pooledSize(p.h, k) * pooledSize(p.w, k) * c)
		coef := l.weight * spec.ContentWeight / size
		terms = append(terms, sumSquares(cs, op.Sub(cs.SubScope("Sub"), feats[l.name], in.content[i]), coef))
	}
	if len(terms) == 0 {
		return tg.Const(cs, float32(0))
	}
	return op.AddN(cs.SubScope("AddN"), terms)
}

// styleLoss is the style term over every style image and layer.
func styleLoss(ss *op.Scope, net *network, feats map[string]tf.Output, spec *engine.Spec, style []lossLayer, in *objective) tf.Output {
	grams := make([]tf.Output, len(style))
	for j, l := range style {
		grams[j] = gram(ss, feats[l.name], net.width[l.conv])
	}
	var terms []tf.Output
	for i := range spec.Styles {
		in.style[i] = make([]tf.Output, len(style))
		for j, l := range style {
			c := net.width[l.conv]
			in.style[i][j] = op.Placeholder(ss.SubScope("Placeholder"), tf.Float, op.PlaceholderShape(tf.MakeShape(int64(c), int64(c))))
			coef := spec.StyleWeight * spec.StyleBlendWeights[i] * l.weight / float64(c*c)
			terms = append(terms, sumSquares(ss, op.Sub(ss.SubScope("Sub"), grams[j], in.style[i][j]), coef))
		}
	}
	return op.AddN(ss.SubScope("AddN"), terms)
}

// tvLoss is the total variation of the image, with the reference's
// divisors (the numbers of differences along each axis). An axis without
// differences (an image one pixel high or wide) counts 0, as in the native
// engine, where the reference's 0/0 makes the loss NaN.
func (p *problem) tvLoss(ts *op.Scope, weight float64) tf.Output {
	h, wd := int32(p.h), int32(p.w)
	slice := func(y, x, hh, ww int32) tf.Output {
		return op.Slice(ts.SubScope("Slice"), p.x, tg.Const(ts, []int32{0, y, x, 0}), tg.Const(ts, []int32{1, hh, ww, 3}))
	}
	term := func(y, x int32, n int) tf.Output {
		if n == 0 {
			return tg.Const(ts, float32(0))
		}
		d := op.Sub(ts.SubScope("Sub"), slice(y, x, h-y, wd-x), slice(0, 0, h-y, wd-x))
		return sumSquares(ts, d, weight/float64(n))
	}
	return op.Add(ts.SubScope("Add"), term(1, 0, (p.h-1)*p.w*3), term(0, 1, p.h*(p.w-1)*3))
}

// start finalises the graph, starts its session and loads the weights.
func (p *problem) start(root *op.Scope, net *network) error {
	graph, err := root.Finalize()
	if err != nil {
		return fmt.Errorf("tfbackend: building the graph: %w", err)
	}
	p.sess, err = tf.NewSession(graph, nil)
	if err != nil {
		return fmt.Errorf("tfbackend: starting a session: %w", err)
	}
	if _, err := p.sess.Run(net.initFeeds, nil, net.init); err != nil {
		p.Close()
		return fmt.Errorf("tfbackend: loading the weights: %w", err)
	}
	// The session has copied the weights: free the feeds' C memory now
	// rather than whenever the collector happens to run.
	net.initFeeds = nil
	runtime.GC()
	return nil
}

// computeTargets runs the probe on the content and style images. The
// targets' tensors go straight from these runs' outputs to the objective's
// inputs, without a copy in Go.
func (p *problem) computeTargets(spec *engine.Spec, content, style []lossLayer, obj *objective) error {
	p.targets = make(map[tf.Output]*tf.Tensor, len(content)+len(style)*len(spec.Styles))
	var inputs, fetch []tf.Output
	for i, l := range content {
		if obj.content[i].Op != nil {
			inputs = append(inputs, obj.content[i])
			fetch = append(fetch, p.probeRelu[l.name])
		}
	}
	out, err := p.runProbe(&spec.Content, fetch)
	if err != nil {
		return fmt.Errorf("tfbackend: content features: %w", err)
	}
	for i, in := range inputs {
		p.targets[in] = out[i]
	}
	fetch = make([]tf.Output, len(style))
	for j, l := range style {
		fetch[j] = p.probeGram[l.name]
	}
	for i := range spec.Styles {
		out, err := p.runProbe(&spec.Styles[i], fetch)
		if err != nil {
			return fmt.Errorf("tfbackend: Grams of style %d: %w", i+1, err)
		}
		for j := range out {
			p.targets[obj.style[i][j]] = out[j]
		}
	}
	return nil
}

// buildAdam adds TensorFlow 1's AdamOptimizer for the image: ResourceApplyAdam
// on a variable that takes the image fed to the step, with the gradient of
// the objective at that image, then the update of the powers of beta1 and
// beta2 that the optimiser keeps in variables.
func (p *problem) buildAdam(s *op.Scope, id uint64) {
	variable := func(name string, shape tf.Shape) tf.Output {
		return op.VarHandleOp(s.SubScope(name), tf.Float, shape,
			op.VarHandleOpSharedName(fmt.Sprintf("neuralstyle_%d_%s", id, name)))
	}
	imgShape := tf.MakeShape(1, int64(p.h), int64(p.w), 3)
	x, m, v := variable("image", imgShape), variable("m", imgShape), variable("v", imgShape)
	b1p, b2p := variable("beta1_power", tf.ScalarShape()), variable("beta2_power", tf.ScalarShape())
	scalar := func(name string) tf.Output {
		return op.Placeholder(s.SubScope(name), tf.Float, op.PlaceholderShape(tf.ScalarShape()))
	}
	p.lr, p.beta1, p.beta2, p.eps = scalar("learning_rate"), scalar("beta1"), scalar("beta2"), scalar("epsilon")

	zeros := op.Fill(s.SubScope("Fill"), tg.Const(s, []int32{1, int32(p.h), int32(p.w), 3}), tg.Const(s, float32(0)))
	p.adamInit = []*tf.Operation{
		op.AssignVariableOp(s.SubScope("AssignVariableOp"), m, zeros),
		op.AssignVariableOp(s.SubScope("AssignVariableOp"), v, zeros),
		op.AssignVariableOp(s.SubScope("AssignVariableOp"), b1p, p.beta1),
		op.AssignVariableOp(s.SubScope("AssignVariableOp"), b2p, p.beta2),
	}

	assign := op.AssignVariableOp(s.SubScope("AssignVariableOp"), x, p.x)
	b1, b2 := op.ReadVariableOp(s.SubScope("ReadVariableOp"), b1p, tf.Float), op.ReadVariableOp(s.SubScope("ReadVariableOp"), b2p, tf.Float)
	apply := op.ResourceApplyAdam(s.WithControlDependencies(assign), x, m, v, b1, b2, p.lr, p.beta1, p.beta2, p.eps, p.grad)
	after := s.WithControlDependencies(apply)
	p.adamStep = []*tf.Operation{
		op.AssignVariableOp(after.SubScope("AssignVariableOp"), b1p, op.Mul(s.SubScope("Mul"), b1, p.beta1)),
		op.AssignVariableOp(after.SubScope("AssignVariableOp"), b2p, op.Mul(s.SubScope("Mul"), b2, p.beta2)),
	}
	p.stepped = op.ReadVariableOp(after.SubScope("ReadVariableOp"), x, tf.Float)
}

func checkSpec(spec *engine.Spec) error {
	if err := checkImage("content", &spec.Content); err != nil {
		return err
	}
	if len(spec.Styles) == 0 {
		return &SpecError{Reason: "no style image"}
	}
	if len(spec.StyleBlendWeights) != len(spec.Styles) {
		return &SpecError{Reason: fmt.Sprintf("%d style blend weights for %d styles", len(spec.StyleBlendWeights), len(spec.Styles))}
	}
	for i := range spec.Styles {
		if err := checkImage(fmt.Sprintf("style %d", i+1), &spec.Styles[i]); err != nil {
			return err
		}
	}
	return nil
}

func checkImage(what string, im *engine.Image) error {
	if im.H < 1 || im.W < 1 || len(im.Pix) != im.H*im.W*3 {
		return &SpecError{Reason: fmt.Sprintf("%s image is %dx%d with %d values", what, im.H, im.W, len(im.Pix))}
	}
	return nil
}

// runProbe applies the network to im and returns the fetched outputs.
func (p *problem) runProbe(im *engine.Image, fetch []tf.Output) ([]*tf.Tensor, error) {
	t, err := floatTensor(im.Pix, 1, int64(im.H), int64(im.W), 3)
	if err != nil {
		return nil, err
	}
	return p.sess.Run(map[tf.Output]*tf.Tensor{p.probe: t}, fetch, nil)
}

// feeds returns the targets and the image x as the inputs of a run.
func (p *problem) feeds(x *engine.Image, extra int) (map[tf.Output]*tf.Tensor, error) {
	if x.H != p.h || x.W != p.w || len(x.Pix) != p.h*p.w*3 {
		panic(fmt.Sprintf("tfbackend: image of %dx%d (%d values) for a problem of %dx%d", x.H, x.W, len(x.Pix), p.h, p.w))
	}
	t, err := floatTensor(x.Pix, 1, int64(p.h), int64(p.w), 3)
	if err != nil {
		return nil, err
	}
	f := make(map[tf.Output]*tf.Tensor, len(p.targets)+1+extra)
	for k, v := range p.targets {
		f[k] = v
	}
	f[p.x] = t
	return f, nil
}

// Eval implements engine.Problem.
func (p *problem) Eval(x *engine.Image, grad []float32) (engine.Losses, error) {
	if p.closed {
		return engine.Losses{}, engine.ErrClosed
	}
	feeds, err := p.feeds(x, 0)
	if err != nil {
		return engine.Losses{}, err
	}
	fetch := p.losses[:]
	if grad != nil {
		if len(grad) != len(x.Pix) {
			panic(fmt.Sprintf("tfbackend: gradient of %d values for an image of %d", len(grad), len(x.Pix)))
		}
		fetch = append(fetch[:len(fetch):len(fetch)], p.grad)
	}
	out, err := p.sess.Run(feeds, fetch, nil)
	if err != nil {
		return engine.Losses{}, fmt.Errorf("tfbackend: evaluating the objective: %w", err)
	}
	var v [4]float64
	for i := range v {
		f, ok := out[i].Value().(float32)
		if !ok {
			return engine.Losses{}, fmt.Errorf("tfbackend: loss of type %T, want float32", out[i].Value())
		}
		v[i] = float64(f)
	}
	if grad != nil {
		if err := copyOut(grad, out[4]); err != nil {
			return engine.Losses{}, fmt.Errorf("tfbackend: gradient: %w", err)
		}
	}
	p.collect(4 * (len(x.Pix) + len(grad)))
	return engine.Losses{Content: v[0], Style: v[1], TV: v[2], Total: v[3]}, nil
}

// Step implements engine.AdamStepper. The Adam state (m, v and the powers of the
// betas) lives in the session; it is initialised at the first step with that
// step's beta1 and beta2.
func (p *problem) Step(x *engine.Image, opt engine.AdamSettings) error {
	if p.closed {
		return engine.ErrClosed
	}
	feeds, err := p.feeds(x, 4)
	if err != nil {
		return err
	}
	for _, s := range []struct {
		in tf.Output
		v  float64
	}{{p.lr, opt.LearningRate}, {p.beta1, opt.Beta1}, {p.beta2, opt.Beta2}, {p.eps, opt.Epsilon}} {
		t, err := tf.NewTensor(float32(s.v))
		if err != nil {
			return fmt.Errorf("tfbackend: Adam hyperparameter: %w", err)
		}
		feeds[s.in] = t
	}
	if !p.started {
		init := map[tf.Output]*tf.Tensor{p.beta1: feeds[p.beta1], p.beta2: feeds[p.beta2]}
		if _, err := p.sess.Run(init, nil, p.adamInit); err != nil {
			return fmt.Errorf("tfbackend: initialising Adam: %w", err)
		}
		p.started = true
	}
	out, err := p.sess.Run(feeds, []tf.Output{p.stepped}, p.adamStep)
	if err != nil {
		return fmt.Errorf("tfbackend: Adam step: %w", err)
	}
	if err := copyOut(x.Pix, out[0]); err != nil {
		return fmt.Errorf("tfbackend: stepped image: %w", err)
	}
	p.collect(8 * len(x.Pix))
	return nil
}

// Close implements engine.Problem.
func (p *problem) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.targets = nil
	if err := p.sess.Close(); err != nil {
		return fmt.Errorf("tfbackend: closing the session: %w", err)
	}
	return nil
}

package vgg

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/neuralstyle/neuralstyle/internal/matfile"
	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// LayerError says which layer of the network is missing or malformed.
type LayerError struct {
	// Layer is the VGG-19 layer name, like conv5_2.
	Layer string
	// Path is where the layer was found in the file, like layers{30};
	// empty for a missing layer.
	Path string
	Msg  string
}

func (e *LayerError) Error() string {
	if e.Path == "" {
		return "layer " + e.Layer + ": " + e.Msg
	}
	return "layer " + e.Layer + " (" + e.Path + "): " + e.Msg
}

// Load reads the weights of conv1_1..conv5_4 and the mean pixel from a
// MatConvNet VGG-19 .mat file, in either of its two layouts:
//
//   - new: variables layers (a cell of layer structs with fields name and
//     weights = {kernel, bias}) and meta, whose normalization.averageImage
//     is the 1x1x3 mean pixel;
//   - old: layers as above, and a top-level normalization whose
//     averageImage is an HxWx3 image; the mean pixel is its mean over
//     height and width, summed as numpy sums it.
//
// Layers and struct fields are found by name. Only what is needed is read:
// the fully connected layers after conv5_4, most of the file, are skipped
// without being inflated. Kernels get the reference's transpose of their
// first two axes (see Weights). Any other network (VGG-16, a random .mat)
// gives a *LayerError naming the missing or malformed layer.
func Load(path string) (*Weights, error) {
	f, err := matfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vgg: %s: %w", path, err) // errors.Is(err, fs.ErrNotExist) for a missing file
	}
	defer f.Close()
	w, err := load(f.Reader)
	if err != nil {
		return nil, fmt.Errorf("vgg: %s: %w", path, err)
	}
	return w, nil
}

// Verify checks the zlib checksums of every compressed variable of a .mat
// file, inflating all of it: about 3 s of CPU for the 530 MB VGG-19 file,
// against 0.3 s for Load. Load stops after conv5_4 and so cannot check
// them: it finds damage that breaks the deflate data, the MAT-file
// structure or the values (NaN, Inf), but not a change that decodes to
// other valid values, as most single-byte changes of Huffman-coded data do
// (the codes fall back in step within a few bytes). Verify finds those.
func Verify(path string) error {
	f, err := matfile.Open(path)
	if err != nil {
		return fmt.Errorf("vgg: %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Verify(); err != nil {
		return fmt.Errorf("vgg: %s: %w", path, err)
	}
	return nil
}

// loader collects the convolutions in the order of ConvNames.
type loader struct {
	w    Weights
	next int // index in ConvNames of the next convolution expected
	// Kernels as stored, before the transpose. The transpose of one runs on
	// another core while the next is inflated, so there are two buffers.
	scratch [2][]float32
	done    [2]chan struct{} // closed when the transpose from scratch[i] is over
	slot    int
}

// wait waits for the transposes under way.
func (l *loader) wait() {
	for _, d := range l.done {
		if d != nil {
			<-d
		}
	}
}

func load(r *matfile.Reader) (*Weights, error) {
	var l loader
	// Nothing may be returned while a transpose still writes into it.
	defer l.wait()
	var (
		sawLayers             bool
		normMean, metaMean    [3]float32
		haveNorm, haveMetaAvg bool
	)
	for {
		a, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch a.Name {
		case "layers":
			if sawLayers {
				return nil, fmt.Errorf("two variables named layers")
			}
			sawLayers = true
			if err := l.readLayers(a); err != nil {
				return nil, err
			}
		case "normalization":
			// Old layout. The reference prefers it to meta when both exist.
			if haveNorm, err = findMean(a, &normMean); err != nil {
				return nil, err
			}
		case "meta":
			if a.Class != matfile.ClassStruct {
				continue
			}
			for {
				kid, err := a.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, err
				}
				if kid.Field == "normalization" {
					if haveMetaAvg, err = findMean(kid, &metaMean); err != nil {
						return nil, err
					}
					break
				}
			}
		}
	}
	if !sawLayers {
		return nil, errors.New("no variable named layers: not a MatConvNet network")
	}
	if l.next < len(ConvNames) {
		return nil, &LayerError{Layer: ConvNames[l.next], Msg: "missing from layers (is this VGG-19?)"}
	}
	switch {
	case haveNorm:
		l.w.MeanPixel = normMean
	case haveMetaAvg:
		l.w.MeanPixel = metaMean
	default:
		return nil, errors.New("no mean pixel: neither normalization.averageImage nor meta.normalization.averageImage")
	}
	return &l.w, nil
}

// readLayers reads the layer structs of the layers cell up to conv5_4 and
// leaves the rest unread.
func (l *loader) readLayers(a *matfile.Array) error {
	if a.Class != matfile.ClassCell {
		return fmt.Errorf("layers is a %s array, want a cell", a.Class)
	}
	for l.next < len(ConvNames) {
		kid, err := a.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if kid.Class != matfile.ClassStruct || kid.Numel() != 1 {
			continue // not a MatConvNet layer, and so not one we need
		}
		if err := l.readLayer(kid); err != nil {
			return err
		}
	}
	// The header of the layer after conv5_4 (its tag, flags, dimensions and
	// field names) is read too, a few bytes: inflated data that went out of
	// step in conv5_4, and so gave a shifted or garbled stream, is found
	// there. Its data, and the fully connected layers, are not inflated.
	if _, err := a.Next(); err != nil && err != io.EOF {
		return err
	}
	return nil
}

// readLayer reads one layer struct, keeping it if it is the next
// convolution.
func (l *loader) readLayer(s *matfile.Array) error {
	var (
		name, weightsProblem string
		haveName             bool
		conv                 *nn.ConvWeights
		weightsPath          string
		checks               <-chan error
	)
	want := ConvNames[l.next]
	for {
		f, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch f.Field {
		case "name":
			if f.Class != matfile.ClassChar {
				return fmt.Errorf("%s is a %s array, want a char array", f.Path(), f.Class)
			}
			if name, err = f.Text(); err != nil {
				return err
			}
			haveName = true
			// Refused as soon as named, before the rest of the layer is
			// inflated to be skipped.
			if i := slices.Index(ConvNames[:], name); i >= 0 && i < l.next {
				return &LayerError{Layer: name, Path: s.Path(), Msg: "appears twice"}
			} else if i > l.next {
				return &LayerError{Layer: want, Msg: fmt.Sprintf("missing: %s is %s (is this VGG-19?)", s.Path(), name)}
			}
		case "weights":
			// In the new layout the name comes first: other layers' weights
			// are not read. In the old one weights come first, and are read
			// only if they look like a 3x3 convolution; one that cannot be
			// the next (in the layers before conv5_4, only convolutions have
			// weights) is refused there, before its data is inflated.
			if haveName && name != want {
				// Skipping inflates: bound what a layer that VGG-19 gives
				// no weights may make the loader inflate.
				if err := l.skipWeights(f); err != nil {
					return err
				}
				continue
			}
			weightsPath = f.Path()
			if conv, checks, weightsProblem, err = l.readWeights(f); err != nil {
				return err
			}
		}
	}
	if !haveName || name != want {
		return nil
	}
	lerr := func(path, format string, args ...any) error {
		if path == "" {
			path = s.Path()
		}
		return &LayerError{Layer: want, Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	if weightsPath == "" {
		return lerr("", "has no weights field")
	}
	if weightsProblem != "" {
		return lerr(weightsPath, "%s", weightsProblem)
	}
	if checks == nil {
		return lerr(weightsPath, "weights not read") // not reached: readWeights gives conv and checks, a problem or an error
	}
	if err := <-checks; err != nil {
		return lerr(weightsPath, "%v", err)
	}
	l.w.Conv[l.next] = *conv
	l.next++
	return nil
}

// maxSkipped bounds the elements of an array the loader inflates only to
// pass over it, before conv5_4: there, VGG-19 has weights in its
// convolutions only, and none larger than conv5_x's 3x3x512x512.
const maxSkipped = 9 * 512 * 512

func (l *loader) refuseSkip(a *matfile.Array) error {
	return &LayerError{Layer: ConvNames[l.next], Path: a.Path(), Msg: fmt.Sprintf("a %s array in a layer before it, larger than any VGG-19 weights", a.DimsString())}
}

// skipWeights passes over the weights of a layer that is not the next
// convolution, refusing arrays in them too large to be VGG-19's before
// inflating them.
func (l *loader) skipWeights(a *matfile.Array) error {
	if a.Class != matfile.ClassCell {
		if a.Numel() > maxSkipped {
			return l.refuseSkip(a)
		}
		return nil
	}
	for {
		k, err := a.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if k.Numel() > maxSkipped {
			return l.refuseSkip(k)
		}
	}
}

// maxChannels bounds the channels of a convolution: VGG-19 has at most 512,
// and a kernel is allocated from its declared shape.
const maxChannels = 4096

// inputsWanted is the number of input channels the next convolution must
// have, and what they are, for messages.
func (l *loader) inputsWanted() (int, string) {
	if l.next == 0 {
		return 3, "the 3 colour channels"
	}
	in := l.w.Conv[l.next-1].Out
	return in, fmt.Sprintf("the %d outputs of %s", in, ConvNames[l.next-1])
}

// readWeights reads a {kernel, bias} cell. A cell that does not hold a 3x3
// convolution that can be the next one is not an error here (it may belong
// to a layer that is not needed): it is described in problem, and left
// unread. The shape is checked before anything is allocated from it, so that
// a file declaring a huge kernel is refused before it is inflated. The
// kernel's values are checked for NaN and Inf as they are transposed, on
// another core; checks delivers the outcome (nil or the first bad value).
func (l *loader) readWeights(a *matfile.Array) (conv *nn.ConvWeights, checks <-chan error, problem string, err error) {
	if a.Class != matfile.ClassCell || a.Numel() != 2 {
		return nil, nil, fmt.Sprintf("weights is a %s %s array, want a 1x2 cell {kernel, bias}", a.DimsString(), a.Class), nil
	}
	k, err := a.Next()
	if err != nil {
		return nil, nil, "", err
	}
	d := dims4(k.Dims)
	if !k.Class.Numeric() || k.Complex || d == nil || d[0] != 3 || d[1] != 3 || k.Numel() == 0 {
		if k.Numel() > maxSkipped {
			return nil, nil, "", l.refuseSkip(k)
		}
		return nil, nil, fmt.Sprintf("kernel is a %s %s array, want a 3x3xINxOUT single array", k.DimsString(), k.Class), nil
	}
	in, out := d[2], d[3]
	refuse := func(format string, args ...any) error {
		return &LayerError{Layer: ConvNames[l.next], Path: a.Path(), Msg: fmt.Sprintf(format, args...)}
	}
	if want, from := l.inputsWanted(); in != want {
		msg := fmt.Sprintf("kernel is 3x3x%dx%d: %d input channels, want %s", in, out, in, from)
		if k.Numel() > 9*512*512 {
			// Larger than any VGG-19 kernel: refused now rather than
			// inflated to be skipped.
			return nil, nil, "", refuse("%s", msg)
		}
		// In the old layout the name is not known yet: it may be a
		// duplicate, reported as such.
		return nil, nil, msg, nil
	}
	if out > maxChannels {
		return nil, nil, "", refuse("kernel is 3x3x%dx%d: %d output channels, more than %d", in, out, out, maxChannels)
	}
	n := k.Numel()
	slot := l.slot
	l.slot ^= 1
	if l.done[slot] != nil {
		<-l.done[slot]
	}
	if cap(l.scratch[slot]) < n {
		l.scratch[slot] = make([]float32, n)
	}
	raw := l.scratch[slot][:n]
	if err := k.ReadFloat32s(raw); err != nil {
		return nil, nil, "", err
	}
	conv = &nn.ConvWeights{In: in, Out: out, Kernel: make([]float32, n)}
	done := make(chan struct{})
	l.done[slot] = done
	kernel := conv.Kernel
	result := make(chan error, 1)
	go func() {
		bad := transposeKernel(kernel, raw, in, out)
		close(done)
		if bad >= 0 {
			result <- fmt.Errorf("weights: %s at index %d", nonFinite(raw[bad]), bad)
		}
		close(result)
	}()

	b, err := a.Next()
	if err != nil {
		return nil, nil, "", err
	}
	if !b.Class.Numeric() || b.Complex || b.Numel() != out {
		return nil, nil, fmt.Sprintf("bias is a %s %s array, want %d values", b.DimsString(), b.Class, out), nil
	}
	if conv.Bias, err = b.Float32s(); err != nil {
		return nil, nil, "", err
	}
	if i := firstNonFinite(conv.Bias); i >= 0 {
		if kerr := <-result; kerr != nil {
			return nil, nil, kerr.Error(), nil // the kernel's comes first in the file
		}
		return nil, nil, fmt.Sprintf("bias: %s at index %d", nonFinite(conv.Bias[i]), i), nil
	}
	return conv, result, "", nil
}

// firstNonFinite is the index of the first NaN or infinity in x, or -1.
func firstNonFinite[T float32 | float64](x []T) int {
	for i, v := range x {
		if v-v != 0 { // NaN or ±Inf: v-v is NaN; for finite v it is 0
			return i
		}
	}
	return -1
}

func nonFinite[T float32 | float64](v T) string {
	if v != v {
		return "NaN"
	}
	return fmt.Sprint(float64(v))
}

// dims4 pads dims to four with trailing ones (MATLAB drops trailing
// singleton dimensions), or returns nil if there are more than four that
// are not 1.
func dims4(dims []int) []int {
	d := []int{1, 1, 1, 1}
	for i, v := range dims {
		if i >= 4 {
			if v != 1 {
				return nil
			}
			continue
		}
		d[i] = v
	}
	return d
}

// transposeKernel sets dst[((h*3+w)*in+i)*out+o] to the MATLAB array
// src(w, h, i, o) (column-major 3x3xinxout): HWIO after swapping the first
// two axes, as the reference does. Viewing src as an out x (9*in) matrix,
// this is a transpose with its rows permuted, done in tiles so that both
// sides stay in cache. It returns the index in src of the first NaN or
// infinity, or -1: the check rides on the pass that reads every value.
func transposeKernel(dst, src []float32, in, out int) int {
	const tile = 16
	rows := 9 * in
	perm := make([]int, rows) // src column r -> dst row
	for r := range perm {
		i, rem := r/9, r%9
		w, h := rem%3, rem/3
		perm[r] = ((h*3+w)*in + i) * out
	}
	// Finite values give v-v == 0, so the sum stays 0 unless a NaN or an
	// infinity went in: one subtraction and one addition a value, no branch.
	var bad float32
	for o0 := 0; o0 < out; o0 += tile {
		o1 := min(o0+tile, out)
		for r0 := 0; r0 < rows; r0 += tile {
			r1 := min(r0+tile, rows)
			for o := o0; o < o1; o++ {
				s := src[o*rows : (o+1)*rows]
				for r := r0; r < r1; r++ {
					v := s[r]
					bad += v - v
					dst[perm[r]+o] = v
				}
			}
		}
	}
	if bad == 0 {
		return -1
	}
	return firstNonFinite(src) // rare: find which one
}

// findMean looks for the averageImage field of a normalization struct and
// computes the mean pixel from it.
func findMean(a *matfile.Array, mean *[3]float32) (bool, error) {
	if a.Class != matfile.ClassStruct {
		return false, nil
	}
	for {
		f, err := a.Next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if f.Field == "averageImage" {
			return true, meanPixel(f, mean)
		}
	}
}

// maxMeanImage bounds the pixels of an averageImage, which is read whole
// into memory: a mean image has the size of the network's input, 224x224 in
// the old VGG-19 file (the new one stores the 1x1 mean pixel), and no
// MatConvNet ImageNet model takes inputs larger than a few hundred pixels a
// side. 1024x1024 is over four times VGG-19's side, and its 3 million values
// (25 MB as double) stay well inside the loader's memory target; a file
// declaring more is refused before anything is allocated or inflated.
const maxMeanImage = 1024 * 1024

// meanPixel sets mean to the per-channel mean of an HxWx3 image (1x1x3 in
// the new layout), summing as numpy.mean does on the array scipy loads.
func meanPixel(a *matfile.Array, mean *[3]float32) error {
	d := a.Dims
	if !a.Class.Numeric() || a.Complex || len(d) > 3 || a.Numel() == 0 || (a.Numel() != 3 && (len(d) != 3 || d[2] != 3)) || a.Numel() > 3*maxMeanImage {
		return fmt.Errorf("%s is a %s %s array, want an HxWx3 image of at most 1024x1024 pixels", a.Path(), a.DimsString(), a.Class)
	}
	n := a.Numel() / 3
	// scipy's arrays are Fortran-ordered, so numpy's reduction over the
	// first two axes runs over each channel's contiguous H*W values with its
	// pairwise summation, in float32 for single data and float64 for double.
	if a.Class == matfile.ClassDouble {
		v, err := a.Float64s()
		if err != nil {
			return err
		}
		if i := firstNonFinite(v); i >= 0 {
			return fmt.Errorf("%s: %s at index %d", a.Path(), nonFinite(v[i]), i)
		}
		for c := range 3 {
			mean[c] = float32(pairwiseSum(v[c*n:(c+1)*n]) / float64(n))
		}
		return nil
	}
	v, err := a.Float32s()
	if err != nil {
		return err
	}
	if i := firstNonFinite(v); i >= 0 {
		return fmt.Errorf("%s: %s at index %d", a.Path(), nonFinite(v[i]), i)
	}
	for c := range 3 {
		mean[c] = pairwiseSum(v[c*n:(c+1)*n]) / float32(n)
	}
	return nil
}

// pairwiseSum adds x as numpy's pairwise_sum does, so that means agree with
// the reference to the last bit.
func pairwiseSum[T float32 | float64](x []T) T {
	n := len(x)
	switch {
	case n < 8:
		var s T
		for _, v := range x {
			s += v
		}
		return s
	case n <= 128:
		var r [8]T
		copy(r[:], x[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += x[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += x[i]
		}
		return s
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(x[:n2]) + pairwiseSum(x[n2:])
}

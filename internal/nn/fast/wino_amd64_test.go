//go:build amd64 && !purego

package fast

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// TestWinogradEverywhere runs the conformance suite with every direction
// as Winograd, whatever its size and channels, and bands of the fewest tile
// rows: one-pixel images, single tile rows, odd heights and widths,
// partial vectors, partial channel blocks and many band edges.
func TestWinogradEverywhere(t *testing.T) {
	for _, k := range Variants() {
		v := *k.(*kernels).v
		v.winoMinChan, v.winoMinWidth, v.winoBandBytes = 1, 1, 1
		t.Run(k.Name(), func(t *testing.T) { nntest.TestKernels(t, newKernels(&v)) })
	}
}

// TestWinogradBands checks Winograd on images wide enough for several
// bands across a tile row (the last one partial) and several down, against
// the float64 references.
func TestWinogradBands(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, k := range Variants() {
		v := *k.(*kernels).v
		v.winoMinChan, v.winoMinWidth, v.winoBandBytes = 1, 1, 1
		kk := newKernels(&v)
		for _, s := range [][4]int{{9, 230, 5, 7}, {20, 141, 16, 24}, {6, 64, 24, 16}} {
			h, w, ci, co := s[0], s[1], s[2], s[3]
			t.Run(fmt.Sprintf("%s/%dx%d/%dto%d", k.Name(), h, w, ci, co), func(t *testing.T) {
				wt := nntest.RandomConv(rng, ci, co)
				in := nntest.RandomSlice(rng, ci*h*w, 1)
				dOut := nntest.RandomSlice(rng, co*h*w, 1)
				c := kk.NewConv(wt, h, w)
				j := c.(*conv).fwd.(*winoJob)
				if j.segs < 2 && j.nBands < 2 {
					t.Fatalf("one band only (%d segments, %d bands)", j.segs, j.nBands)
				}
				out := make([]float32, co*h*w)
				c.Forward(out, in)
				if e := nntest.RelErr(out, nntest.RefConvForward(wt, in, h, w)); e > nntest.Tol {
					t.Errorf("Forward: relative error %.3g > %g", e, nntest.Tol)
				}
				dIn := make([]float32, ci*h*w)
				c.BackwardInput(dIn, dOut)
				if e := nntest.RelErr(dIn, nntest.RefConvBackwardInput(wt, dOut, h, w)); e > nntest.Tol {
					t.Errorf("BackwardInput: relative error %.3g > %g", e, nntest.Tol)
				}
			})
		}
	}
}

// TestWinogradLayerError measures, on each VGG-19 layer's channel counts,
// the error of Winograd and of the direct kernels against the float64
// references (relative to the largest reference magnitude; logged with -v)
// and checks both stay within nntest.Tol. The sizes are small (the error
// grows with the channels summed, not with the image) but span several
// tiles and bands.
func TestWinogradLayerError(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, k := range Variants() {
		wv := *k.(*kernels).v
		wv.winoMinChan, wv.winoMinWidth = 1, 1
		dv := wv
		dv.winoIn = nil
		kw, kd := newKernels(&wv), newKernels(&dv)
		for _, l := range nntest.VGGLayers[1:] {
			size := max(8, 2048/l.In)
			wt := nntest.RandomConv(rng, l.In, l.Out)
			n := size * size
			in := nntest.RandomSlice(rng, l.In*n, 1)
			for i, x := range in {
				in[i] = max(0, x) // post-ReLU activations, as in the network
			}
			dOut := nntest.RandomSlice(rng, l.Out*n, 1)
			wantF := nntest.RefConvForward(wt, in, size, size)
			wantB := nntest.RefConvBackwardInput(wt, dOut, size, size)
			var errs [4]float64
			for i, kk := range []*kernels{kd, kw} {
				c := kk.NewConv(wt, size, size)
				out := make([]float32, l.Out*n)
				c.Forward(out, in)
				dIn := make([]float32, l.In*n)
				c.BackwardInput(dIn, dOut)
				errs[i], errs[2+i] = nntest.RelErr(out, wantF), nntest.RelErr(dIn, wantB)
			}
			t.Logf("%s %s %dx%d: forward error direct %.2g, Winograd %.2g; backward direct %.2g, Winograd %.2g",
				k.Name(), l.Name, size, size, errs[0], errs[1], errs[2], errs[3])
			for i, e := range errs {
				if e > nntest.Tol {
					t.Errorf("%s %s: %s error %.3g > %g", k.Name(), l.Name, []string{"direct forward", "Winograd forward", "direct backward", "Winograd backward"}[i], e, nntest.Tol)
				}
			}
		}
	}
}

// TestWinogradManyParts runs Winograd with GOMAXPROCS 16 (more parts than
// this machine may have cores): every band boundary and worker buffer of a
// 16-way split.
func TestWinogradManyParts(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))
	for _, k := range Variants() {
		v := *k.(*kernels).v
		v.winoMinChan, v.winoMinWidth = 1, 1
		kk := newKernels(&v)
		if kk.parts != 16 {
			t.Fatalf("%d parts, want 16", kk.parts)
		}
		t.Run(k.Name(), func(t *testing.T) { nntest.TestKernels(t, kk) })
		rng := rand.New(rand.NewPCG(19, 20))
		const h, w, ci, co = 40, 130, 16, 20
		wt := nntest.RandomConv(rng, ci, co)
		in := nntest.RandomSlice(rng, ci*h*w, 1)
		c := kk.NewConv(wt, h, w)
		if nb := c.(*conv).fwd.(*winoJob).nBands; nb < 16 {
			t.Errorf("%s: %d bands for 16 parts", k.Name(), nb)
		}
		out := make([]float32, co*h*w)
		c.Forward(out, in)
		if e := nntest.RelErr(out, nntest.RefConvForward(wt, in, h, w)); e > nntest.Tol {
			t.Errorf("%s: Forward: relative error %.3g > %g", k.Name(), e, nntest.Tol)
		}
	}
}

// TestWinogradEdgeMasks checks that the tiles at the left and right edges,
// transformed from the input with masked loads, give exactly what the
// zero-bordered copy gives, on widths that leave each edge vector partly
// or (both edges in one vector) wholly outside, in both directions.
func TestWinogradEdgeMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, k := range Variants() {
		v := *k.(*kernels).v
		v.winoMinChan, v.winoMinWidth = 1, 1
		padded := v
		padded.winoInM = nil
		km, kp := newKernels(&v), newKernels(&padded)
		for _, s := range [][2]int{{7, 45}, {12, 24}, {10, 100}, {9, 13}, {16, 64}} {
			h, w := s[0], s[1]
			const ci, co = 17, 19
			wt := nntest.RandomConv(rng, ci, co)
			in := nntest.RandomSlice(rng, ci*h*w, 1)
			dOut := nntest.RandomSlice(rng, co*h*w, 1)
			cm, cp := km.NewConv(wt, h, w), kp.NewConv(wt, h, w)
			outM, outP := make([]float32, co*h*w), make([]float32, co*h*w)
			cm.Forward(outM, in)
			cp.Forward(outP, in)
			dInM, dInP := make([]float32, ci*h*w), make([]float32, ci*h*w)
			cm.BackwardInput(dInM, dOut)
			cp.BackwardInput(dInP, dOut)
			for name, pair := range map[string][2][]float32{"Forward": {outM, outP}, "BackwardInput": {dInM, dInP}} {
				for i := range pair[0] {
					if pair[0][i] != pair[1][i] {
						t.Errorf("%s %dx%d %s: element %d is %g masked, %g padded", k.Name(), h, w, name, i, pair[0][i], pair[1][i])
						break
					}
				}
			}
		}
	}
}

// TestWinogradTailGroups checks that a band's last, partial GEMM group,
// computed by the narrower kernels, gives exactly what the full kernel
// gives with its spare vectors padded, on shapes whose bands' vectors are
// not a multiple of the kernel's.
func TestWinogradTailGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, k := range Variants() {
		v := *k.(*kernels).v
		full := v
		full.wgemmTail = nil
		kt, kf := newKernels(&v), newKernels(&full)
		tails := 0
		for _, s := range [][4]int{{32, 64, 32, 40}, {16, 32, 48, 24}, {10, 100, 20, 30}, {64, 96, 16, 16}} {
			h, w, ci, co := s[0], s[1], s[2], s[3]
			wt := nntest.RandomConv(rng, ci, co)
			in := nntest.RandomSlice(rng, ci*h*w, 1)
			dOut := nntest.RandomSlice(rng, co*h*w, 1)
			ct, cf := kt.NewConv(wt, h, w), kf.NewConv(wt, h, w)
			for _, d := range []dirJob{ct.(*conv).fwd, ct.(*conv).bwd} {
				if j, ok := d.(*winoJob); ok && (j.bandTR*j.bandTV)%j.P != 0 {
					tails++
				}
			}
			outT, outF := make([]float32, co*h*w), make([]float32, co*h*w)
			ct.Forward(outT, in)
			cf.Forward(outF, in)
			dInT, dInF := make([]float32, ci*h*w), make([]float32, ci*h*w)
			ct.BackwardInput(dInT, dOut)
			cf.BackwardInput(dInF, dOut)
			for name, pair := range map[string][2][]float32{"Forward": {outT, outF}, "BackwardInput": {dInT, dInF}} {
				for i := range pair[0] {
					if pair[0][i] != pair[1][i] {
						t.Errorf("%s %dx%d %dto%d %s: element %d is %g with tails, %g padded", k.Name(), h, w, ci, co, name, i, pair[0][i], pair[1][i])
						break
					}
				}
			}
		}
		if tails == 0 {
			t.Errorf("%s: no shape has a partial group", k.Name())
		}
	}
}

// TestWinogradBlockedWeights checks that U in blocks of convC outputs
// (wgemmB backward) gives exactly what the unblocked layout gives, on
// channel counts that leave a partial block of outputs and of inputs,
// rows after the last full tile, and partial GEMM groups.
func TestWinogradBlockedWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, k := range Variants() {
		v := *k.(*kernels).v
		if v.wgemmB == nil {
			continue // AVX2 keeps U unblocked
		}
		v.winoMinChan, v.winoMinWidth = 1, 1
		flat := v
		flat.wgemmB = nil
		kb, kf := newKernels(&v), newKernels(&flat)
		for _, s := range [][4]int{{12, 40, 17, 23}, {16, 64, 64, 64}, {9, 30, 6, 13}, {20, 72, 40, 28}} {
			h, w, ci, co := s[0], s[1], s[2], s[3]
			wt := nntest.RandomConv(rng, ci, co)
			in := nntest.RandomSlice(rng, ci*h*w, 1)
			dOut := nntest.RandomSlice(rng, co*h*w, 1)
			cb, cf := kb.NewConv(wt, h, w), kf.NewConv(wt, h, w)
			outB, outF := make([]float32, co*h*w), make([]float32, co*h*w)
			cb.Forward(outB, in)
			cf.Forward(outF, in)
			dInB, dInF := make([]float32, ci*h*w), make([]float32, ci*h*w)
			cb.BackwardInput(dInB, dOut)
			cf.BackwardInput(dInF, dOut)
			for name, pair := range map[string][2][]float32{"Forward": {outB, outF}, "BackwardInput": {dInB, dInF}} {
				for i := range pair[0] {
					if pair[0][i] != pair[1][i] {
						t.Errorf("%s %dx%d %dto%d %s: element %d is %g blocked, %g unblocked", k.Name(), h, w, ci, co, name, i, pair[0][i], pair[1][i])
						break
					}
				}
			}
		}
	}
}

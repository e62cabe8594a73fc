//go:build amd64 && !purego

package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// BenchmarkMaxPool compares the AVX-512 and AVX2 rows with the Go loop on conv1's
// activations at 512x512 (forward, then backward).
func BenchmarkMaxPool(b *testing.B) {
	if !poolAVX512 {
		b.Skip("no AVX-512")
	}
	defer func(a, b bool) { poolAVX512, gateAVX2 = a, b }(poolAVX512, gateAVX2)
	const c, h, w = 64, 512, 512
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]float32, c*h*w)
	for i := range in {
		in[i] = max(0, float32(rng.NormFloat64()))
	}
	out := make([]float32, c*h*w/4)
	arg := make([]uint8, len(out))
	for _, l := range []struct {
		name         string
		avx512, avx2 bool
	}{{"go", false, false}, {"avx2", false, true}, {"avx512", true, false}} {
		poolAVX512, gateAVX2 = l.avx512, l.avx2
		name := l.name
		b.Run(name+"/forward", func(b *testing.B) {
			for b.Loop() {
				MaxPool(out, arg, in, c, h, w)
			}
		})
		b.Run(name+"/backward", func(b *testing.B) {
			for b.Loop() {
				MaxPoolBackward(in, arg, out, c, h, w)
			}
		})
	}
}

// TestMaxPoolRowsFast checks the AVX-512 and AVX2 rows against the Go loop
// on data with many ties (values from a few levels), so that the
// first-maximum rule is exercised lane by lane.
func TestMaxPoolRowsFast(t *testing.T) {
	defer func(a, b bool) { poolAVX512, gateAVX2 = a, b }(poolAVX512, gateAVX2)
	const n = 16*5 + 11
	rng := rand.New(rand.NewPCG(3, 4))
	r0, r1 := make([]float32, 2*n), make([]float32, 2*n)
	for i := range r0 {
		r0[i], r1[i] = float32(rng.IntN(3)), float32(rng.IntN(3))
	}
	run := func(avx512, avx2 bool) ([]float32, []uint8, []float32) {
		poolAVX512, gateAVX2 = avx512, avx2
		j := &poolJob{op: opMaxFwd}
		rows := append(append([]float32(nil), r0...), r1...)
		out, arg := make([]float32, n), make([]uint8, n)
		j.rowPairs(rows, out, arg, 0, 2*n)
		j.op = opMaxBwd
		g := make([]float32, n)
		for i := range g {
			g[i] = float32(i + 1)
		}
		back := make([]float32, 4*n)
		for i := range back {
			back[i] = -1
		}
		j.rowPairs(back, g, arg, 0, 2*n)
		return out, arg, back
	}
	o1, a1, b1 := run(false, false)
	for _, l := range []struct {
		name             string
		avx512, avx2, ok bool
	}{{"avx2", false, true, cpu.X86.HasAVX2}, {"avx512", true, false, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW}} {
		if !l.ok {
			continue
		}
		o2, a2, b2 := run(l.avx512, l.avx2)
		for i := range o1 {
			if o1[i] != o2[i] || a1[i] != a2[i] {
				t.Fatalf("%s: window %d: %v at %d, Go %v at %d", l.name, i, o2[i], a2[i], o1[i], a1[i])
			}
		}
		for i := range b1 {
			if b1[i] != b2[i] {
				t.Fatalf("%s: backward cell %d: %v, Go %v", l.name, i, b2[i], b1[i])
			}
		}
	}
}

// TestGatesFast checks the AVX-512 and AVX2 gates against the Go loops on
// values that include zeros of both signs and NaN, at lengths with
// remainders.
func TestGatesFast(t *testing.T) {
	defer func(a, b bool) { poolAVX512, gateAVX2 = a, b }(poolAVX512, gateAVX2)
	type level struct {
		name             string
		avx512, avx2, ok bool
	}
	levels := []level{{"go", false, false, true}, {"avx2", false, true, cpu.X86.HasAVX2},
		{"avx512", true, false, cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW}}
	rng := rand.New(rand.NewPCG(5, 6))
	nan := float32(math.NaN())
	for _, n := range []int{7, 15, 16, 64, 200, 1<<15 + 77} {
		act := make([]float32, n)
		for i := range act {
			act[i] = []float32{0, float32(math.Copysign(0, -1)), nan, 1, -1, 2.5}[rng.IntN(6)]
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(i + 1)
		}
		var ref struct {
			g, g2 []float32
			m     []uint64
		}
		for k, l := range levels {
			if !l.ok {
				continue
			}
			poolAVX512, gateAVX2 = l.avx512, l.avx2
			g := append([]float32(nil), d...)
			ReLUBackward(g, act)
			m := make([]uint64, (n+63)/64)
			PositiveMask(m, act)
			g2 := append([]float32(nil), d...)
			ReLUBackwardMask(g2, m)
			if k == 0 {
				ref.g, ref.g2, ref.m = g, g2, m
				continue
			}
			for i := 0; i < n; i++ {
				if math.Float32bits(g[i]) != math.Float32bits(ref.g[i]) || g2[i] != ref.g2[i] {
					t.Fatalf("%s, n=%d, element %d (act %v): %v %v, Go %v %v", l.name, n, i, act[i], g[i], g2[i], ref.g[i], ref.g2[i])
				}
			}
			for i := range m {
				if m[i] != ref.m[i] {
					t.Fatalf("%s, n=%d: mask word %d: %x, Go %x", l.name, n, i, m[i], ref.m[i])
				}
			}
		}
	}
}

// BenchmarkGates compares the AVX-512 gates with the Go loops on conv1's
// activations at 512x512.
func BenchmarkGates(b *testing.B) {
	if !poolAVX512 {
		b.Skip("no AVX-512")
	}
	defer func(a, b bool) { poolAVX512, gateAVX2 = a, b }(poolAVX512, gateAVX2)
	const n = 64 * 512 * 512
	rng := rand.New(rand.NewPCG(7, 8))
	act := make([]float32, n)
	for i := range act {
		act[i] = max(0, float32(rng.NormFloat64()))
	}
	d := make([]float32, n)
	mask := make([]uint64, n/64)
	for _, l := range []struct {
		name         string
		avx512, avx2 bool
	}{{"go", false, false}, {"avx2", false, true}, {"avx512", true, false}} {
		poolAVX512, gateAVX2 = l.avx512, l.avx2
		name := l.name
		b.Run(name+"/ReLUBackward", func(b *testing.B) {
			for b.Loop() {
				ReLUBackward(d, act)
			}
		})
		b.Run(name+"/PositiveMask", func(b *testing.B) {
			for b.Loop() {
				PositiveMask(mask, act)
			}
		})
		b.Run(name+"/ReLUBackwardMask", func(b *testing.B) {
			for b.Loop() {
				ReLUBackwardMask(d, mask)
			}
		})
	}
}

// TestForcedBelowAVX512 checks which NEURALSTYLE_KERNELS values keep the
// AVX-512 pooling and gates off.
func TestForcedBelowAVX512(t *testing.T) {
	for env, want := range map[string]bool{"": false, "avx512": false, "avx2": true, " AVX2 ": true, "portable": true, "bogus": false} {
		if got := forcedBelowAVX512(env); got != want {
			t.Errorf("%q: %v, want %v", env, got, want)
		}
	}
}

package fast

import (
	"fmt"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/nn/nntest"
)

// TestVariants runs the conformance suite on every variant this CPU
// supports.
func TestVariants(t *testing.T) {
	for _, k := range Variants() {
		t.Run(k.Name(), func(t *testing.T) { nntest.TestKernels(t, k) })
	}
}

// TestNew checks that New picks the first (fastest) variant when there is
// one.
func TestNew(t *testing.T) {
	k, ok := New()
	vs := Variants()
	if ok != (len(vs) > 0) {
		t.Fatalf("New reports %v with %d variants", ok, len(vs))
	}
	if ok && k.Name() != vs[0].Name() {
		t.Errorf("New gives %s, want %s", k.Name(), vs[0].Name())
	}
}

// BenchmarkVariants measures every variant on VGG-19's layer shapes.
func BenchmarkVariants(b *testing.B) {
	for _, k := range Variants() {
		b.Run(k.Name(), func(b *testing.B) { nntest.BenchmarkKernels(b, k) })
	}
}

// TestBlockings runs the conformance suite on the alternative AVX-512
// register blockings that BenchmarkBlocking compares.
func TestBlockings(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no AVX-512")
	}
	for _, kc := range []struct {
		c, p  int
		f, g  func(*convArgs)
		group int
	}{{8, 3, zconv8x3t9, zconv8x3t1, 3}, {8, 2, zconv8x2t9, zconv8x2t1, 1 << 20}, {12, 2, zconv12x2t9, zconv12x2t1, 2}, {4, 6, zconv4x6t9, zconv4x6t1, 1}} {
		v := *avx512Variant
		v.convC, v.convP, v.conv, v.gemm, v.tileGroup = kc.c, kc.p, kc.f, kc.g, kc.group
		t.Run(fmt.Sprintf("%dx%d", kc.c, kc.p), func(t *testing.T) { nntest.TestKernels(t, newKernels(&v)) })
	}
}

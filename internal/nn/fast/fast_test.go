package fast

import (
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

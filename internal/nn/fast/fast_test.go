package fast

import (
	"strings"
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
	t.Setenv(EnvKernels, "")
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

// TestChoose checks the kernel sets NEURALSTYLE_KERNELS selects and the
// errors for unknown or unavailable ones.
func TestChoose(t *testing.T) {
	vs := Variants()
	has := map[string]bool{}
	for _, v := range vs {
		has[v.Name()] = true
	}
	for _, tc := range []struct {
		env, want string // want "" : portable
		err       bool
	}{
		{"portable", "", false},
		{" Portable ", "", false},
		{"avx512", "avx512", !has["avx512"]},
		{"AVX2", "avx2", !has["avx2"]},
		{"sse", "", true},
	} {
		k, ok, err := choose(tc.env)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v, want error %v", tc.env, err, tc.err)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), EnvKernels) {
				t.Errorf("%q: error %q does not name %s", tc.env, err, EnvKernels)
			}
			continue
		}
		if got := ""; ok {
			got = k.Name()
			if got != tc.want {
				t.Errorf("%q: got %s, want %s", tc.env, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%q: got portable, want %s", tc.env, tc.want)
		}
	}
	t.Setenv(EnvKernels, "bogus")
	k, ok := New()
	if ok != (len(vs) > 0) || (ok && k.Name() != vs[0].Name()) {
		t.Errorf("New with an invalid %s does not fall back to the fastest set", EnvKernels)
	}
}

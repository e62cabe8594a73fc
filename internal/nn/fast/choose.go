package fast

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/neuralstyle/neuralstyle/internal/nn"
)

// EnvKernels names the environment variable that forces a kernel set, for
// benchmarks and bug reports: avx512, avx2 or portable.
const EnvKernels = "NEURALSTYLE_KERNELS"

// Choose returns the kernel set that NEURALSTYLE_KERNELS names, or the
// fastest this CPU supports when it is unset or empty. ok is false where the
// portable Go kernels are to be used (asked for, or no SIMD set available).
// The error names an unknown set or one that this CPU or build lacks.
func Choose() (k nn.Kernels, ok bool, err error) {
	return choose(os.Getenv(EnvKernels))
}

func choose(name string) (nn.Kernels, bool, error) {
	vs := Variants()
	name = strings.ToLower(strings.TrimSpace(name))
	switch name {
	case "":
		if len(vs) == 0 {
			return nil, false, nil
		}
		return vs[0], true, nil
	case "portable":
		return nil, false, nil
	case "avx512", "avx2":
		for _, v := range vs {
			if v.Name() == name {
				return v, true, nil
			}
		}
		return nil, false, fmt.Errorf("%s=%s: this CPU or build lacks %s (available: %s)", EnvKernels, name, name, available(vs))
	}
	return nil, false, fmt.Errorf("%s=%q: unknown kernel set (available: %s)", EnvKernels, name, available(vs))
}

func available(vs []nn.Kernels) string {
	var names []string
	for _, v := range vs {
		names = append(names, v.Name())
	}
	return strings.Join(append(names, "portable"), ", ")
}

var warnOnce sync.Once

// New returns the kernels Choose picks. Where NEURALSTYLE_KERNELS is
// invalid it says so on standard error, once, and returns the fastest set;
// callers that want the error call Choose.
func New() (nn.Kernels, bool) {
	k, ok, err := Choose()
	if err != nil {
		warnOnce.Do(func() { fmt.Fprintf(os.Stderr, "neuralstyle: %v; using the default kernels\n", err) })
		k, ok, _ = choose("")
	}
	return k, ok
}

//go:build linux && (amd64 || arm64) && cuda

package cuda

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// libsAt is a search result with the driver at path and nothing else.
func libsAt(path string) Libraries {
	libs := Libraries{Places: []Place{{Label: "NEURALSTYLE_CUDA_LIBS=" + filepath.Dir(path)}}}
	for k := Kind(0); k < numKinds; k++ {
		libs.Lib[k] = Library{Kind: k, Names: k.Names("linux")}
	}
	libs.Lib[Driver].Path = path
	return libs
}

func TestOpenNotELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "libcuda.so.1")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not a shared library\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(libsAt(path))
	var oe *OpenError
	if !errors.As(err, &oe) || oe.Kind != Driver {
		t.Fatalf("error %v (%T), want an *OpenError for the driver", err, err)
	}
	msg := err.Error()
	for _, s := range []string{"cuda: CUDA driver " + path + ": invalid ELF header; searched NEURALSTYLE_CUDA_LIBS="} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q lacks %q", msg, s)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
}

// TestOpenNotCUDA opens the C library as the driver: it loads, but has
// none of the driver's functions, and nothing may be called.
func TestOpenNotCUDA(t *testing.T) {
	_, err := Open(libsAt("libc.so.6"))
	want := "cuda: CUDA driver libc.so.6: not a CUDA library: no symbol cuDeviceGet, cuDeviceGetCount, cuDeviceGetName, " +
		"cuDeviceTotalMem_v2, cuDriverGetVersion, cuInit; searched NEURALSTYLE_CUDA_LIBS=."
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

func TestLookupMissingSymbol(t *testing.T) {
	h, err := loadLibrary("libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lookup(h, "cuInit"); err == nil || !strings.Contains(err.Error(), "cuInit") {
		t.Errorf("lookup of a missing symbol: %v, want an error naming it", err)
	}
	if addr, err := lookup(h, "getpid"); err != nil || addr == 0 {
		t.Errorf("lookup of getpid: %#x, %v", addr, err)
	}
}

func TestOpenNoDriver(t *testing.T) {
	_, err := Open(libsAt(""))
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.HasPrefix(err.Error(), "cuda: no CUDA driver: looked for libcuda.so.1 in NEURALSTYLE_CUDA_LIBS=") {
		t.Errorf("error %v (%T), want a *NotFoundError for the driver", err, err)
	}
}

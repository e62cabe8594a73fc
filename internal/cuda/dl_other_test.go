//go:build !((linux || darwin || windows) && (amd64 || arm64)) || !cuda

package cuda

import (
	"errors"
	"strings"
	"testing"
)

// TestProbeWithoutDlopen: a build that cannot load libraries says so,
// whatever is installed.
func TestProbeWithoutDlopen(t *testing.T) {
	err := Probe(SystemEnv())
	if !errors.Is(err, errNoDlopen) || !strings.HasPrefix(err.Error(), "cuda: loading libraries at run time is not in this build") {
		t.Errorf("error %v", err)
	}
	if _, err := Open(Libraries{Lib: [numKinds]Library{Driver: {Kind: Driver, Path: "/usr/lib/libcuda.so.1"}}}); !errors.Is(err, errNoDlopen) {
		t.Errorf("Open: %v", err)
	}
}

//go:build linux && amd64 && cuda

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCUDABackendReports runs --backend cuda on internal/cuda's fake CUDA
// library (put first in the search by NEURALSTYLE_CUDA_LIBS): the command
// reports what it found on one line, exits with status 1 and writes nothing.
func TestCUDABackendReports(t *testing.T) {
	lib, err := os.ReadFile("../../internal/cuda/testdata/fakecuda/libfakecuda_linux_amd64.so")
	if err != nil {
		t.Fatal(err)
	}
	libs := t.TempDir()
	for _, n := range []string{"libcuda.so.1", "libcublas.so.12", "libcudnn.so.9"} {
		if err := os.WriteFile(filepath.Join(libs, n), lib, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("NEURALSTYLE_CUDA_LIBS", libs)
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, baseArgs(dir, "--backend", "cuda")...)
	want := "neuralstyle: engine: cuda: found driver 12.4 (Fake GPU 0, 140 GiB), cuBLAS 12.1, cuDNN 9.1; " +
		"the CUDA engine has not run on a GPU yet and is not in this build\n"
	if code != exitRuntime || stderr != want {
		t.Errorf("exit %d, stderr\n%s\nwant exit %d, stderr\n%s", code, stderr, exitRuntime, want)
	}
	if strings.Contains(stdout, "Iteration") {
		t.Errorf("iterations ran: %s", stdout)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}

//go:build linux && amd64 && cuda

package cuda

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fake library of testdata/fakecuda (built by its build.sh) stands in
// for the driver, cuBLAS and cuDNN: the real calls through purego run, with
// a GPU's answers.
const fakeLib = "testdata/fakecuda/libfakecuda_linux_amd64.so"

// fakeInstall copies the fake library into a new folder under the given
// names (a fresh file is a fresh load, with the library's default answers)
// and returns the folder.
func fakeInstall(t *testing.T, names ...string) string {
	t.Helper()
	b, err := os.ReadFile(fakeLib)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fakeConfigure sets what the fake driver at path answers.
func fakeConfigure(t *testing.T, path string, initResult, devices int32, errorNames bool) {
	t.Helper()
	h, err := loadLibrary(path)
	if err != nil {
		t.Fatal(err)
	}
	var configure func(init, devices, errorNames int32)
	if err := bindAll(h, map[string]any{"fakecuda_configure": &configure}); err != nil {
		t.Fatal(err)
	}
	names := int32(0)
	if errorNames {
		names = 1
	}
	configure(initResult, devices, names)
}

// fakeEnv searches only dir (the standard folders are under an empty root).
func fakeEnv(t *testing.T, dir string) Env {
	root := t.TempDir()
	return Env{GOOS: "linux", GOARCH: "amd64", Root: root, Home: root,
		Getenv: func(k string) string {
			if k == LibsVar {
				return dir
			}
			return ""
		}}
}

func TestProbeFake(t *testing.T) {
	all := []string{"libcuda.so.1", "libcublas.so.12", "libcudnn.so.9"}
	cases := []struct {
		name      string
		files     []string
		configure func(t *testing.T, driver string)
		want      string // $D is the folder
		wantErr   error
	}{
		{
			name:    "all found",
			files:   all,
			want:    "cuda: found driver 12.4 (Fake GPU 0, 140 GiB), cuBLAS 12.1, cuDNN 9.1; the CUDA engine has not run on a GPU yet and is not in this build",
			wantErr: ErrNotInBuild,
		},
		{
			name:      "three GPUs",
			files:     all,
			configure: func(t *testing.T, d string) { fakeConfigure(t, d, 0, 3, true) },
			want:      "cuda: found driver 12.4 (Fake GPU 0, 140 GiB, and 2 more devices), cuBLAS 12.1, cuDNN 9.1; the CUDA engine has not run on a GPU yet and is not in this build",
			wantErr:   ErrNotInBuild,
		},
		{
			name:    "no cuDNN",
			files:   all[:2],
			want:    "cuda: found driver 12.4 (Fake GPU 0, 140 GiB), cuBLAS 12.1; no cuDNN: looked for libcudnn.so.9, libcudnn.so.8 in NEURALSTYLE_CUDA_LIBS=$D, LD_LIBRARY_PATH (unset), /usr/lib/x86_64-linux-gnu,",
			wantErr: (*NotFoundError)(nil),
		},
		{
			name:      "cuInit finds no GPU",
			files:     all,
			configure: func(t *testing.T, d string) { fakeConfigure(t, d, 100, 0, true) },
			want:      "cuda: CUDA driver $D/libcuda.so.1: cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA device; searched NEURALSTYLE_CUDA_LIBS=$D,",
			wantErr:   ErrNoDevice,
		},
		{
			name:      "a driver without cuGetErrorName",
			files:     all,
			configure: func(t *testing.T, d string) { fakeConfigure(t, d, 3, 1, false) },
			want:      "cuda: CUDA driver $D/libcuda.so.1: cuInit: CUDA_ERROR_NOT_INITIALIZED (3); searched",
			wantErr:   (*OpenError)(nil),
		},
		{
			name:      "an unknown CUresult",
			files:     all,
			configure: func(t *testing.T, d string) { fakeConfigure(t, d, 12345, 1, false) },
			want:      "cuda: CUDA driver $D/libcuda.so.1: cuInit: CUresult 12345; searched",
			wantErr:   (*OpenError)(nil),
		},
		{
			name:      "the driver counts no GPU",
			files:     all,
			configure: func(t *testing.T, d string) { fakeConfigure(t, d, 0, 0, true) },
			want:      "cuda: found driver 12.4; CUDA driver $D/libcuda.so.1: cuDeviceGetCount: 0: no CUDA device; searched",
			wantErr:   ErrNoDevice,
		},
		{
			name:    "no driver",
			files:   all[1:],
			want:    "cuda: no CUDA driver: looked for libcuda.so.1 in NEURALSTYLE_CUDA_LIBS=$D, LD_LIBRARY_PATH (unset), ",
			wantErr: (*NotFoundError)(nil),
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fakeInstall(t, c.files...)
			if c.configure != nil {
				c.configure(t, filepath.Join(dir, "libcuda.so.1"))
			}
			err := Probe(fakeEnv(t, dir))
			if err == nil {
				t.Fatal("no error")
			}
			want := strings.ReplaceAll(c.want, "$D", dir)
			if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
				t.Errorf("error\n%s\nwant one line starting\n%s", msg, want)
			}
			switch w := c.wantErr.(type) {
			case *NotFoundError:
				var e *NotFoundError
				if !errors.As(err, &e) {
					t.Errorf("error %T does not wrap a *NotFoundError", err)
				}
			case *OpenError:
				var e *OpenError
				if !errors.As(err, &e) {
					t.Errorf("error %T does not wrap an *OpenError", err)
				}
			default:
				if !errors.Is(err, w) {
					t.Errorf("error does not wrap %v", w)
				}
			}
		})
	}
}

func TestOpenFakeInfo(t *testing.T) {
	dir := fakeInstall(t, "libcuda.so.1", "libcublas.so.12", "libcublasLt.so.12", "libcudnn.so.9")
	libs, err := Find(fakeEnv(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := Open(libs)
	if err != nil {
		t.Fatal(err)
	}
	want := Info{DriverVersion: 12040, Devices: []Device{{"Fake GPU 0", 143771 << 20}}, CUBLASVersion: [3]int{12, 1, 3}, CUDNNVersion: 90100}
	got := rt.Info
	if got.DriverVersion != want.DriverVersion || len(got.Devices) != 1 || got.Devices[0] != want.Devices[0] ||
		got.CUBLASVersion != want.CUBLASVersion || got.CUDNNVersion != want.CUDNNVersion {
		t.Errorf("info %+v, want %+v", got, want)
	}
}

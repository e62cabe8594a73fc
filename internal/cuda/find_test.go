package cuda

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTree creates empty files (and, for names ending in "/", folders)
// under root; "a -> b" makes a a symbolic link to b.
func fakeTree(t *testing.T, root string, paths []string) {
	t.Helper()
	for _, p := range paths {
		target := ""
		if a, b, ok := strings.Cut(p, " -> "); ok {
			p, target = a, b
		}
		full := filepath.Join(root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target != "" {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFind(t *testing.T) {
	const (
		sysDriver = "usr/lib/x86_64-linux-gnu/libcuda.so.1"
		wheelBLAS = "home/u/.local/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.12"
		wheelDNN  = "home/u/.local/lib/python3.11/site-packages/nvidia/cudnn/lib/libcudnn.so.9"
	)
	cases := []struct {
		name   string
		goos   string
		goarch string
		files  []string
		vars   map[string]string // values: $T is the tree's root
		want   [numKinds]string  // relative to the root; "" for not found
		errHas []string          // substrings of the error; none for no error
	}{
		{
			name:  "system driver, PyTorch's wheels in the user's site-packages",
			files: []string{sysDriver, wheelBLAS, wheelDNN},
			want:  [numKinds]string{sysDriver, wheelBLAS, wheelDNN},
		},
		{
			name: "NEURALSTYLE_CUDA_LIBS, a list, overrides everything",
			files: []string{sysDriver, wheelBLAS, wheelDNN,
				"opt/a/libcublas.so.11", "opt/b/libcuda.so.1", "opt/b/libcudnn.so.8"},
			vars: map[string]string{LibsVar: "$T/opt/missing:$T/opt/a:$T/opt/b"},
			want: [numKinds]string{"opt/b/libcuda.so.1", "opt/a/libcublas.so.11", "opt/b/libcudnn.so.8"},
		},
		{
			name:  "a newer name in a later folder loses to an older name in an earlier one",
			files: []string{sysDriver, "opt/a/libcublas.so.11", "usr/lib64/libcublas.so.12", "usr/lib64/libcudnn.so.9"},
			vars:  map[string]string{"LD_LIBRARY_PATH": "$T/opt/a"},
			want:  [numKinds]string{sysDriver, "opt/a/libcublas.so.11", "usr/lib64/libcudnn.so.9"},
		},
		{
			name:  "within a folder the newest name wins",
			files: []string{sysDriver, "usr/lib64/libcublas.so.11", "usr/lib64/libcublas.so.12", "usr/lib64/libcudnn.so.8", "usr/lib64/libcudnn.so.9"},
			want:  [numKinds]string{sysDriver, "usr/lib64/libcublas.so.12", "usr/lib64/libcudnn.so.9"},
		},
		{
			name: "the newest of several toolkits, by version number not text",
			files: []string{"usr/lib/wsl/lib/libcuda.so.1",
				"usr/local/cuda-9.2/lib64/libcublas.so.11", "usr/local/cuda-12.10/lib64/libcublas.so.12", "usr/local/cuda-12.4/lib64/libcublas.so.12",
				"usr/local/cuda-12.4/lib64/libcudnn.so.9"},
			want: [numKinds]string{"usr/lib/wsl/lib/libcuda.so.1", "usr/local/cuda-12.10/lib64/libcublas.so.12", "usr/local/cuda-12.4/lib64/libcudnn.so.9"},
		},
		{
			name: "a virtual environment before the system's Python",
			files: []string{sysDriver,
				"venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.12",
				"usr/lib/python3/dist-packages/nvidia/cudnn/lib/libcudnn.so.9",
				"usr/local/lib/python3.11/dist-packages/nvidia/cublas/lib/libcublas.so.11",
				"usr/local/lib/python3.11/dist-packages/nvidia/cudnn/lib/libcudnn.so.8"},
			vars: map[string]string{"VIRTUAL_ENV": "$T/venv"},
			want: [numKinds]string{sysDriver, "venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.12",
				"usr/local/lib/python3.11/dist-packages/nvidia/cudnn/lib/libcudnn.so.8"},
		},
		{
			name: "conda environment",
			files: []string{sysDriver, "conda/lib/python3.10/site-packages/nvidia/cublas/lib/libcublas.so.12",
				"conda/lib/python3.10/site-packages/nvidia/cudnn/lib/libcudnn.so.9"},
			vars: map[string]string{"CONDA_PREFIX": "$T/conda"},
			want: [numKinds]string{sysDriver, "conda/lib/python3.10/site-packages/nvidia/cublas/lib/libcublas.so.12",
				"conda/lib/python3.10/site-packages/nvidia/cudnn/lib/libcudnn.so.9"},
		},
		{
			name: "symbolic links count, folders and dangling links do not",
			files: []string{"usr/lib64/libcuda.so.1/", "usr/lib/libcuda.so.1 -> libcuda.so.550.54",
				"usr/lib/libcuda.so.550.54", "usr/lib64/libcublas.so.12 -> nowhere", "usr/lib/libcublas.so.11", "usr/lib64/libcudnn.so.9"},
			want: [numKinds]string{"usr/lib/libcuda.so.1", "usr/lib/libcublas.so.11", "usr/lib64/libcudnn.so.9"},
		},
		{
			name:   "arm64's multiarch folder",
			goarch: "arm64",
			files:  []string{"usr/lib/aarch64-linux-gnu/libcuda.so.1", "usr/lib/x86_64-linux-gnu/libcublas.so.12", "usr/lib/aarch64-linux-gnu/libcudnn.so.9"},
			want:   [numKinds]string{"usr/lib/aarch64-linux-gnu/libcuda.so.1", "", "usr/lib/aarch64-linux-gnu/libcudnn.so.9"},
			errHas: []string{"cuda: no cuBLAS: looked for libcublas.so.13, libcublas.so.12, libcublas.so.11 in", "/usr/lib/aarch64-linux-gnu"},
		},
		{
			name:  "nothing at all",
			files: []string{"usr/lib/x86_64-linux-gnu/libc.so.6"},
			errHas: []string{
				"cuda: no CUDA driver, no cuBLAS, no cuDNN: looked for libcuda.so.1, libcublas.so.13",
				"in NEURALSTYLE_CUDA_LIBS (unset), LD_LIBRARY_PATH (unset), /usr/lib/x86_64-linux-gnu, /usr/lib64",
				"/usr/local/cuda*/lib64, /usr/lib/wsl/lib, Python site-packages/nvidia/*/lib (none found)",
			},
		},
		{
			name:   "a set variable is shown with its value",
			files:  []string{wheelBLAS, wheelDNN},
			vars:   map[string]string{LibsVar: "/nonexistent/cuda"},
			want:   [numKinds]string{"", wheelBLAS, wheelDNN},
			errHas: []string{"cuda: no CUDA driver: looked for libcuda.so.1 in NEURALSTYLE_CUDA_LIBS=/nonexistent/cuda, LD_LIBRARY_PATH (unset)"},
		},
		{
			name: "windows names and folders",
			goos: "windows",
			files: []string{"Windows/System32/nvcuda.dll", "cuda/bin/cublas64_12.dll",
				"venv/Lib/site-packages/nvidia/cudnn/bin/cudnn64_9.dll"},
			vars: map[string]string{"SystemRoot": "$T/Windows", "CUDA_PATH": "$T/cuda", "VIRTUAL_ENV": "$T/venv"},
			want: [numKinds]string{"Windows/System32/nvcuda.dll", "cuda/bin/cublas64_12.dll", "venv/Lib/site-packages/nvidia/cudnn/bin/cudnn64_9.dll"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			fakeTree(t, root, c.files)
			vars := map[string]string{}
			for k, v := range c.vars {
				vars[k] = strings.ReplaceAll(v, "$T", root)
			}
			if c.vars["PATH"] == "" && c.goos == "windows" {
				vars["PATH"] = "" // never the host's
			}
			env := Env{GOOS: c.goos, GOARCH: c.goarch, Root: root, Home: filepath.Join(root, "home/u"),
				Getenv: func(k string) string { return vars[k] }}
			if env.GOOS == "" {
				env.GOOS = "linux"
			}
			if env.GOARCH == "" {
				env.GOARCH = "amd64"
			}
			libs, err := Find(env)
			for k := Kind(0); k < numKinds; k++ {
				want := ""
				if c.want[k] != "" {
					want = filepath.Join(root, filepath.FromSlash(c.want[k]))
				}
				if got := libs.Lib[k].Path; got != want {
					t.Errorf("%v: found %q, want %q", k, got, want)
				}
			}
			if len(c.errHas) == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var nf *NotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("error %v (%T), want a *NotFoundError", err, err)
			}
			msg := strings.ReplaceAll(err.Error(), root, "")
			for _, s := range c.errHas {
				if !strings.Contains(msg, s) {
					t.Errorf("error\n%s\nlacks\n%s", msg, s)
				}
			}
			if strings.Contains(msg, "\n") || len([]rune(err.Error())) > maxLine {
				t.Errorf("error is not one short line: %q", err)
			}
		})
	}
}

func TestFindLongListIsTruncated(t *testing.T) {
	var dirs []string
	for i := 0; i < 100; i++ {
		dirs = append(dirs, "/nonexistent/some/long/folder/name")
	}
	env := Env{GOOS: "linux", GOARCH: "amd64", Root: t.TempDir(),
		Getenv: func(k string) string {
			if k == "LD_LIBRARY_PATH" {
				return strings.Join(dirs, ":")
			}
			return ""
		}}
	_, err := Find(env)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if n := len([]rune(msg)); n != maxLine || !strings.HasSuffix(msg, "…") {
		t.Errorf("message of %d characters, ending %q; want %d ending in …", n, msg[len(msg)-10:], maxLine)
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"/usr/local/cuda-12.4/lib64", "/usr/local/cuda-11.8/lib64", 1},
		{"/usr/local/cuda-12.10/lib64", "/usr/local/cuda-12.9/lib64", 1},
		{"python3.9", "python3.12", -1},
		{"cuda-12.4", "cuda-12.4", 0},
		{"cuda-12", "cuda-12.1", -1},
		{"cuda-99999999999999999999", "cuda-1", 1},
	}
	for _, c := range cases {
		if got := compareVersions(c.a, c.b); (got > 0) != (c.want > 0) || (got < 0) != (c.want < 0) {
			t.Errorf("compareVersions(%q, %q) = %d, want sign of %d", c.a, c.b, got, c.want)
		}
	}
}

// TestFindSystem runs the real search: whatever this machine has, the
// answer is the libraries or a *NotFoundError, and the search starts with
// NEURALSTYLE_CUDA_LIBS.
func TestFindSystem(t *testing.T) {
	t.Setenv(LibsVar, "")
	libs, err := Find(SystemEnv())
	var nf *NotFoundError
	if err != nil && !errors.As(err, &nf) {
		t.Errorf("error %v (%T)", err, err)
	}
	if len(libs.Places) < 3 || libs.Places[0].Label != LibsVar+" (unset)" {
		t.Errorf("places %+v", libs.Places)
	}
}

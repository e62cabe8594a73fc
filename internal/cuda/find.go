// Package cuda finds and opens NVIDIA's CUDA driver, cuBLAS and cuDNN at run
// time without cgo (through github.com/ebitengine/purego), reports what it
// found, and plans the device memory of a style-transfer run.
//
// No GPU compute path is in this build: the kernels of subpackage ptx and the
// memory plan of Plan have not run on a GPU yet, so NewEngine reports what it
// found and then refuses, rather than pretending to compute.
package cuda

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// LibsVar names the environment variable that, when set, is searched before
// anything else: a folder or a list of folders (colon-separated, or
// semicolon-separated on Windows).
const LibsVar = "NEURALSTYLE_CUDA_LIBS"

// Env is what the search reads from the process. SystemEnv gives the real
// one; tests build their own over a fake directory tree.
type Env struct {
	GOOS, GOARCH string
	// Getenv reads an environment variable ("" when unset); nil reads none.
	Getenv func(string) string
	// Home is the user's home folder ("" for none).
	Home string
	// Root prefixes the built-in absolute folders (/usr/lib64, ...): "" on
	// a real system, a temporary folder in tests. Folders taken from
	// environment variables are used as they are.
	Root string
}

// SystemEnv is the running process's environment.
func SystemEnv() Env {
	home, _ := os.UserHomeDir()
	return Env{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Getenv: os.Getenv, Home: home}
}

func (e Env) getenv(name string) string {
	if e.Getenv == nil {
		return ""
	}
	return e.Getenv(name)
}

// Kind is one of the libraries the CUDA backend needs.
type Kind int

const (
	Driver Kind = iota // libcuda: the driver API
	CUBLAS
	CUDNN
	numKinds
)

func (k Kind) String() string {
	switch k {
	case Driver:
		return "CUDA driver"
	case CUBLAS:
		return "cuBLAS"
	case CUDNN:
		return "cuDNN"
	}
	return "unknown library"
}

// Names are the file names looked for, most wanted first, on goos.
func (k Kind) Names(goos string) []string {
	if goos == "windows" {
		return [...][]string{
			Driver: {"nvcuda.dll"},
			CUBLAS: {"cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"},
			CUDNN:  {"cudnn64_9.dll", "cudnn64_8.dll"},
		}[k]
	}
	if goos == "darwin" {
		// NVIDIA stopped shipping CUDA for macOS with 10.2; the names are
		// those of its last releases, for completeness of the message.
		return [...][]string{
			Driver: {"libcuda.dylib"},
			CUBLAS: {"libcublas.dylib"},
			CUDNN:  {"libcudnn.dylib"},
		}[k]
	}
	return [...][]string{
		Driver: {"libcuda.so.1"},
		CUBLAS: {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11"},
		CUDNN:  {"libcudnn.so.9", "libcudnn.so.8"},
	}[k]
}

// Place is one source of folders in the search, in its order.
type Place struct {
	// Label is how the message names the place: a variable with its state
	// ("NEURALSTYLE_CUDA_LIBS (unset)"), a folder or a folder pattern.
	Label string
	// Dirs are the folders it stands for that exist, in search order.
	Dirs []string
}

// Library is the result of the search for one Kind.
type Library struct {
	Kind Kind
	// Names are the file names that were looked for.
	Names []string
	// Path is the file found, "" when none was.
	Path string
}

// Libraries is the result of Find.
type Libraries struct {
	Lib    [numKinds]Library
	Places []Place // where Find looked, in order
}

// Find looks for the CUDA driver, cuBLAS and cuDNN in env: first in the
// folders of NEURALSTYLE_CUDA_LIBS, then the system's (LD_LIBRARY_PATH and
// the standard folders), then the nvidia-* wheels of Python environments
// (site-packages/nvidia/*/lib). For each library the first place holding
// any of its names wins, so NEURALSTYLE_CUDA_LIBS overrides everything.
// Files only need to exist: nothing is opened. The error, a *NotFoundError,
// names every library missing and where it was looked for; the Libraries
// returned with it still hold those that were found.
func Find(env Env) (Libraries, error) {
	libs := Libraries{Places: searchPlaces(env)}
	var missing []Kind
	for k := Kind(0); k < numKinds; k++ {
		lib := Library{Kind: k, Names: k.Names(env.GOOS)}
		lib.Path = findFile(libs.Places, lib.Names)
		libs.Lib[k] = lib
		if lib.Path == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return libs, &NotFoundError{Libs: libs, Missing: missing}
	}
	return libs, nil
}

func findFile(places []Place, names []string) string {
	for _, p := range places {
		for _, d := range p.Dirs {
			for _, n := range names {
				path := filepath.Join(d, n)
				if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
					return path
				}
			}
		}
	}
	return ""
}

// NotFoundError says which libraries Find could not find, and where it looked.
type NotFoundError struct {
	Libs    Libraries
	Missing []Kind
}

func (e *NotFoundError) Error() string {
	// The driver is what a user most often lacks: it alone gets its own
	// wording, as in "cuda: no CUDA driver: looked for libcuda.so.1 in ...".
	parts := make([]string, 0, len(e.Missing))
	for _, k := range e.Missing {
		parts = append(parts, k.String())
	}
	var names []string
	for _, k := range e.Missing {
		names = append(names, e.Libs.Lib[k].Names...)
	}
	return oneLine("cuda: no " + strings.Join(parts, ", no ") + ": looked for " +
		strings.Join(names, ", ") + " in " + e.Libs.PlacesString())
}

// PlacesString lists the places searched, as the error messages do.
func (l Libraries) PlacesString() string {
	labels := make([]string, len(l.Places))
	for i, p := range l.Places {
		labels[i] = p.Label
	}
	return strings.Join(labels, ", ")
}

// maxLine bounds the messages: long lists end in "…".
const maxLine = 400

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > maxLine {
		return string(r[:maxLine-1]) + "…"
	}
	return s
}

// searchPlaces lists the places to search on env, in order.
func searchPlaces(env Env) []Place {
	var places []Place
	places = append(places, varPlace(env, LibsVar))
	root := func(p string) string {
		if env.Root == "" {
			return filepath.FromSlash(p)
		}
		return filepath.Join(env.Root, filepath.FromSlash(p))
	}
	if env.GOOS == "windows" {
		// nvcuda.dll is installed into System32 by the display driver;
		// the toolkit's DLLs are in %CUDA_PATH%\bin.
		if sr := env.getenv("SystemRoot"); sr != "" {
			places = append(places, dirPlace(filepath.Join(sr, "System32")))
		} else {
			places = append(places, Place{Label: "SystemRoot (unset)"})
		}
		if cp := env.getenv("CUDA_PATH"); cp != "" {
			places = append(places, dirPlace(filepath.Join(cp, "bin")))
		} else {
			places = append(places, Place{Label: "CUDA_PATH (unset)"})
		}
		places = append(places, varPlace(env, "PATH"))
	} else {
		// The dynamic loader's order: LD_LIBRARY_PATH, then the standard
		// folders (those of ld.so.cache on the distributions CUDA supports).
		places = append(places, varPlace(env, "LD_LIBRARY_PATH"))
		multiarch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[env.GOARCH]
		if multiarch == "" {
			multiarch = env.GOARCH + "-linux-gnu"
		}
		for _, d := range []string{
			"/usr/lib/" + multiarch, "/usr/lib64", "/usr/lib",
			"/usr/local/cuda/lib64", "/usr/local/cuda*/lib64", "/usr/lib/wsl/lib",
		} {
			places = append(places, globPlace(d, root(d)))
		}
	}
	places = append(places, pythonPlaces(env, root)...)
	return places
}

// varPlace is the folders of a list variable.
func varPlace(env Env, name string) Place {
	v := env.getenv(name)
	if v == "" {
		return Place{Label: name + " (unset)"}
	}
	p := Place{Label: name + "=" + v}
	for _, d := range filepath.SplitList(v) {
		if d != "" && isDir(d) {
			p.Dirs = append(p.Dirs, d)
		}
	}
	return p
}

func dirPlace(d string) Place {
	p := Place{Label: d}
	if isDir(d) {
		p.Dirs = []string{d}
	}
	return p
}

// globPlace is the existing folders matching pattern, newest-looking last
// version first (/usr/local/cuda-12.4 before /usr/local/cuda-11.8).
func globPlace(label, pattern string) Place {
	p := Place{Label: label}
	if !strings.ContainsAny(pattern, "*?[") {
		if isDir(pattern) {
			p.Dirs = []string{pattern}
		}
		return p
	}
	m, _ := filepath.Glob(pattern)
	sortVersionsDescending(m)
	for _, d := range m {
		if isDir(d) {
			p.Dirs = append(p.Dirs, d)
		}
	}
	return p
}

// pythonWheelLibs are the nvidia-* wheels' folders holding the libraries
// (PyTorch's dependencies nvidia-cublas-cu12, nvidia-cudnn-cu12, ...).
var pythonWheelLibs = []string{"cublas", "cudnn", "cuda_runtime", "cuda_nvrtc"}

// pythonPlaces lists the nvidia-* wheels' library folders in the Python
// environments that exist: the active virtual or conda environment first,
// then the user's, then the system's.
func pythonPlaces(env Env, root func(string) string) []Place {
	var sitePackages []string // patterns
	libDir := "lib"
	if env.GOOS == "windows" {
		libDir = "bin" // the wheels put their DLLs in nvidia\*\bin
		for _, v := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
			if p := env.getenv(v); p != "" {
				sitePackages = append(sitePackages, filepath.Join(p, "Lib", "site-packages"))
			}
		}
	} else {
		for _, v := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
			if p := env.getenv(v); p != "" {
				sitePackages = append(sitePackages, filepath.Join(p, "lib", "python3*", "site-packages"))
			}
		}
		if env.Home != "" {
			sitePackages = append(sitePackages, filepath.Join(env.Home, ".local", "lib", "python3*", "site-packages"))
		}
		for _, prefix := range []string{"/usr/local/lib", "/usr/lib"} {
			for _, sp := range []string{"site-packages", "dist-packages"} {
				sitePackages = append(sitePackages, filepath.Join(root(prefix), "python3*", sp))
			}
		}
	}
	p := Place{Label: "Python site-packages/nvidia/*/" + libDir}
	seen := map[string]bool{}
	for _, pat := range sitePackages {
		dirs, _ := filepath.Glob(pat)
		sortVersionsDescending(dirs)
		for _, sp := range dirs {
			for _, w := range pythonWheelLibs {
				d := filepath.Join(sp, "nvidia", w, libDir)
				if !seen[d] && isDir(d) {
					seen[d] = true
					p.Dirs = append(p.Dirs, d)
				}
			}
		}
	}
	if len(p.Dirs) == 0 {
		p.Label += " (none found)"
	}
	return []Place{p}
}

func isDir(d string) bool {
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}

// sortVersionsDescending orders paths that differ in version numbers
// (cuda-12.4, cuda-11.8; python3.12, python3.9) by those numbers, highest
// first, so the newest installation wins.
func sortVersionsDescending(paths []string) {
	sort.SliceStable(paths, func(i, j int) bool {
		return compareVersions(paths[i], paths[j]) > 0
	})
}

// compareVersions compares a and b as sequences of text and numbers.
func compareVersions(a, b string) int {
	ta, tb := versionTokens(a), versionTokens(b)
	for i := 0; i < len(ta) && i < len(tb); i++ {
		x, y := ta[i], tb[i]
		if x.isNum && y.isNum {
			if x.num != y.num {
				if x.num < y.num {
					return -1
				}
				return 1
			}
			continue
		}
		if c := strings.Compare(x.text, y.text); c != 0 {
			return c
		}
	}
	return len(ta) - len(tb)
}

type versionToken struct {
	text  string
	num   int
	isNum bool
}

func versionTokens(s string) []versionToken {
	var out []versionToken
	for len(s) > 0 {
		i := 0
		digits := s[0] >= '0' && s[0] <= '9'
		for i < len(s) && (s[i] >= '0' && s[i] <= '9') == digits {
			i++
		}
		t := versionToken{text: s[:i], isNum: digits}
		if digits {
			for _, c := range s[:i] {
				t.num = min(t.num*10+int(c-'0'), 1<<30)
			}
		}
		out = append(out, t)
		s = s[i:]
	}
	return out
}

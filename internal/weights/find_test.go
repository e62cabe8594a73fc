package weights

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withEnv replaces the environment Find and DataDir see.
func withEnv(t *testing.T, vars map[string]string) {
	t.Helper()
	old := env
	env = func(k string) string { return vars[k] }
	t.Cleanup(func() { env = old })
}

func TestDataDir(t *testing.T) {
	for _, c := range []struct {
		goos string
		vars map[string]string
		want string
	}{
		{"linux", map[string]string{"HOME": "/home/a", "XDG_DATA_HOME": "/xdg"}, "/xdg/neuralstyle"},
		{"linux", map[string]string{"HOME": "/home/a", "XDG_DATA_HOME": "relative"}, "/home/a/.local/share/neuralstyle"},
		{"freebsd", map[string]string{"HOME": "/home/a"}, "/home/a/.local/share/neuralstyle"},
		{"darwin", map[string]string{"HOME": "/Users/a", "XDG_DATA_HOME": "/xdg"}, "/Users/a/Library/Application Support/neuralstyle"},
		{"windows", map[string]string{"AppData": `C:\Users\a\AppData\Roaming`}, filepath.Join(`C:\Users\a\AppData\Roaming`, "neuralstyle")},
	} {
		withEnv(t, c.vars)
		got, err := dataDir(c.goos)
		if err != nil || got != c.want {
			t.Errorf("%s %v: %q, %v; want %q", c.goos, c.vars, got, err, c.want)
		}
	}
	withEnv(t, nil)
	if _, err := dataDir("windows"); err == nil {
		t.Error("windows without AppData: no error")
	}
	if _, err := dataDir("linux"); err == nil {
		t.Error("linux without HOME: no error")
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	cwd, home, envFile := filepath.Join(root, "cwd"), filepath.Join(root, "home"), filepath.Join(root, "elsewhere", "vgg.caffemodel")
	for _, d := range []string{cwd, home, filepath.Dir(envFile)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(cwd)
	withEnv(t, map[string]string{"HOME": home, "XDG_DATA_HOME": "", EnvNetwork: envFile})
	dataFile := filepath.Join(home, ".local", "share", "neuralstyle", DefaultName)
	want := []string{DefaultName, envFile, dataFile}
	if got := SearchPath(DefaultName); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("SearchPath: %v, want %v", got, want)
	}

	// Nothing anywhere: the error lists the places and the command.
	_, searched, err := Find(DefaultName, false)
	var nf *NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%v, want a *NotFoundError", err)
	}
	for _, p := range want {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not list %s", err, p)
		}
	}
	if !strings.Contains(err.Error(), "neuralstyle weights download") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line naming the download command", err)
	}
	if len(searched) != 3 {
		t.Errorf("searched %v", searched)
	}

	// Each place in turn, later ones first so that the order shows.
	for i := len(want) - 1; i >= 0; i-- {
		if err := os.MkdirAll(filepath.Dir(want[i]), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(want[i], []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		got, searched, err := Find(DefaultName, false)
		if err != nil || got != want[i] || len(searched) != i+1 {
			t.Errorf("with %s: %q, %v, %v", want[i], got, searched, err)
		}
	}

	// An explicit --network is the only place looked at.
	_, searched, err = Find(filepath.Join(root, "no.mat"), true)
	if !errors.As(err, &nf) || len(searched) != 1 || !strings.Contains(err.Error(), "no.mat") {
		t.Errorf("explicit missing: %v %v", searched, err)
	}
	if got, _, err := Find(envFile, true); err != nil || got != envFile {
		t.Errorf("explicit: %q %v", got, err)
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultName)
	if err := os.WriteFile(path, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	// Against a given hash.
	if _, _, err := Verify(context.Background(), path, strings.ToUpper(payloadSHA())); err != nil {
		t.Errorf("right hash: %v", err)
	}
	_, _, err := Verify(context.Background(), path, strings.Repeat("0", 64))
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Errorf("wrong hash: %v", err)
	}
	if _, _, err := Verify(context.Background(), path, "xyz"); err == nil || errors.As(err, &me) {
		t.Errorf("bad --sha256: %v", err)
	}
	// Against the known files: the payload is none of them.
	if _, _, err := Verify(context.Background(), path, ""); !errors.As(err, &me) || !strings.Contains(err.Error(), "official") {
		t.Errorf("unknown file: %v", err)
	}
	// Matching by MD5 where only that is known (the old layout).
	sums, err := HashFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	known := []KnownFile{{Name: "old", MD5: sums.MD5}, {Name: "new", SHA256: strings.Repeat("1", 64), MD5: sums.MD5}}
	if k := Match(sums, known); k == nil || k.Name != "old" {
		t.Errorf("Match by MD5: %v", k)
	}
	if k := Match(sums, known[1:]); k != nil {
		t.Errorf("an MD5 match overrode a SHA-256 mismatch: %v", k)
	}
	// A single flipped byte is told apart.
	bad := append([]byte(nil), payload...)
	bad[len(bad)/2] ^= 1
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Verify(context.Background(), path, payloadSHA()); !errors.As(err, &me) {
		t.Errorf("flipped byte: %v", err)
	}
}

func TestChecker(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultName)
	if err := os.WriteFile(path, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	c := &Checker{Known: []KnownFile{{Name: "test", SHA256: payloadSHA()}}, Names: []string{DefaultName},
		CacheFile: filepath.Join(dir, "cache", "hashes.json")}
	if w := c.Start(path)(); w != "" {
		t.Errorf("good file: warning %q", w)
	}
	if _, err := os.Stat(c.CacheFile); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	// The cache answers without hashing: a cache entry claiming another
	// hash for the same size and mtime is believed.
	abs, _ := filepath.Abs(path)
	st, _ := os.Stat(path)
	c.store(abs, cacheEntry{Size: st.Size(), ModTime: st.ModTime().UnixNano(), SHA256: strings.Repeat("2", 64)})
	if w := c.Start(path)(); !strings.Contains(w, "warning") || !strings.Contains(w, "weights verify") {
		t.Errorf("cached mismatch: warning %q", w)
	}
	// A changed file (new mtime) is hashed again.
	bad := append([]byte(nil), payload...)
	bad[10] ^= 0x80
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, time.Now(), st.ModTime().Add(time.Second))
	w := c.Start(path)()
	if !strings.Contains(w, path) || strings.Contains(w, "\n") {
		t.Errorf("corrupted file: warning %q, want one line naming it", w)
	}
	sums, _ := HashFile(context.Background(), path)
	if !strings.Contains(w, sums.SHA256) {
		t.Errorf("warning %q does not give the file's hash", w)
	}
	// Files not named like the official one are not hashed.
	other := filepath.Join(dir, "vgg19.caffemodel")
	if err := os.WriteFile(other, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if w := c.Start(other)(); w != "" {
		t.Errorf("other file: warning %q", w)
	}
	// wait may be called more than once.
	wait := c.Start(path)
	if wait() != wait() {
		t.Error("wait changed its answer")
	}
}

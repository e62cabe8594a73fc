package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/weights"
)

func TestWeightsVerify(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(tiny, "vgg19-tiny.pth"))
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.pth")
	if err := os.WriteFile(good, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	bad := filepath.Join(dir, "bad.pth")
	data[len(data)/2] ^= 0x10
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args   []string
		code   int
		output string
	}{
		{[]string{"weights", "verify", good, "--sha256", hexSum}, exitOK, "OK"},
		{[]string{"weights", "verify", bad, "--sha256", hexSum}, exitRuntime, "want " + hexSum},
		// No known checksum for a .pth: not verified, but said to load.
		{[]string{"weights", "verify", good}, exitRuntime, "loads"},
		{[]string{"weights", "verify", filepath.Join(dir, "none.mat")}, exitRuntime, "none.mat"},
		{[]string{"weights", "verify"}, exitUsage, "accepts 1 arg"},
		{[]string{"weights", "verify", good, "--sha256", "abc"}, exitUsage, "not a SHA-256"},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stdout+stderr, c.output) {
			t.Errorf("%v: status %d, output %q %q; want %d and %q", c.args, code, stdout, stderr, c.code, c.output)
		}
		if code != exitOK && strings.Count(stderr, "\n") > 2 {
			t.Errorf("%v: error of more than one line (and a hint): %q", c.args, stderr)
		}
	}
}

func TestWeightsDownload(t *testing.T) {
	body := []byte(strings.Repeat("not really VGG-19 ", 50000))
	sum := sha256.Sum256(body)
	hexSum := hex.EncodeToString(sum[:])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/vgg.mat" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	defer srv.Close()
	dir := t.TempDir()
	final := filepath.Join(dir, weights.DefaultName)

	code, _, stderr := runCLI(t, "weights", "download", "--to", dir, "--url", srv.URL+"/vgg.mat", "--sha256", strings.Repeat("0", 64))
	if code != exitRuntime || !strings.Contains(stderr, "want "+strings.Repeat("0", 64)) {
		t.Errorf("wrong checksum: status %d, %q", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("wrong checksum left %v", entries)
	}

	code, _, stderr = runCLI(t, "weights", "download", "--to", dir, "--url", srv.URL+"/gone.mat")
	if code != exitRuntime || !strings.Contains(stderr, "404") {
		t.Errorf("404: status %d, %q", code, stderr)
	}

	code, stdout, stderr := runCLI(t, "weights", "download", "--to", dir, "--url", srv.URL+"/vgg.mat", "--sha256", hexSum)
	if code != exitOK || !strings.Contains(stdout, "downloaded and verified") {
		t.Fatalf("download: status %d, %q %q", code, stdout, stderr)
	}
	if got, err := os.ReadFile(final); err != nil || string(got) != string(body) {
		t.Fatalf("downloaded file: %v", err)
	}
	// Not a terminal: plain progress lines, no carriage returns.
	if strings.Contains(stderr, "\r") || !strings.Contains(stderr, "100%") {
		t.Errorf("progress on a pipe: %q", stderr)
	}
	code, stdout, _ = runCLI(t, "weights", "download", "--to", dir, "--url", srv.URL+"/vgg.mat", "--sha256", hexSum)
	if code != exitOK || !strings.Contains(stdout, "already there") {
		t.Errorf("second download: status %d, %q", code, stdout)
	}

	if code, _, _ := runCLI(t, "weights", "download", "extra"); code != exitUsage {
		t.Errorf("download with an argument: status %d", code)
	}
}

func TestWeightsPath(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	home := filepath.Join(root, "home")
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(root, "xdg"))
	t.Setenv("AppData", filepath.Join(root, "appdata"))
	t.Setenv(weights.EnvNetwork, filepath.Join(root, "env.caffemodel"))
	code, stdout, _ := runCLI(t, "weights", "path")
	if code != exitOK || !strings.Contains(stdout, weights.DefaultName) || !strings.Contains(stdout, "env.caffemodel") ||
		!strings.Contains(stdout, "weights download") {
		t.Errorf("nothing there: status %d, %q", code, stdout)
	}
	if err := os.WriteFile(filepath.Join(root, "env.caffemodel"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "weights", "path")
	if code != exitOK || !strings.Contains(stdout, "* "+filepath.Join(root, "env.caffemodel")) {
		t.Errorf("with $%s: status %d, %q", weights.EnvNetwork, code, stdout)
	}
}

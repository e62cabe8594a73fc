package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNetworkSearch: without --network the default name is looked for here,
// then in $NEURALSTYLE_NETWORK, then in the data folder; missing everywhere,
// the usage error lists the places and the download command.
func TestNetworkSearch(t *testing.T) {
	net, err := filepath.Abs(filepath.Join(tiny, "vgg19-tiny-new.mat"))
	if err != nil {
		t.Fatal(err)
	}
	content, err := filepath.Abs(filepath.Join(tiny, "content.png"))
	if err != nil {
		t.Fatal(err)
	}
	style, err := filepath.Abs(filepath.Join(tiny, "style1.png"))
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Chdir(t.TempDir())
	args := []string{"--content", content, "--styles", style, "--iterations", "2", "--seed", "1"} // no --network
	output := func() []string { return append(args, "--output", filepath.Join(t.TempDir(), "out.png")) }
	t.Setenv("NEURALSTYLE_NETWORK", "")
	code, _, stderr := runCLI(t, output()...)
	if code != exitUsage || !strings.Contains(stderr, "does not exist") ||
		!strings.Contains(stderr, filepath.Join(data, "neuralstyle", "imagenet-vgg-verydeep-19.mat")) ||
		!strings.Contains(stderr, "neuralstyle weights download") {
		t.Errorf("nothing to find: exit %d, stderr %q", code, stderr)
	}

	t.Setenv("NEURALSTYLE_NETWORK", net)
	if code, _, stderr := runCLI(t, output()...); code != exitOK {
		t.Errorf("$NEURALSTYLE_NETWORK: exit %d, stderr %q", code, stderr)
	}

	// An explicit --network is the only file tried.
	code, _, stderr = runCLI(t, append(output(), "--network", "missing.mat")...)
	if code != exitUsage || !strings.Contains(stderr, "missing.mat does not exist") {
		t.Errorf("--network missing.mat: exit %d, stderr %q", code, stderr)
	}
}

// TestNetworkFormats: the same weights as Caffe, PyTorch and safetensors
// files give one output (they share the default mean pixel; the .mat
// carries its own).
func TestNetworkFormats(t *testing.T) {
	var first []byte
	for _, name := range []string{"vgg19-tiny-v1.caffemodel", "vgg19-tiny-v2.caffemodel", "vgg19-tiny.pth",
		"vgg19-tiny-legacy.pth", "vgg19-tiny.safetensors"} {
		dir := t.TempDir()
		args := append([]string{"--network", filepath.Join(tiny, name)}, baseArgs(dir)[2:]...)
		if code, _, stderr := runCLI(t, args...); code != exitOK {
			t.Fatalf("%s: exit %d, stderr %q", name, code, stderr)
		}
		out, err := os.ReadFile(filepath.Join(dir, "out.png"))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
		} else if !bytes.Equal(out, first) {
			t.Errorf("%s gives another output than vgg19-tiny-v1.caffemodel", name)
		}
	}
}

// TestNetworkChecksumWarning: a file named like the official one whose
// checksum is not the official one's gets a warning, and the run goes on.
func TestNetworkChecksumWarning(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(tiny, "vgg19-tiny-new.mat"))
	if err != nil {
		t.Fatal(err)
	}
	official := filepath.Join(dir, "imagenet-vgg-verydeep-19.mat")
	if err := os.WriteFile(official, src, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, append([]string{"--network", official}, baseArgs(dir)[2:]...)...)
	if code != exitOK || !strings.Contains(stderr, "warning:") {
		t.Errorf("exit %d, stderr %q, want 0 and a warning", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"--network", official, "-q"}, baseArgs(t.TempDir())[2:]...)...); code != exitOK || stderr != "" {
		t.Errorf("-q: exit %d, stderr %q, want 0 and nothing", code, stderr)
	}
}

// TestMaxMemory: a run whose estimate is over --max-memory is refused
// before any work, as a usage error naming the flag and the fixes.
func TestMaxMemory(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runCLI(t, baseArgs(dir, "--max-memory", "1MB")...)
	if code != exitUsage || !strings.Contains(stderr, "--max-memory") || !strings.Contains(stderr, "--width") ||
		!strings.Contains(stderr, "content 37x29") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.png")); err == nil {
		t.Error("an output was written")
	}
	for _, bad := range []string{"12XB", "-1GB", "nan"} {
		if code, _, stderr := runCLI(t, baseArgs(t.TempDir(), "--max-memory", bad)...); code != exitUsage {
			t.Errorf("--max-memory %s: exit %d, stderr %q", bad, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, baseArgs(t.TempDir(), "--max-memory", "4GiB")...); code != exitOK {
		t.Errorf("--max-memory 4GiB: exit %d, stderr %q", code, stderr)
	}
}

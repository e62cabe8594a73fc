package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWeightsResultWriteFails: the weights commands whose output is their
// result exit 1 with the reason, in one line, when stdout cannot take it
// (hostile run: "weights path >/dev/full" exited 0 with nothing written);
// a reader gone away (EPIPE, "| head -1") is no failure. So does --help
// (it exited 0).
func TestWeightsResultWriteFails(t *testing.T) {
	net := filepath.Join(tiny, "vgg19-tiny.pth")
	data, err := os.ReadFile(net)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	for _, args := range [][]string{
		{"weights", "path"},
		{"weights", "verify", net, "--sha256", hex.EncodeToString(sum[:])},
		{"weights"},
		{"--help"},
		{"weights", "--help"},
		{"weights", "download", "--help"},
	} {
		var stderr bytes.Buffer
		code := run(context.Background(), args, &failingWriter{}, &stderr)
		line := strings.TrimSuffix(stderr.String(), "\n")
		if code != exitRuntime || !strings.Contains(line, "cannot write the result to stdout: no space left on device") || strings.Contains(line, "\n") {
			t.Errorf("%q to a full stdout: exit %d, stderr %q; want 1 and one line with the reason", args, code, stderr.String())
		}
		stderr.Reset()
		if code := run(context.Background(), args, epipeWriter{}, &stderr); code != exitOK || stderr.Len() != 0 {
			t.Errorf("%q to a closed pipe: exit %d, stderr %q; want 0 and nothing", args, code, stderr.String())
		}
		var stdout bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitOK || stdout.Len() == 0 {
			t.Errorf("%q: exit %d, %d bytes out, stderr %q", args, code, stdout.Len(), stderr.String())
		}
	}
}

// epipeWriter fails as a pipe whose reader has gone, with SIGPIPE ignored.
type epipeWriter struct{}

func (epipeWriter) Write([]byte) (int, error) {
	return 0, fmt.Errorf("write /dev/stdout: %w", syscall.EPIPE)
}

// TestMemoryRefusalOneHint: the --max-memory refusal, whose message ends
// with its fix, is not followed by a hint line repeating it (hostile run:
// every refused run printed the advice twice).
func TestMemoryRefusalOneHint(t *testing.T) {
	// An image whose decoding alone is over the limit is refused as a
	// usage error too, before its pixels exist.
	if code, _, stderr := runCLI(t, baseArgs(t.TempDir(), "--max-memory", "1KB")...); code != exitUsage ||
		!strings.Contains(strings.SplitN(stderr, "\n", 2)[0], "pixels would take about") {
		t.Errorf("--max-memory 1KB: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr := runCLI(t, baseArgs(t.TempDir(), "--max-memory", "1MB")...)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr)
	}
	if !strings.Contains(stderr, "--max-memory is exceeded") || strings.Count(stderr, "give a smaller --width") != 1 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q, want one line with the advice once", stderr)
	}
}

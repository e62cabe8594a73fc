package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// addressSpaceEnv, in a child's environment, lowers the child's soft
// RLIMIT_AS to the address space it has mapped when it starts plus that
// many bytes, as `ulimit -v` would leave a process that much to grow by.
const addressSpaceEnv = "NEURALSTYLE_TEST_AS_HEADROOM"

func init() { childSetup = lowerAddressSpace }

func lowerAddressSpace() {
	v := os.Getenv(addressSpaceEnv)
	if v == "" {
		return
	}
	headroom, err := strconv.ParseInt(v, 10, 64)
	statm, err2 := os.ReadFile("/proc/self/statm")
	pages, err3 := strconv.ParseInt(strings.Fields(string(statm) + " x")[0], 10, 64)
	if err := errors.Join(err, err2, err3); err != nil {
		os.Stderr.WriteString("lowering RLIMIT_AS: " + err.Error() + "\n")
		os.Exit(99)
	}
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &r); err != nil {
		os.Exit(99)
	}
	r.Cur = uint64(pages*int64(os.Getpagesize()) + headroom)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &r); err != nil {
		os.Stderr.WriteString("lowering RLIMIT_AS: " + err.Error() + "\n")
		os.Exit(99)
	}
}

// TestAddressSpaceLimit: under a lowered RLIMIT_AS whose bare figure is
// over the run's estimate but whose room left to grow (beyond the 1.2 GiB
// a Go process maps and never touches) is not, the run is refused with
// the usual --max-memory message before loading anything; it was let
// through and died allocating. With room for the estimate it runs.
func TestAddressSpaceLimit(t *testing.T) {
	dir := t.TempDir()
	network := filepath.Join(dir, "vgg19-random.safetensors")
	writeFullWidthNetwork(t, network)
	// The fixture's content at --width 100 is 100x78, its style 100x62.
	content, style := stylize.Size{W: 100, H: 78}, stylize.Size{W: 100, H: 62}
	est := stylize.EstimatePeakMemory("native", content, []stylize.Size{style}, stylize.DeepestLayer(5, 1), 0)
	spec := &engine.Spec{
		Content: engine.Image{W: content.W, H: content.H}, Styles: []engine.Image{{W: style.W, H: style.H}},
		ContentWeight: 5, ContentLayers: vggtest.Weighted(vgg.ReferenceContentLayers, 1, 0),
		StyleWeight: 500, StyleBlendWeights: []float64{1},
		StyleLayers: vggtest.Weighted(vgg.ReferenceStyleLayers, 0.2, 0.2, 0.2, 0.2, 0.2),
	}
	least, err := native.LeastBytes(spec, vgg.Widths)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("estimate %d MB, least tiled networks %d MB", est>>20, least>>20)
	runChild := func(headroom int64) (int, string) {
		t.Helper()
		cmd := child(t, "--network", network, "--width", "100",
			"--content", filepath.Join(tiny, "content.png"), "--styles", filepath.Join(tiny, "style1.png"),
			"--output", filepath.Join(t.TempDir(), "out.png"), "--iterations", "1", "--seed", "1")
		// Two threads of computation keep the threads' stacks the same on
		// every machine.
		cmd.Env = append(cmd.Env, addressSpaceEnv+"="+strconv.FormatInt(headroom, 10), "GOMAXPROCS=2")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), stderr.String()
	}
	// The weights alone, as loaded and packed, take more than est/3. The
	// 64 MiB more are the stacks of threads the runtime starts before the
	// check (8 MiB each where the test binary links cgo, as the net
	// package makes it do): without them pthread_create failed first.
	code, stderr := runChild(est/3 + 64<<20)
	t.Logf("refused: %s", stderr)
	if code != exitUsage || strings.Count(stderr, "\n") != 1 ||
		!strings.HasPrefix(stderr, "neuralstyle: --max-memory is exceeded: content 100x78, style 100x62 would take about ") ||
		!strings.Contains(stderr, "(RLIMIT_AS of ") {
		t.Errorf("room for a third of the estimate and thread stacks: exit %d, stderr %q; want %d and the --max-memory refusal in one line",
			code, stderr, exitUsage)
	}
	// Room for the estimate, with 256 MiB for the runtime's own growth and
	// 256 MiB for up to 32 more threads' 8 MiB stacks of a cgo test binary:
	// under CPU contention the scheduler starts more threads (measured: a
	// run with 256 MiB in all died at 213 MB of heap when six ran at once).
	// The release binary (CGO_ENABLED=0) has no such stacks.
	if code, stderr := runChild(est + 512<<20); code != exitOK {
		t.Errorf("room for the estimate: exit %d, stderr %q", code, stderr)
	}
}

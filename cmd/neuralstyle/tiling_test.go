package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
	"github.com/neuralstyle/neuralstyle/internal/vgg/vggtest"
)

// writeFullWidthNetwork writes random weights of the real VGG-19's widths
// as a PyTorch state dict in a safetensors file: the memory estimate
// before loading assumes those widths, and a network of the tiny
// fixture's would never need tiling under a limit that the real one's
// weights fit.
func writeFullWidthNetwork(t *testing.T, path string) {
	t.Helper()
	wt := vggtest.RandomWeights(rand.New(rand.NewPCG(3, 4)), vggtest.FullWidths)
	convAt := []int{0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34} // torchvision's features.N
	header := map[string]any{}
	var data [][]float32
	off := 0
	add := func(key string, shape []int, v []float32) {
		header[key] = map[string]any{"dtype": "F32", "shape": shape, "data_offsets": []int{off, off + 4*len(v)}}
		off += 4 * len(v)
		data = append(data, v)
	}
	for i, c := range wt.Conv {
		// The values' order within the kernel is immaterial here: both
		// runs load the same file.
		add(fmt.Sprintf("features.%d.weight", convAt[i]), []int{c.Out, c.In, 3, 3}, c.Kernel)
		add(fmt.Sprintf("features.%d.bias", convAt[i]), []int{c.Out}, c.Bias)
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	buf := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	buf = append(buf, h...)
	for _, v := range data {
		for _, x := range v {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMaxMemoryTiles checks that a --max-memory under the untiled estimate
// but over the least tiled one runs tiled, says its plan and writes the
// untiled run's losses (within 1e-5 relative), and that one under the
// least tiled estimate is refused as a usage error before loading.
func TestMaxMemoryTiles(t *testing.T) {
	dir := t.TempDir()
	network := filepath.Join(dir, "vgg19-random.safetensors")
	writeFullWidthNetwork(t, network)
	// The fixture's content at --width 100 is 100x78, its style 100x62.
	const w, h, sh = 100, 78, 62
	spec := &engine.Spec{
		Content: engine.Image{W: w, H: h}, Styles: []engine.Image{{W: w, H: sh}},
		ContentWeight: 5, ContentLayers: vggtest.Weighted(vgg.ReferenceContentLayers, 1, 0),
		StyleWeight: 500, StyleBlendWeights: []float64{1},
		StyleLayers: vggtest.Weighted(vgg.ReferenceStyleLayers, 0.2, 0.2, 0.2, 0.2, 0.2),
	}
	untiled, err := native.PlanFor(spec, vgg.Widths, 0)
	if err != nil {
		t.Fatal(err)
	}
	least, err := native.LeastBytes(spec, vgg.Widths)
	if err != nil {
		t.Fatal(err)
	}
	est := stylize.EstimatePeakMemory("native", stylize.Size{W: w, H: h}, []stylize.Size{{W: w, H: sh}}, stylize.DeepestLayer(5, 1), 0)
	// A large --eps keeps Adam's steps continuous in the gradient: with the
	// default, the first step is lr times the gradient's sign, which turns
	// the rounding of elements near zero (the tiles sum in another order)
	// into whole steps of opposite signs.
	args := func(out string, extra ...string) []string {
		return append([]string{"--network", network, "--width", strconv.Itoa(w),
			"--content", filepath.Join(tiny, "content.png"), "--styles", filepath.Join(tiny, "style1.png"),
			"--output", filepath.Join(out, "out.png"), "--iterations", "2", "--seed", "1",
			"--print-iterations", "1", "--progress-write", "--eps", "1000"}, extra...)
	}
	runs := map[string][][]float64{}
	for _, c := range []struct {
		name  string
		limit int64
	}{{"untiled", 0}, {"tiled", est - (untiled.Bytes-least)/2}} {
		out := filepath.Join(dir, c.name)
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		extra := []string{"--max-memory", "64GiB"}
		if c.limit > 0 {
			extra = []string{"--max-memory", strconv.FormatInt(c.limit, 10)}
		}
		code, stdout, stderr := runCLI(t, args(out, extra...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d, stderr %q", c.name, code, stderr)
		}
		tiles := strings.Contains(stdout, "\nTiles: ") || strings.HasPrefix(stdout, "Tiles: ")
		if tiles != (c.limit > 0) || (tiles && !strings.Contains(stdout, " tiles of ")) {
			t.Errorf("%s: stdout %q", c.name, stdout)
		}
		runs[c.name] = readProgress(t, filepath.Join(out, "progress.txt"))
	}
	// Coarse to fine under the same limit: the small first scale fits
	// untiled, the last is tiled, and its plan follows its scale's line.
	limit := est - (untiled.Bytes-least)/2
	c2f := args(t.TempDir(), "--max-memory", strconv.FormatInt(limit, 10), "--scales", "50,100", "--scale-iterations", "1,1")
	c2f = slices.Delete(c2f, 2, 4) // --width: the last scale is the width
	code, stdout, stderr := runCLI(t, c2f...)
	if i := strings.Index(stdout, "scale 2/2 (100x78): 1 iterations\nTiles: "); code != exitOK || i < 0 ||
		strings.Contains(stdout[:i], "Tiles:") || !strings.Contains(stdout[i:], "; estimated peak ") {
		t.Errorf("--scales 50,100: exit %d, stdout %q, stderr %q; want the plan after scale 2's line only", code, stdout, stderr)
	}
	want, got := runs["untiled"], runs["tiled"]
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("tiled run has %d rows, untiled %d", len(got), len(want))
	}
	for i := range want {
		for j := range want[i] {
			if math.Abs(got[i][j]-want[i][j]) > 1e-5*math.Abs(want[i][j]) {
				t.Errorf("row %d column %d: tiled %.9g, untiled %.9g", i, j, got[i][j], want[i][j])
			}
		}
	}
	// Under the least tiled estimate: refused before loading.
	code, _, stderr = runCLI(t, args(t.TempDir(), "--max-memory", strconv.FormatInt(est-untiled.Bytes, 10))...)
	if code != exitUsage || !strings.HasPrefix(stderr, "neuralstyle: --max-memory is exceeded: content 100x78, style 100x62") {
		t.Errorf("below the least plan: exit %d, stderr %q", code, stderr)
	}
}

package stylize

import (
	"errors"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/sysmem"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// TestEstimateMemoryIssueCases: the runs of issue 11 that exhausted memory
// are estimated near what they took (4000x1 content, its style scaled to
// 4000x2486: 8.8 GB measured for one iteration) or far over any ordinary
// machine (9000x9000: past 12 GB when it was killed), and a state beyond
// Adam's adds to the estimate byte for byte.
func TestEstimateMemoryIssueCases(t *testing.T) {
	thin := EstimatePeakMemory("native", Size{4000, 1}, []Size{{4000, 2486}}, 13, 0)
	if r := float64(thin) / 8.8e9; r < 0.75 || r > 1.25 {
		t.Errorf("4000x1 with a 4000x2486 style: estimate %s, measured 8.8 GB", sysmem.FormatSize(thin))
	}
	if big := EstimatePeakMemory("native", Size{9000, 9000}, []Size{{9000, 9000}}, 13, 0); big < 12e9 {
		t.Errorf("9000x9000: estimate %s, want over 12 GB", sysmem.FormatSize(big))
	}
	base := EstimatePeakMemory("native", Size{300, 200}, []Size{{300, 200}}, 13, 0)
	if got := EstimatePeakMemory("native", Size{300, 200}, []Size{{300, 200}}, 13, 1<<30); got != base+1<<30 {
		t.Errorf("extra state of 1 GiB: estimate %d, want %d", got, base+1<<30)
	}
	if shallow := EstimatePeakMemory("native", Size{300, 200}, []Size{{300, 200}}, 12, 0); shallow >= base {
		t.Errorf("through relu5_1: estimate %d, want less than through relu5_2's %d", shallow, base)
	}
	if bigger := EstimatePeakMemory("native", Size{600, 400}, []Size{{300, 200}}, 13, 0); bigger <= base {
		t.Errorf("a larger content: estimate %d, want more than %d", bigger, base)
	}
	// TensorFlow keeps every layer's output: more than native, about the
	// 1.3 GB measured at 512x512.
	if tf := EstimatePeakMemory("tensorflow", Size{512, 512}, []Size{{512, 512}}, 13, 0); tf < 1e9 || tf > 1.6e9 {
		t.Errorf("tensorflow at 512x512: estimate %s, measured about 1.3 GB", sysmem.FormatSize(tf))
	}
}

func TestCheckMemory(t *testing.T) {
	content, styles := Size{4000, 1}, []Size{{4000, 2486}}
	est := EstimatePeakMemory("native", content, styles, 13, 0)
	if err := CheckMemory(content, styles, est, sysmem.Limit{Bytes: est, Source: "available RAM"}); err != nil {
		t.Errorf("estimate at the limit: %v", err)
	}
	if err := CheckMemory(content, styles, est, sysmem.Limit{}); err != nil {
		t.Errorf("no limit known: %v", err)
	}
	err := CheckMemory(content, styles, est, sysmem.Limit{Bytes: 4 << 30, Source: "cgroup memory limit"})
	var oe *OptionError
	if !errors.As(err, &oe) || !oe.Usage || oe.Option != "MaxMemory" {
		t.Fatalf("over the limit: %v, want a usage error with everything in its one line", err)
	}
	msg := err.Error()
	for _, want := range []string{"content 4000x1", "style 4000x2486", sysmem.FormatSize(est), "4.00 GiB", "cgroup memory limit",
		"Width", "StyleScales", "MaxMemory"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("message %q is more than one line", msg)
	}
}

func TestDeepestLayer(t *testing.T) {
	for _, tt := range []struct {
		weight, blend float64
		want          vgg.Layer
	}{{5, 1, 12}, {0, 0.3, 12}, {5, 0.3, 13}, {5, 0, 13}} {
		if got := DeepestLayer(tt.weight, tt.blend); got != tt.want {
			t.Errorf("DeepestLayer(%g, %g) = %d, want %d", tt.weight, tt.blend, got, tt.want)
		}
	}
}

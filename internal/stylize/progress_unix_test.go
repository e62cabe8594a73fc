//go:build unix

package stylize

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOutputModes: the output, the checkpoints and the progress files all
// get the mode os.Create gives under the umask.
func TestOutputModes(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	o := tinyOptions(t, &recorder{})
	dir := filepath.Dir(o.Output)
	o.CheckpointOutput, o.CheckpointIterations = filepath.Join(dir, "ck_{}.png"), 2
	o.ProgressWrite, o.ProgressPlot = true, true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v (%v), want 0640 under umask 027", f, st.Mode().Perm(), err)
		}
	}
}

package stylize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
)

// TestChecksBeforeWork: every file the run would write is checked before
// the network is loaded (the engine factory never runs), and an existing
// file is never replaced by a checkpoint without Overwrite.
func TestChecksBeforeWork(t *testing.T) {
	content, err := os.ReadFile(filepath.Join(tiny, "content.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		edit func(t *testing.T, o *Options, dir string)
		want string
	}{
		{"output is a folder", func(t *testing.T, o *Options, dir string) {
			mkdir(t, o.Output)
		}, "is a folder"},
		{"output is a folder, overwrite", func(t *testing.T, o *Options, dir string) {
			mkdir(t, o.Output)
			o.Overwrite = true
		}, "is a folder"},
		{"output's folder is a file", func(t *testing.T, o *Options, dir string) {
			o.Output = filepath.Join(o.Content, "out.png")
		}, "is not a folder"},
		{"progress.txt is a folder", func(t *testing.T, o *Options, dir string) {
			mkdir(t, filepath.Join(dir, "progress.txt"))
			o.ProgressWrite = true
		}, "progress.txt: is a folder"},
		{"progress.png is a folder", func(t *testing.T, o *Options, dir string) {
			mkdir(t, filepath.Join(dir, "progress.png"))
			o.ProgressPlot = true
		}, "progress.png: is a folder"},
		{"first checkpoint is a folder", func(t *testing.T, o *Options, dir string) {
			mkdir(t, filepath.Join(dir, "c0.png"))
			o.CheckpointOutput, o.CheckpointIterations, o.Overwrite = filepath.Join(dir, "c{}.png"), 2, true
		}, "c0.png: is a folder"},
		{"last checkpoint is a folder", func(t *testing.T, o *Options, dir string) {
			mkdir(t, filepath.Join(dir, "c4.png"))
			o.CheckpointOutput, o.CheckpointIterations, o.Overwrite = filepath.Join(dir, "c{}.png"), 2, true
		}, "c4.png: is a folder"},
		{"checkpoint in a missing folder", func(t *testing.T, o *Options, dir string) {
			o.CheckpointOutput, o.CheckpointIterations = filepath.Join(dir, "no", "c{}.png"), 2
		}, "does not exist"},
		{"checkpoint would replace the content", func(t *testing.T, o *Options, dir string) {
			o.Content = filepath.Join(dir, "c0.png")
			writeTestFile(t, o.Content, content)
			o.CheckpointOutput, o.CheckpointIterations = filepath.Join(dir, "c{}.png"), 2
		}, "c0.png already exists, will not replace it without the '--overwrite' flag"},
		{"checkpoint between first and last exists", func(t *testing.T, o *Options, dir string) {
			writeTestFile(t, filepath.Join(dir, "c2.png"), content)
			o.CheckpointOutput, o.CheckpointIterations = filepath.Join(dir, "c{}.png"), 2
		}, "c2.png already exists"},
		{"checkpoint is the output", func(t *testing.T, o *Options, dir string) {
			o.CheckpointOutput, o.CheckpointIterations = filepath.Join(dir, "out{}.png"), 0
			o.Output = filepath.Join(dir, "out4.png")
		}, "is the output"},
		{"jpeg too wide", func(t *testing.T, o *Options, dir string) {
			o.Content = filepath.Join(dir, "wide.png")
			if err := imageio.Save(o.Content, imageio.New(70000, 2)); err != nil {
				t.Fatal(err)
			}
			o.Output = filepath.Join(dir, "out.jpg")
		}, "too large for .jpg"},
		{"jpeg checkpoint too wide", func(t *testing.T, o *Options, dir string) {
			o.Content = filepath.Join(dir, "wide.png")
			if err := imageio.Save(o.Content, imageio.New(70000, 2)); err != nil {
				t.Fatal(err)
			}
			o.CheckpointOutput, o.CheckpointIterations = filepath.Join(dir, "c{}.jpg"), 1
		}, "too large for .jpg"},
		{"unwritable folder", func(t *testing.T, o *Options, dir string) {
			ro := filepath.Join(dir, "ro")
			mkdir(t, ro)
			if err := os.Chmod(ro, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(ro, 0o755) })
			o.Output = filepath.Join(ro, "out.png")
			if f, err := os.Create(filepath.Join(ro, "probe")); err == nil {
				// root writes anywhere: a read-only file system then.
				f.Close()
				os.Remove(filepath.Join(ro, "probe"))
				o.Output = "/proc/out.png"
				if runtime.GOOS != "linux" {
					t.Skip("running as root without /proc: no unwritable folder to test")
				}
			}
		}, "cannot write in folder"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			eng := &recorder{}
			o := tinyOptions(t, eng)
			o.Styles = o.Styles[:1]
			dir := filepath.Dir(o.Output)
			o.MaxPixels = 1 << 30
			tt.edit(t, &o, dir)
			before := listDir(t, dir)
			_, err := Run(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			if eng.weights != nil {
				t.Error("the network was loaded before the check")
			}
			if after := listDir(t, dir); !slices.Equal(before, after) {
				t.Errorf("files before %v, after %v", before, after)
			}
			if data, err := os.ReadFile(o.Content); err != nil || (filepath.Base(o.Content) == "c0.png" && string(data) != string(content)) {
				t.Errorf("the content changed: %v", err)
			}
		})
	}
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestOnlyFinalCheckpoint: CheckpointIterations 0 with CheckpointOutput, as
// the reference's --checkpoint-iterations 0, writes the last checkpoint.
func TestOnlyFinalCheckpoint(t *testing.T) {
	o := tinyOptions(t, &recorder{})
	dir := filepath.Dir(o.Output)
	o.CheckpointOutput, o.CheckpointIterations = filepath.Join(dir, "c{}.png"), 0
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "c4.png"), o.Output}
	if !slices.Equal(res.Files, want) {
		t.Errorf("files %v, want %v", res.Files, want)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"c4.png", "out.png"}) {
		t.Errorf("folder holds %v", got)
	}
}

// TestAppearedOutputKept: a file that appears at the output path during
// the run is kept, and the run says so; with Overwrite it is replaced.
func TestAppearedOutputKept(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		o := tinyOptions(t, &recorder{})
		o.Overwrite = overwrite
		o.Progress = func(ev Event) {
			if ev.Kind == EventStart {
				writeTestFile(t, o.Output, []byte("appeared"))
			}
		}
		_, err := Run(context.Background(), o)
		data, _ := os.ReadFile(o.Output)
		switch {
		case !overwrite && (!errors.Is(err, imageio.ErrAppeared) || string(data) != "appeared"):
			t.Errorf("without Overwrite: error %v, output %q; want ErrAppeared and the file kept", err, data)
		case overwrite && (err != nil || string(data) == "appeared"):
			t.Errorf("with Overwrite: error %v, the appeared file kept %v", err, string(data) == "appeared")
		}
		// Without Overwrite the run's state stays when a state was saved
		// (the last checkpoint's), so that the work is not lost.
		want := []string{filepath.Base(o.Output)}
		if !overwrite && err != nil && strings.Contains(err.Error(), ".state") {
			want = append(want, filepath.Base(StatePath(o.Output)))
		}
		if entries := listDir(t, filepath.Dir(o.Output)); !slices.Equal(entries, want) {
			t.Errorf("files left: %v, want %v", entries, want)
		}
	}
}

// TestCheckpointNameRepeats: a format that gives several numbers one name
// ("%.0s" prints none) replaces the run's own checkpoint, as the
// reference does, instead of failing as if someone else's file appeared.
func TestCheckpointNameRepeats(t *testing.T) {
	o := tinyOptions(t, &recorder{})
	dir := filepath.Dir(o.Output)
	o.CheckpointOutput, o.CheckpointIterations = filepath.Join(dir, "c%.0s.png"), 1
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "c.png"), o.Output}; !slices.Equal(res.Files, want) {
		t.Errorf("files %v, want %v", res.Files, want)
	}
}

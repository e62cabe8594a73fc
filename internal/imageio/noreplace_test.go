package imageio

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSaveNewKeepsAppearedFile: a file that appears at the path while the
// image is encoded is kept, and the error says so; without one the image
// is written; no temporary file stays either way.
func TestSaveNewKeepsAppearedFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.png")
	appear := func(w io.Writer) error {
		if err := os.WriteFile(p, []byte("someone else's"), 0o644); err != nil {
			return err
		}
		_, err := io.WriteString(w, "ours")
		return err
	}
	err := WriteFileNew(p, appear)
	if !errors.Is(err, ErrAppeared) || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("WriteFileNew over a file that appeared: %v, want ErrAppeared", err)
	}
	if data, _ := os.ReadFile(p); string(data) != "someone else's" {
		t.Errorf("the appeared file was replaced: %q", data)
	}
	if err := SaveNew(p, smooth(3, 2)); !errors.Is(err, ErrAppeared) {
		t.Errorf("SaveNew over an existing file: %v, want ErrAppeared", err)
	}
	os.Remove(p)
	if err := SaveNew(p, smooth(3, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(p, ReadOptions{}); err != nil {
		t.Errorf("SaveNew's image: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the folder, want only out.png", len(entries))
	}
}

// TestWriteFollowsSymlink: writing at a link writes the link's target, as
// os.Create does, through a chain of links and to a target not there yet;
// the links stay links.
func TestWriteFollowsSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(sub, "target.png")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.png")
	chain := filepath.Join(dir, "chain.png")
	dangling := filepath.Join(dir, "dangling.png")
	for name, dest := range map[string]string{link: "sub/target.png", chain: "link.png", dangling: filepath.Join(sub, "new.png")} {
		if err := os.Symlink(dest, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{link, chain} {
		if err := Save(p, smooth(3, 2)); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Lstat(p); err != nil || st.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("%s is no longer a link", p)
		}
		if img, err := Read(target, ReadOptions{}); err != nil || img.W != 3 {
			t.Errorf("the target was not written through %s: %v", p, err)
		}
	}
	if err := SaveNew(dangling, smooth(3, 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(filepath.Join(sub, "new.png"), ReadOptions{}); err != nil {
		t.Errorf("a dangling link's target was not created: %v", err)
	}
	if err := CheckWritable(filepath.Join(dir, "loop.png")); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop.png")
	if err := os.Symlink("loop.png", loop); err != nil {
		t.Fatal(err)
	}
	if err := Save(loop, smooth(3, 2)); err == nil {
		t.Error("a link to itself was written")
	}
}

// TestCheckEncodable: sizes the encoders cannot write are refused before
// any work; what they can write passes.
func TestCheckEncodable(t *testing.T) {
	for _, tt := range []struct {
		name string
		w, h int
		ok   bool
	}{
		{"a.jpg", 70000, 2, false},
		{"a.JPEG", 2, 65536, false},
		{"a.jpg", 65535, 2, true},
		{"a.gif", 65536, 1, false},
		{"a.png", 70000, 2, true},
		{"a.bmp", 40000, 40000, false},
		{"a.bmp", 40000, 30000, true},
		{"a.tif", 40000, 40000, false},
		{"a.tif", 4000, 3000, true},
		{"a.xyz", 1, 1, false},
	} {
		err := CheckEncodable(tt.name, tt.w, tt.h)
		if (err == nil) != tt.ok {
			t.Errorf("CheckEncodable(%s, %d, %d) = %v, want ok %v", tt.name, tt.w, tt.h, err, tt.ok)
		}
	}
	if err := Save(filepath.Join(t.TempDir(), "wide.jpg"), New(70000, 1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Save of a 70000-wide JPEG: %v, want ErrTooLarge", err)
	}
}

// TestCheckWritableFolder: a folder where the file goes is refused, also
// through a link, and also for files that are not images.
func TestCheckWritableFolder(t *testing.T) {
	dir := t.TempDir()
	folder := filepath.Join(dir, "out.png")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckWritable(folder); err == nil {
		t.Error("CheckWritable accepts a folder")
	}
	// a folder without an extension is said to be a folder
	if err := CheckWritable(dir); err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("CheckWritable(a folder without extension) = %v, want it to say it is a folder", err)
	}
	if err := CheckWritableFile(filepath.Join(dir, "progress.txt")); err != nil {
		t.Errorf("CheckWritableFile(progress.txt): %v", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "progress.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckWritableFile(filepath.Join(dir, "progress.txt")); err == nil {
		t.Error("CheckWritableFile accepts a folder")
	}
}

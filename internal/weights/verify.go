package weights

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/neuralstyle/neuralstyle/internal/fifo"
)

// KnownFile is an official network file and its checksums (either may be
// empty where it is not known).
type KnownFile struct {
	Name   string // what it is, for messages
	SHA256 string // lower-case hex
	MD5    string
}

// Known are the official imagenet-vgg-verydeep-19.mat files: the current
// one (new layout, meta.normalization) and the beta16 one (old layout,
// top-level normalization), whose MD5s the reference's comments give.
var Known = []KnownFile{
	{Name: "imagenet-vgg-verydeep-19.mat (MatConvNet, new layout)",
		SHA256: OfficialSHA256, MD5: "106118b7cf60435e6d8e04f6a6dc3657"},
	{Name: "imagenet-vgg-verydeep-19.mat (MatConvNet beta16, old layout)",
		MD5: "8ee3263992981a1d26e73b3ca028a123"},
}

// OfficialSHA256 is the SHA-256 of the file at OfficialURL.
const OfficialSHA256 = "abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695"

// Sums are a file's checksums.
type Sums struct {
	Size   int64
	SHA256 string
	MD5    string
}

// HashFile computes the SHA-256 and MD5 of a file in one pass. A pipe or
// FIFO is hashed as it comes; when ctx is done, even while the open waits
// for a FIFO's writer or a read for a silent writer, it gives up with an
// error wrapping ctx.Err().
func HashFile(ctx context.Context, path string) (Sums, error) {
	f, err := fifo.Open(ctx, path)
	if errors.Is(err, fifo.ErrNoWriter) {
		return Sums{}, fmt.Errorf("%s: %w", path, err)
	}
	if err != nil {
		return Sums{}, err
	}
	defer f.Close()
	// A blocked read of a pipe returns once its deadline passes (regular
	// files have none; their reads do not block).
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	defer stop()
	s, m := sha256.New(), md5.New()
	n, err := io.CopyBuffer(io.MultiWriter(s, m), ctxReader{ctx, f}, make([]byte, 1<<20))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			err = cerr
		}
		return Sums{}, fmt.Errorf("hashing %s: %w", path, err)
	}
	return Sums{Size: n, SHA256: hex.EncodeToString(s.Sum(nil)), MD5: hex.EncodeToString(m.Sum(nil))}, nil
}

// ctxReader stops a long read when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Match finds the entry of known that sums match, or nil.
func Match(sums Sums, known []KnownFile) *KnownFile {
	for i, k := range known {
		if (k.SHA256 != "" && k.SHA256 == sums.SHA256) || (k.SHA256 == "" && k.MD5 != "" && k.MD5 == sums.MD5) {
			return &known[i]
		}
	}
	return nil
}

// NormalizeSHA256 checks a hex SHA-256 given by a user and lower-cases it.
func NormalizeSHA256(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if b, err := hex.DecodeString(s); err != nil || len(b) != sha256.Size {
		return "", fmt.Errorf("--sha256 %q is not a SHA-256 (64 hex digits)", s)
	}
	return s, nil
}

// MismatchError says that a file does not have the expected checksum.
type MismatchError struct {
	Path string
	Got  Sums
	// Want is the SHA-256 that was expected; empty when the file was
	// compared with the Known files.
	Want string
}

func (e *MismatchError) Error() string {
	if e.Want != "" {
		return fmt.Sprintf("%s: SHA-256 %s, want %s: the file is corrupt or not the one expected", e.Path, e.Got.SHA256, e.Want)
	}
	return fmt.Sprintf("%s: SHA-256 %s (MD5 %s) matches no official imagenet-vgg-verydeep-19.mat: the file is corrupt or another network (check it against a hash of your own with --sha256)",
		e.Path, e.Got.SHA256, e.Got.MD5)
}

// Verify hashes path and compares it with want (a hex SHA-256) or, when
// want is empty, with the Known files. It returns the known file matched
// (nil when want is given), the sums, and a *MismatchError on a mismatch.
func Verify(ctx context.Context, path, want string) (*KnownFile, Sums, error) {
	if want != "" {
		var err error
		if want, err = NormalizeSHA256(want); err != nil {
			return nil, Sums{}, err
		}
	}
	sums, err := HashFile(ctx, path)
	if err != nil {
		return nil, Sums{}, err
	}
	if want != "" {
		if sums.SHA256 != want {
			return nil, sums, &MismatchError{Path: path, Got: sums, Want: want}
		}
		return nil, sums, nil
	}
	if k := Match(sums, Known); k != nil {
		return k, sums, nil
	}
	return nil, sums, &MismatchError{Path: path, Got: sums}
}

// Checker hashes official network files in the background of a run and
// remembers the result per file, so that a file is hashed once.
type Checker struct {
	// Known are the files to compare with.
	Known []KnownFile
	// CacheFile holds the sums of files already hashed, keyed by absolute
	// path, size and modification time. Empty: no cache.
	CacheFile string
	// Names are the base names of the files checked; others are not
	// hashed (a Caffe or PyTorch file has no official checksum here).
	Names []string

	mu sync.Mutex // serialises the cache's read-modify-write
}

// DefaultChecker compares official-looking files with Known and caches its
// results in the user cache folder (neuralstyle/hashes.json).
var DefaultChecker = newDefaultChecker()

func newDefaultChecker() *Checker {
	c := &Checker{Known: Known, Names: []string{DefaultName}}
	if d, err := os.UserCacheDir(); err == nil {
		c.CacheFile = filepath.Join(d, "neuralstyle", "hashes.json")
	}
	return c
}

// StartCheck starts DefaultChecker on path. See Checker.Start.
func StartCheck(path string) (wait func() (warning string)) {
	return DefaultChecker.Start(path)
}

// Start hashes path in the background when its base name is one of
// c.Names, and returns a function that waits for the result: a one-line
// warning when the file matches none of the known files, else "". Errors
// (an unreadable file, a cache that cannot be written) give no warning:
// the load reports a file it cannot read.
func (c *Checker) Start(path string) (wait func() (warning string)) {
	if !c.wants(path) {
		return func() string { return "" }
	}
	done := make(chan string, 1)
	go func() { done <- c.check(path) }()
	return sync.OnceValue(func() string { return <-done })
}

func (c *Checker) wants(path string) bool {
	base := filepath.Base(path)
	for _, n := range c.Names {
		if base == n {
			return true
		}
	}
	return false
}

// cacheEntry is one file's line in the cache.
type cacheEntry struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
	SHA256  string `json:"sha256"`
	MD5     string `json:"md5"`
}

func (c *Checker) check(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	st, err := os.Stat(abs)
	if err != nil {
		return ""
	}
	key := cacheEntry{Size: st.Size(), ModTime: st.ModTime().UnixNano()}
	sums, ok := c.cached(abs, key)
	if !ok {
		if sums, err = HashFile(context.Background(), abs); err != nil {
			return ""
		}
		// A file changed while it was hashed is not cached.
		if st2, err := os.Stat(abs); err == nil && st2.Size() == key.Size && st2.ModTime().Equal(st.ModTime()) {
			key.SHA256, key.MD5 = sums.SHA256, sums.MD5
			c.store(abs, key)
		}
	}
	if Match(sums, c.Known) != nil {
		return ""
	}
	return fmt.Sprintf("warning: %s is not the official %s (SHA-256 %s): it may be corrupt; check it with 'neuralstyle weights verify %s' or fetch it again with '%s'",
		path, filepath.Base(path), sums.SHA256, path, DownloadCommand)
}

func (c *Checker) readCache() map[string]cacheEntry {
	m := map[string]cacheEntry{}
	if c.CacheFile == "" {
		return m
	}
	data, err := os.ReadFile(c.CacheFile)
	if err != nil {
		return m
	}
	if json.Unmarshal(data, &m) != nil {
		return map[string]cacheEntry{} // a damaged cache is rebuilt
	}
	return m
}

func (c *Checker) cached(abs string, key cacheEntry) (Sums, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.readCache()[abs]
	if !ok || e.Size != key.Size || e.ModTime != key.ModTime || e.SHA256 == "" {
		return Sums{}, false
	}
	return Sums{Size: e.Size, SHA256: e.SHA256, MD5: e.MD5}, true
}

func (c *Checker) store(abs string, e cacheEntry) {
	if c.CacheFile == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.readCache()
	m[abs] = e
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return
	}
	if err := writeFileAtomic(c.CacheFile, data); err != nil {
		return
	}
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so that a reader never sees half a file.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}

package weights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// OfficialURL is where MatConvNet publishes imagenet-vgg-verydeep-19.mat.
const OfficialURL = "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat"

// DefaultStallTimeout is how long a download may receive nothing before it
// is abandoned.
const DefaultStallTimeout = 30 * time.Second

// DownloadOptions configure Download. The zero value fetches the official
// file into the data folder.
type DownloadOptions struct {
	URL    string // default OfficialURL
	SHA256 string // expected hex SHA-256; default OfficialSHA256
	Dir    string // default DataDir()
	// Client does the requests; default a client on http.DefaultTransport,
	// which honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY.
	Client *http.Client
	// StallTimeout bounds the time without a byte received; default
	// DefaultStallTimeout.
	StallTimeout time.Duration
	// Progress, if set, is called as bytes arrive with the bytes on disk
	// and the total (-1 when the server does not say).
	Progress func(done, total int64)
	// Resumed, if set, is called once with the bytes of a previous cut
	// download that the server agreed to continue.
	Resumed func(from int64)
}

// DownloadResult says what Download did.
type DownloadResult struct {
	Path string
	// AlreadyThere is set when the file was in place with the right
	// checksum, and nothing was fetched.
	AlreadyThere bool
	Bytes        int64 // size of the file
}

// StallError is returned when a server sends nothing for the stall timeout.
type StallError struct {
	Host    string
	Timeout time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("stalled: no data for %s from %s", e.Timeout, e.Host)
}

// HTTPError is an HTTP status other than success.
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("HTTP %s from %s", e.Status, e.URL)
}

// CutError is a download that ended before its end; the bytes received are
// kept in Part, and the next Download continues from there.
type CutError struct {
	Part        string
	Done, Total int64
	Err         error
}

func (e *CutError) Error() string {
	total := "?"
	if e.Total >= 0 {
		total = strconv.FormatInt(e.Total, 10)
	}
	return fmt.Sprintf("download cut after %d of %s bytes (%v); run the command again to resume from %s", e.Done, total, e.Err, e.Part)
}

func (e *CutError) Unwrap() error { return e.Err }

// Download fetches the network into DIR/imagenet-vgg-verydeep-19.mat: into
// a .part file first, continued with an HTTP Range request if an earlier
// download was cut, then checked against the SHA-256 and renamed into
// place. On a wrong checksum the .part file is removed and a
// *MismatchError returned, so nothing is left; a cut download keeps its
// .part and gives a *CutError. A file already in place with the right
// checksum is not fetched again.
func Download(ctx context.Context, o DownloadOptions) (DownloadResult, error) {
	if o.URL == "" {
		o.URL = OfficialURL
	}
	if o.SHA256 == "" {
		o.SHA256 = OfficialSHA256
	}
	want, err := NormalizeSHA256(o.SHA256)
	if err != nil {
		return DownloadResult{}, err
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return DownloadResult{}, fmt.Errorf("--url %q is not an http or https URL", o.URL)
	}
	if o.Dir == "" {
		if o.Dir, err = DataDir(); err != nil {
			return DownloadResult{}, fmt.Errorf("no data folder (%w); give one with --to DIR", err)
		}
	}
	if o.Client == nil {
		o.Client = defaultClient()
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return DownloadResult{}, err
	}
	final := filepath.Join(o.Dir, DefaultName)
	if st, err := os.Stat(final); err == nil && !st.IsDir() {
		if sums, err := HashFile(ctx, final); err == nil && sums.SHA256 == want {
			return DownloadResult{Path: final, AlreadyThere: true, Bytes: sums.Size}, nil
		}
		// A corrupt file in place: fetch again, and replace it only once
		// the new one checks out.
	}
	d := &downloader{o: o, url: o.URL, host: u.Host, part: final + ".part", want: want}
	size, sum, err := d.fetch(ctx)
	if err != nil {
		// An empty .part (the server refused at once) is no use to a
		// later resume.
		if st, serr := os.Stat(d.part); serr == nil && st.Size() == 0 {
			os.Remove(d.part)
		}
		return DownloadResult{}, err
	}
	if sum != want {
		os.Remove(d.part)
		return DownloadResult{}, &MismatchError{Path: o.URL, Got: Sums{Size: size, SHA256: sum}, Want: want}
	}
	if err := os.Rename(d.part, final); err != nil {
		return DownloadResult{}, err
	}
	return DownloadResult{Path: final, Bytes: size}, nil
}

// defaultClient uses net/http's default transport, whose Proxy is
// http.ProxyFromEnvironment. No overall timeout: a 500 MB download may take
// long, and the stall timer catches a dead connection.
func defaultClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport}
}

type downloader struct {
	o          DownloadOptions
	url, host  string
	part, want string
}

// fetch brings the whole file into d.part and returns its size and SHA-256.
func (d *downloader) fetch(ctx context.Context) (int64, string, error) {
	f, err := os.OpenFile(d.part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	// Two tries: a server may refuse to continue a cut download (200
	// instead of 206, or 416), and then it starts from the beginning.
	for try := 0; ; try++ {
		have, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, "", err
		}
		h := sha256.New()
		if have > 0 {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return 0, "", err
			}
			if _, err := io.CopyN(h, f, have); err != nil {
				return 0, "", fmt.Errorf("reading %s: %w", d.part, err)
			}
		}
		if have > 0 && hex.EncodeToString(h.Sum(nil)) == d.want {
			// Complete already: an earlier run stopped before the rename.
			return have, d.want, nil
		}
		size, restart, err := d.get(ctx, f, have, h)
		if restart && try == 0 {
			if err := f.Truncate(0); err != nil {
				return 0, "", err
			}
			continue
		}
		if err != nil {
			return 0, "", err
		}
		if err := f.Sync(); err != nil {
			return 0, "", err
		}
		return size, hex.EncodeToString(h.Sum(nil)), nil
	}
}

// get does one request for the bytes from have on, appending them to f
// and h. restart asks for a new try from byte 0.
func (d *downloader) get(ctx context.Context, f *os.File, have int64, h hash.Hash) (size int64, restart bool, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := &StallError{Host: d.host, Timeout: d.o.StallTimeout}
	timer := time.AfterFunc(d.o.StallTimeout, func() { cancel(stall) })
	defer timer.Stop()
	// The cause of a failure: the stall, rather than the context error it
	// makes the transport return.
	cause := func(err error) error {
		if c := context.Cause(ctx); errors.Is(c, stall) {
			return stall
		}
		return err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return 0, false, err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := d.o.Client.Do(req)
	if err != nil {
		return 0, false, cause(err)
	}
	defer resp.Body.Close()
	total := int64(-1)
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, _, length, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return 0, true, fmt.Errorf("server sent range %q for bytes=%d-", resp.Header.Get("Content-Range"), have)
		}
		total = length
		if d.o.Resumed != nil {
			d.o.Resumed(have)
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			// The server ignores ranges: start again.
			if err := f.Truncate(0); err != nil {
				return 0, false, err
			}
			h.Reset()
			have = 0
		}
		total = resp.ContentLength
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		return 0, true, &HTTPError{URL: d.url, StatusCode: resp.StatusCode, Status: resp.Status}
	default:
		return 0, false, &HTTPError{URL: d.url, StatusCode: resp.StatusCode, Status: resp.Status}
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return 0, false, err
	}
	done := have
	if d.o.Progress != nil {
		d.o.Progress(done, total)
	}
	buf := make([]byte, 256<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			timer.Reset(d.o.StallTimeout)
			if _, err := f.Write(buf[:n]); err != nil {
				return 0, false, fmt.Errorf("writing %s: %w", d.part, err)
			}
			h.Write(buf[:n])
			done += int64(n)
			if d.o.Progress != nil {
				d.o.Progress(done, total)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, false, &CutError{Part: d.part, Done: done, Total: total, Err: cause(rerr)}
		}
	}
	if total >= 0 && done != total {
		return 0, false, &CutError{Part: d.part, Done: done, Total: total, Err: io.ErrUnexpectedEOF}
	}
	return done, false, nil
}

// parseContentRange parses "bytes START-END/LENGTH" (LENGTH may be "*",
// then -1).
func parseContentRange(s string) (start, end, length int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, total, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	length = -1
	if total != "*" {
		length, err3 = strconv.ParseInt(total, 10, 64)
	}
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start {
		return 0, 0, 0, false
	}
	return start, end, length, true
}

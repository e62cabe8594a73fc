package weights

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// payload is the "network" the test servers serve.
var payload = func() []byte {
	b := make([]byte, 3<<20+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

func payloadSHA() string {
	s := sha256.Sum256(payload)
	return hex.EncodeToString(s[:])
}

// server serves payload at /vgg.mat with ranges (http.ServeContent), and
// records the Range header of each request.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
	// cutAt, when positive, makes the next full response stop after that
	// many bytes and drop the connection.
	cutAt int
	// noRanges makes the server ignore Range headers.
	noRanges bool
}

func newServer(t *testing.T) *server {
	s := &server{}
	mux := http.NewServeMux()
	mux.HandleFunc("/vgg.mat", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		cut := s.cutAt
		s.cutAt = 0
		noRanges := s.noRanges
		s.mu.Unlock()
		if cut > 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
			w.Write(payload[:cut])
			w.(http.Flusher).Flush()
			// Returning short of Content-Length makes the server close
			// the connection: the client sees the body end early.
			return
		}
		if noRanges {
			r.Header.Del("Range")
		}
		http.ServeContent(w, r, "vgg.mat", time.Time{}, bytes.NewReader(payload))
	})
	mux.Handle("/moved", http.RedirectHandler("/vgg.mat", http.StatusFound))
	mux.HandleFunc("/stall-body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.Write(payload[:1000])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/stall-headers", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *server) opts(dir, path string) DownloadOptions {
	return DownloadOptions{URL: s.URL + path, SHA256: payloadSHA(), Dir: dir, Client: s.Client(), StallTimeout: 5 * time.Second}
}

func checkDownloaded(t *testing.T, dir string) {
	t.Helper()
	got, err := os.ReadFile(filepath.Join(dir, DefaultName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("downloaded %d bytes, not the payload", len(got))
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultName+".part")); err == nil {
		t.Fatal(".part left behind")
	}
}

func TestDownload(t *testing.T) {
	s := newServer(t)
	dir := filepath.Join(t.TempDir(), "data", "neuralstyle")
	o := s.opts(dir, "/vgg.mat")
	var last, total int64
	o.Progress = func(d, t int64) { last, total = d, t }
	res, err := Download(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, dir)
	if res.AlreadyThere || res.Bytes != int64(len(payload)) || res.Path != filepath.Join(dir, DefaultName) {
		t.Errorf("result %+v", res)
	}
	if last != int64(len(payload)) || total != int64(len(payload)) {
		t.Errorf("last progress %d of %d", last, total)
	}
	// Again: nothing fetched.
	n := len(s.ranges)
	res, err = Download(context.Background(), o)
	if err != nil || !res.AlreadyThere || len(s.ranges) != n {
		t.Errorf("second download: %+v, %v, %d requests", res, err, len(s.ranges)-n)
	}
}

func TestDownloadResumesAfterACut(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	const cut = 1<<20 + 7
	s.cutAt = cut
	_, err := Download(context.Background(), s.opts(dir, "/vgg.mat"))
	var ce *CutError
	if !errors.As(err, &ce) {
		t.Fatalf("cut download: %v, want a *CutError", err)
	}
	st, err := os.Stat(filepath.Join(dir, DefaultName+".part"))
	if err != nil || st.Size() != cut {
		t.Fatalf(".part after the cut: %v, %v; want %d bytes", st, err, cut)
	}
	if _, err := os.Stat(filepath.Join(dir, DefaultName)); err == nil {
		t.Fatal("a cut download was renamed into place")
	}
	o := s.opts(dir, "/vgg.mat")
	var resumed int64 = -1
	o.Resumed = func(from int64) { resumed = from }
	if _, err := Download(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, dir)
	if got := s.ranges[len(s.ranges)-1]; got != "bytes="+strconv.Itoa(cut)+"-" {
		t.Errorf("resume sent Range %q", got)
	}
	if resumed != cut {
		t.Errorf("Resumed(%d), want %d", resumed, cut)
	}
}

func TestDownloadRestartsWhenTheServerIgnoresRanges(t *testing.T) {
	s := newServer(t)
	s.noRanges = true
	dir := t.TempDir()
	// A .part that is not even the payload's start: a 200 replaces it.
	if err := os.WriteFile(filepath.Join(dir, DefaultName+".part"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Download(context.Background(), s.opts(dir, "/vgg.mat")); err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, dir)
}

func TestDownloadCompletePartIsNotFetchedAgain(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DefaultName+".part"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Download(context.Background(), s.opts(dir, "/vgg.mat")); err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, dir)
	if len(s.ranges) != 0 {
		t.Errorf("%d requests for a complete .part", len(s.ranges))
	}
}

func TestDownloadWrongChecksumLeavesNothing(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	o := s.opts(dir, "/vgg.mat")
	o.SHA256 = strings.Repeat("ab", 32)
	_, err := Download(context.Background(), o)
	var me *MismatchError
	if !errors.As(err, &me) || me.Got.SHA256 != payloadSHA() {
		t.Fatalf("%v, want a *MismatchError", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}

func TestDownloadFollowsRedirects(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	if _, err := Download(context.Background(), s.opts(dir, "/moved")); err != nil {
		t.Fatal(err)
	}
	checkDownloaded(t, dir)
}

func TestDownloadHTTPError(t *testing.T) {
	s := newServer(t)
	dir := t.TempDir()
	_, err := Download(context.Background(), s.opts(dir, "/missing.mat"))
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 404 || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "/missing.mat") {
		t.Fatalf("%v, want an HTTP 404 error naming the URL", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}

func TestDownloadStall(t *testing.T) {
	s := newServer(t)
	host := strings.TrimPrefix(s.URL, "http://")
	for _, path := range []string{"/stall-body", "/stall-headers"} {
		dir := t.TempDir()
		o := s.opts(dir, path)
		o.StallTimeout = 300 * time.Millisecond
		start := time.Now()
		_, err := Download(context.Background(), o)
		var se *StallError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "stalled: no data for 300ms from "+host) {
			t.Fatalf("%s: %v, want a stall error naming %s", path, err, host)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s: gave up after %v", path, d)
		}
	}
}

func TestDownloadBadOptions(t *testing.T) {
	for _, o := range []DownloadOptions{
		{URL: "ftp://example.com/x.mat", Dir: t.TempDir()},
		{URL: "http://example.com/x.mat", SHA256: "abc", Dir: t.TempDir()},
	} {
		if _, err := Download(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	for _, c := range []struct {
		in                 string
		start, end, length int64
		ok                 bool
	}{
		{"bytes 100-199/200", 100, 199, 200, true},
		{"bytes 0-9/*", 0, 9, -1, true},
		{"bytes 9-0/10", 0, 0, 0, false},
		{"items 0-9/10", 0, 0, 0, false},
		{"bytes x-9/10", 0, 0, 0, false},
	} {
		s, e, l, ok := parseContentRange(c.in)
		if ok != c.ok || (ok && (s != c.start || e != c.end || l != c.length)) {
			t.Errorf("%q: %d %d %d %v", c.in, s, e, l, ok)
		}
	}
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := NewProgress(&b, false)
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	const total = 100 << 20
	for done := int64(0); done <= total; done += 1 << 20 {
		p.Update(done, total)
		now = now.Add(100 * time.Millisecond)
	}
	p.Finish()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines, want one per 10%%:\n%s", len(lines), b.String())
	}
	if want := "10.5 MB / 104.9 MB  10%  10.5 MB/s  ETA 0:09"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	var live strings.Builder
	p = NewProgress(&live, true)
	p.now = func() time.Time { return now }
	p.Update(0, total)
	now = now.Add(time.Second)
	p.Update(total/2, total)
	p.Finish()
	if s := live.String(); !strings.Contains(s, "\r[============            ] 52.4 MB / 104.9 MB  50%  52.4 MB/s  ETA 0:01") || !strings.HasSuffix(s, "\n") {
		t.Errorf("live bar %q", s)
	}
}

// Proxies: the default client goes through http.ProxyFromEnvironment
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). Set in-process, the variables would
// be read once per test binary, so the wiring is what is checked.
func TestDefaultClientHonoursProxyVariables(t *testing.T) {
	tr, ok := defaultClient().Transport.(*http.Transport)
	if !ok || tr.Proxy == nil {
		t.Fatalf("default transport %T has no proxy function", defaultClient().Transport)
	}
	if reflect.ValueOf(tr.Proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Error("the default transport's proxy is not http.ProxyFromEnvironment")
	}
}

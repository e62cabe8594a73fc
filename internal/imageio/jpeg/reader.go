package jpeg

import "io"

// source is a buffered reader over the input that can look two bytes ahead,
// which marker detection in entropy-coded data needs.
type source struct {
	r        io.Reader
	buf      []byte
	pos, end int
	err      error // the first read error (io.EOF at the end)
}

func newSource(r io.Reader) *source { return &source{r: r, buf: make([]byte, 64<<10)} }

// ensure makes at least n (at most len(buf)) bytes available and reports
// whether it could.
func (s *source) ensure(n int) bool {
	if s.end-s.pos >= n {
		return true
	}
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	for s.end < n && s.err == nil {
		var k int
		k, s.err = s.r.Read(s.buf[s.end:])
		s.end += k
	}
	return s.end-s.pos >= n
}

func (s *source) readErr() error {
	if s.err == nil || s.err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return s.err
}

func (s *source) readByte() (byte, error) {
	if s.pos == s.end && !s.ensure(1) {
		return 0, s.readErr()
	}
	b := s.buf[s.pos]
	s.pos++
	return b, nil
}

func (s *source) readUint16() (int, error) {
	if !s.ensure(2) {
		return 0, s.readErr()
	}
	v := int(s.buf[s.pos])<<8 | int(s.buf[s.pos+1])
	s.pos += 2
	return v, nil
}

// readFull fills p.
func (s *source) readFull(p []byte) error {
	for len(p) > 0 {
		if s.pos == s.end && !s.ensure(1) {
			return s.readErr()
		}
		k := copy(p, s.buf[s.pos:s.end])
		s.pos += k
		p = p[k:]
	}
	return nil
}

func (s *source) skip(n int) error {
	for n > 0 {
		if s.pos == s.end && !s.ensure(1) {
			return s.readErr()
		}
		k := min(n, s.end-s.pos)
		s.pos += k
		n -= k
	}
	return nil
}

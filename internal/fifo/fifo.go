// Package fifo opens files that may be named pipes without blocking past a
// context: opening a FIFO waits until something opens it for writing, and a
// Ctrl-C must be able to end that wait.
package fifo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNoWriter is wrapped (with ctx.Err()) by Open's error when ctx was done
// while a FIFO waited for its writer.
var ErrNoWriter = errors.New("interrupted while waiting for a writer (a FIFO that nothing writes to?)")

// Open opens path for reading. A FIFO is opened in the background, and when
// ctx is done first Open gives up with an error wrapping ErrNoWriter and
// ctx.Err(); the abandoned open closes what it gets. Anything else is
// os.Open.
func Open(ctx context.Context, path string) (*os.File, error) {
	if st, err := os.Stat(path); ctx.Done() == nil || err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		return os.Open(path)
	}
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(path)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		return o.f, o.err
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, fmt.Errorf("%w: %w", ErrNoWriter, ctx.Err())
	}
}

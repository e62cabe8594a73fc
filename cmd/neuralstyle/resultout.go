package main

import (
	"errors"
	"fmt"
	"io"
	"syscall"
)

// resultWriter is the stdout of a command whose output is its result
// ("neuralstyle weights path", "weights verify"): it keeps the first write
// error, which the command then returns, so that "weights path >/dev/full"
// exits 1 with the reason instead of 0 with nothing written. A reader that
// went away (EPIPE: "| head -1" after the line it wanted) is no failure.
type resultWriter struct {
	w   io.Writer
	err error
}

func (r *resultWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && r.err == nil && !errors.Is(err, syscall.EPIPE) {
		r.err = err
	}
	return n, err
}

// check is the error to end the command with: nil, or the write error.
func (r *resultWriter) check() error {
	if r.err != nil {
		return fmt.Errorf("cannot write the result to stdout: %w", r.err)
	}
	return nil
}

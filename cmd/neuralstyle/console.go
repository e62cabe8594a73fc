package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/neuralstyle/neuralstyle/internal/imageio"
)

// progressWriter passes the progress lines to stdout until a write fails
// (a closed pipe: "neuralstyle ... | head -2", a full disk), says so once
// on stderr and drops the rest: the run, and its image, matter more than
// its log.
type progressWriter struct {
	w, errw io.Writer
	failed  bool
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if p.failed {
		return len(b), nil
	}
	if _, err := p.w.Write(b); err != nil {
		p.failed = true
		fmt.Fprintf(p.errw, "neuralstyle: cannot write the progress to stdout (%v); going on without it\n", err)
	}
	return len(b), nil
}

// signals turns the signals that stop a run into the cancellation of its
// context: the first SIGINT, SIGTERM or SIGHUP (a closed terminal) stops
// the run after the current iteration, which then writes the best image so
// far; a second quits at once without writing.
type signals struct {
	ch     chan os.Signal
	cancel func()
	stderr io.Writer
	// announce: a run is under way without -q, so the first signal is
	// said to stop it after this iteration (a weights command says
	// nothing: it has no iterations).
	announce atomic.Bool
}

// watchSignals starts watching; stop ends it. SIGPIPE is ignored, so that
// writing to a closed stdout is an error the progressWriter sees instead of
// the end of the process with no image.
func watchSignals(cancel func(), stderr io.Writer) *signals {
	s := &signals{ch: make(chan os.Signal, 2), cancel: cancel, stderr: stderr}
	signal.Ignore(syscall.SIGPIPE)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		// A signal ignored from the start stays ignored: Notify would
		// undo "nohup neuralstyle ... &" (SIGHUP) or a shell's background
		// job (SIGINT).
		if !signal.Ignored(sig) {
			signal.Notify(s.ch, sig)
		}
	}
	go s.loop()
	return s
}

func (s *signals) loop() {
	n := 0
	for range s.ch {
		n++
		if n > 1 {
			fmt.Fprintln(s.stderr, "neuralstyle: interrupted again; quitting without writing")
			imageio.RemovePartial()
			os.Exit(exitInterrupt)
		}
		if s.announce.Load() {
			fmt.Fprintln(s.stderr, "\nneuralstyle: stopping after this iteration to write the best image so far (Ctrl-C again to quit at once)")
		}
		s.cancel()
	}
}

func (s *signals) stop() {
	signal.Stop(s.ch)
	close(s.ch)
}

//go:build unix

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// child is the command run in a child process (see TestMain).
func child(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	return cmd
}

// TestClosedStdout: with stdout a pipe nobody reads ("| head -2" once head
// has quit), the run goes on, says so once on stderr, writes the image and
// exits 0, instead of dying of SIGPIPE with nothing written.
func TestClosedStdout(t *testing.T) {
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cmd := child(t, baseArgs(dir, "--iterations", "5", "--print-iterations", "1")...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	err = cmd.Run()
	w.Close()
	if err != nil {
		t.Fatalf("the run failed: %v\nstderr: %s", err, stderr.String())
	}
	if n := strings.Count(stderr.String(), "cannot write the progress to stdout"); n != 1 {
		t.Errorf("stderr says %d times that stdout failed, want once:\n%s", n, stderr.String())
	}
	decode(t, filepath.Join(dir, "out.png"))
}

// TestStopSignals: SIGHUP stops a run as SIGINT does, after the current
// iteration with the best image written and exit status 130; -q silences
// the "stopping after this iteration" notice.
func TestStopSignals(t *testing.T) {
	for _, tt := range []struct {
		name   string
		sig    syscall.Signal
		quiet  bool
		notice bool
	}{
		{"SIGHUP", syscall.SIGHUP, false, true},
		{"SIGINT -q", syscall.SIGINT, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := baseArgs(dir, "--iterations", "100000", "--print-iterations", "1")
			if tt.quiet {
				args = append(args, "-q")
			}
			if tt.quiet {
				// -q prints nothing: wait for the first checkpoint instead.
				args = append(args, "--checkpoint-output", filepath.Join(dir, "c{}.png"), "--checkpoint-iterations", "1000000")
			}
			cmd := child(t, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			var stdout io.Reader
			if !tt.quiet {
				pipe, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				stdout = pipe
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			if err := waitRunning(stdout, filepath.Join(dir, "c0.png")); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			if stdout != nil {
				go io.Copy(io.Discard, stdout)
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupt {
				t.Fatalf("exit %v, want status %d\nstderr: %s", err, exitInterrupt, stderr.String())
			}
			decode(t, filepath.Join(dir, "out.png"))
			if got := strings.Contains(stderr.String(), "stopping after this iteration"); got != tt.notice {
				t.Errorf("stderr %q: notice shown %v, want %v", stderr.String(), got, tt.notice)
			}
			if tt.quiet && stderr.Len() != 0 {
				t.Errorf("-q printed %q", stderr.String())
			}
		})
	}
}

// waitRunning waits until the optimisation runs: the second iteration's
// line on stdout, or, without stdout, the file ready.
func waitRunning(stdout io.Reader, ready string) error {
	deadline := time.Now().Add(60 * time.Second)
	if stdout == nil {
		for time.Now().Before(deadline) {
			if _, err := os.Stat(ready); err == nil {
				return nil
			}
			time.Sleep(10 * time.Millisecond)
		}
		return errors.New("the run did not start within a minute")
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Iteration    2/") {
			return nil
		}
	}
	return errors.New("the run ended before its second iteration")
}

// TestNohup: a run started with SIGHUP ignored (nohup) goes on after a
// SIGHUP; Ctrl-C still stops it.
func TestNohup(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// trap '' ignores the signal; exec keeps it ignored, as nohup does.
	cmd := exec.Command(sh, append([]string{"-c", `trap '' HUP; exec "$0" "$@"`, exe},
		baseArgs(dir, "--iterations", "100000", "--print-iterations", "1")...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	waitFor := func(prefix string) bool {
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), prefix) {
				return true
			}
		}
		return false
	}
	if !waitFor("Iteration    2/") {
		t.Fatalf("the run did not start: %s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !waitFor("Iteration   20/") {
		t.Fatalf("the run stopped on a SIGHUP it was started ignoring: %s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, stdout)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupt {
		t.Fatalf("exit %v, want status %d\nstderr: %s", err, exitInterrupt, stderr.String())
	}
	decode(t, filepath.Join(dir, "out.png"))
}

// TestWeightsSignalNoRunNotice: a weights command stopped by a signal
// (here verifying a FIFO nobody writes to) exits as interrupted without
// the run's "stopping after this iteration" notice, which it printed.
func TestWeightsSignalNoRunNotice(t *testing.T) {
	fifo := mkfifo(t, filepath.Join(t.TempDir(), "net.mat"))
	cmd := child(t, "weights", "verify", fifo)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	time.Sleep(300 * time.Millisecond) // past the handler's installation
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupt {
		t.Fatalf("exit %v, want status %d\nstderr: %s", err, exitInterrupt, stderr.String())
	}
	if strings.Contains(stderr.String(), "iteration") {
		t.Errorf("stderr %q speaks of iterations", stderr.String())
	}
}

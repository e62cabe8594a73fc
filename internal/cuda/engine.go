package cuda

import (
	"errors"
	"fmt"
	"strings"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// ErrNotInBuild is wrapped by NewEngine's error when the libraries are all
// there: the GPU compute path has not run on a GPU yet, so it is not shipped.
var ErrNotInBuild = errors.New("the CUDA engine has not run on a GPU yet and is not in this build")

// NewEngine is the factory of the "cuda" backend. In this build it finds
// and opens the CUDA driver, cuBLAS and cuDNN, then returns an error that
// reports what it found (or what it looked for, and where) on one line:
//
//	cuda: found driver 12.4 (NVIDIA H200, 140 GiB), cuBLAS 12.1, cuDNN 9.1; the CUDA engine has not run on a GPU yet and is not in this build
//	cuda: no CUDA driver: looked for libcuda.so.1 in NEURALSTYLE_CUDA_LIBS (unset), LD_LIBRARY_PATH (unset), /usr/lib/x86_64-linux-gnu, …
//
// It never returns an engine.
func NewEngine(w *vgg.Weights) (engine.Engine, error) {
	return nil, Probe(SystemEnv())
}

// Probe finds and opens the libraries in env and says what it found, as
// NewEngine's error: never nil in this build. The error wraps the
// *NotFoundError, *OpenError or ErrNotInBuild behind it.
func Probe(env Env) error {
	if !dlopenSupported {
		return fmt.Errorf("cuda: %w", errNoDlopen)
	}
	libs, findErr := Find(env)
	rt, err := Open(libs)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		// No driver: that alone is said, cuBLAS and cuDNN being of no use
		// without it.
		return err
	}
	if err == nil {
		err = findErr // cuBLAS or cuDNN missing, or nil
	}
	found := rt.Info.String()
	if err == nil {
		return fmt.Errorf("cuda: found %s; %w", found, ErrNotInBuild)
	}
	if found == "" {
		return err
	}
	return &probeError{
		msg: oneLine("cuda: found " + found + "; " + strings.TrimPrefix(err.Error(), "cuda: ")),
		err: err,
	}
}

// probeError puts what was found before the error that stopped the probe.
type probeError struct {
	msg string
	err error
}

func (e *probeError) Error() string { return e.msg }
func (e *probeError) Unwrap() error { return e.err }

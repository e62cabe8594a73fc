package main

import (
	"fmt"
	"strings"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/native"
	"github.com/neuralstyle/neuralstyle/internal/stylize"
	"github.com/neuralstyle/neuralstyle/internal/vgg"
)

// backend is a compute engine --backend can select.
type backend struct {
	name    string
	factory stylize.EngineFactory
}

// backends are the engines compiled in: the native one always, TensorFlow
// with the build tag tensorflow (tensorflowBackend); cuda, which so far only
// reports the libraries it finds (cudaBackend).
func backends() []backend {
	b := []backend{{"native", func(w *vgg.Weights) (engine.Engine, error) {
		return native.New(w, native.DefaultKernels()), nil
	}}}
	if tensorflowBackend != nil {
		b = append(b, backend{"tensorflow", tensorflowBackend})
	}
	b = append(b, backend{"cuda", cudaBackend})
	return b
}

func backendNames() string {
	var names []string
	for _, b := range backends() {
		names = append(names, b.name)
	}
	return strings.Join(names, ", ")
}

// engineFactory returns the backend named name.
func engineFactory(name string) (stylize.EngineFactory, error) {
	for _, b := range backends() {
		if b.name == name {
			return b.factory, nil
		}
	}
	return nil, &flagError{flag: "--backend", msg: fmt.Sprintf("%q is not a backend of this build", name),
		hint: "available backends: " + backendNames()}
}

# neuralstyle — build, test and benchmark.
GO      ?= go
BIN     ?= bin
# A count, not a duration: with a duration Go 1.26's fuzz coordinator can report
# "context deadline exceeded" at the deadline with no failing input (golang/go#75804).
FUZZTIME ?= 30000x

.PHONY: all build test vet funclen unit fuzz smoke bench bench-tf bench-go bench-quality clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/neuralstyle ./cmd/neuralstyle

# The command CI runs (.ci/run): vet, every unit test, a short fuzz of the
# parsers and a smoke run of the built binary.
test: vet unit fuzz smoke

# The portable build (-tags purego) and another architecture must stay clean
# too, go.mod must list exactly the modules the code imports, and no function
# may outgrow issue 10's length limits.
vet: funclen
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) vet -tags purego ./...
	GOARCH=arm64 $(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOARCH=386 $(GO) vet ./...
	$(GO) vet -tags cuda ./...
	GOOS=windows $(GO) vet -tags cuda ./internal/cuda/... ./cmd/neuralstyle

# No function over 80 lines in the run, the engines and the commands, nor over
# 100 elsewhere (internal/tools/funclen lists the exemptions and why).
funclen:
	$(GO) run ./internal/tools/funclen .

# Every package, then the engine and the command again on the portable Go
# kernels (the default build picks the assembly ones where the CPU has them).
unit:
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./internal/native ./cmd/neuralstyle
	$(GO) test -count=1 -tags cuda ./internal/cuda/... ./cmd/neuralstyle

# A short run of each parser's fuzz test (the seeds alone also run in unit).
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzRead$$' -fuzztime=$(FUZZTIME) ./internal/matfile
	$(GO) test -run='^$$' -fuzz='^FuzzRead$$' -fuzztime=$(FUZZTIME) ./internal/imageio
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) ./internal/imageio/jpeg
	$(GO) test -run='^$$' -fuzz='^FuzzCaffe$$' -fuzztime=$(FUZZTIME) ./internal/weights
	$(GO) test -run='^$$' -fuzz='^FuzzTorchZip$$' -fuzztime=$(FUZZTIME) ./internal/weights
	$(GO) test -run='^$$' -fuzz='^FuzzTorchLegacy$$' -fuzztime=$(FUZZTIME) ./internal/weights
	$(GO) test -run='^$$' -fuzz='^FuzzSafetensors$$' -fuzztime=$(FUZZTIME) ./internal/weights
	$(GO) test -run='^$$' -fuzz='^FuzzPickle$$' -fuzztime=$(FUZZTIME) ./internal/weights
	$(GO) test -run='^$$' -fuzz='^FuzzUnmarshalBinary$$' -fuzztime=$(FUZZTIME) ./internal/optim
	$(GO) test -run='^$$' -fuzz='^FuzzCheckpointName$$' -fuzztime=$(FUZZTIME) ./internal/stylize
	$(GO) test -run='^$$' -fuzz='^FuzzParseSize$$' -fuzztime=$(FUZZTIME) ./internal/sysmem
	$(GO) test -run='^$$' -fuzz='^FuzzNormalizeArgs$$' -fuzztime=$(FUZZTIME) ./cmd/neuralstyle
	$(GO) test -run='^$$' -fuzz='^FuzzReadState$$' -fuzztime=$(FUZZTIME) ./internal/stylize

smoke: build
	./scripts/smoke.sh $(BIN)/neuralstyle

# Seconds per iteration (wall and CPU), GFLOP/s and peak memory at 256, 512
# and 1024 pixels square with random full-size VGG-19 weights, the best
# kernels and AVX2 only, beside PyTorch when /usr/bin/python3 has torch (AVX2
# rows: ONEDNN_MAX_CPU_ISA=AVX2). bench-tf adds the TensorFlow backend (cgo and
# the TensorFlow C library through scripts/tf.sh). BENCHFLAGS=-relu5_2=false
# measures the default run's work instead of the reference's.
BENCHSIZES ?= 256,512,1024
BENCHFLAGS ?=
bench:
	$(GO) build -o $(BIN)/nsbench ./internal/tools/nsbench
	$(BIN)/nsbench -sizes $(BENCHSIZES) -iters 3 -kernels default,avx2 $(BENCHFLAGS)

bench-tf:
	GO=$(GO) ./scripts/tf.sh env >/dev/null
	eval "$$(GO=$(GO) ./scripts/tf.sh env)" && $(GO) build -tags tensorflow -o $(BIN)/nsbench-tf ./internal/tools/nsbench
	eval "$$(GO=$(GO) ./scripts/tf.sh env)" && $(BIN)/nsbench-tf -sizes $(BENCHSIZES) -iters 3 -kernels default,avx2 -tf yes $(BENCHFLAGS)

# Loss reached against wall time by the reference Adam (QUALITY_ITERS steps:
# its final loss is the target), L-BFGS and the coarse-to-fine recipe with
# each optimiser, on random full-size weights at QUALITY_SIZES; the table and
# the plot go to bench/quality-SIZE.{txt,png}.
QUALITY_SIZES ?= 256
QUALITY_ITERS ?= 1000
bench-quality:
	$(GO) build -o $(BIN)/nsbench ./internal/tools/nsbench
	$(BIN)/nsbench -quality -sizes $(QUALITY_SIZES) -adam-iters $(QUALITY_ITERS) -out bench

# Every Go benchmark (kernels, layers, loader, images).
bench-go:
	$(GO) test -run='^$$' -bench=. -benchtime=3x ./internal/...

clean:
	rm -rf $(BIN)

# TensorFlow backend (build tag "tensorflow"): needs cgo and the TensorFlow C
# library, which scripts/tf.sh takes from TENSORFLOW_ROOT or fetches once per
# machine (the tensorflow-cpu wheel, into ~/.cache/neuralstyle/tf).
.PHONY: tf test-tf

tf:
	GO=$(GO) ./scripts/tf.sh build $(BIN)/neuralstyle-tf

test-tf:
	GO=$(GO) ./scripts/tf.sh test

# neuralstyle — build, test and benchmark.
GO      ?= go
BIN     ?= bin
FUZZTIME ?= 5s

.PHONY: all build test vet unit fuzz smoke bench bench-go bench-quality clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/neuralstyle ./cmd/neuralstyle

# The command CI runs (.ci/run): vet, every unit test, a short fuzz of the
# parsers and a smoke run of the built binary.
test: vet unit fuzz smoke

# The portable build (-tags purego) and another architecture must stay clean
# too, and go.mod must list exactly the modules the code imports.
vet:
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) vet -tags purego ./...
	GOARCH=arm64 $(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOARCH=386 $(GO) vet ./...

# Every package, then the engine and the command again on the portable Go
# kernels (the default build picks the assembly ones where the CPU has them).
unit:
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags purego ./internal/native ./cmd/neuralstyle

# A short run of each parser's fuzz test (the seeds alone also run in unit).
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzRead$$' -fuzztime=$(FUZZTIME) ./internal/matfile
	$(GO) test -run='^$$' -fuzz='^FuzzInflate$$' -fuzztime=$(FUZZTIME) ./internal/matfile
	$(GO) test -run='^$$' -fuzz='^FuzzRead$$' -fuzztime=$(FUZZTIME) ./internal/imageio
	$(GO) test -run='^$$' -fuzz='^FuzzReadState$$' -fuzztime=$(FUZZTIME) ./internal/stylize

smoke: build
	./scripts/smoke.sh $(BIN)/neuralstyle

# Seconds per iteration, GFLOP/s and peak memory at 256x256 and 512x512 with
# random full-size VGG-19 weights, beside PyTorch when /usr/bin/python3 has torch.
bench:
	$(GO) build -o $(BIN)/nsbench ./internal/tools/nsbench
	$(BIN)/nsbench -sizes 256,512 -iters 3

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

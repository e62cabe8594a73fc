//go:build amd64 && !purego

package fast

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/neuralstyle/neuralstyle/internal/nn"
	"github.com/neuralstyle/neuralstyle/internal/parallel"
)

// convArgs is the argument block of the convolution micro-kernels; gen.go
// hard-codes its field offsets.
type convArgs struct {
	in, w, bias, out unsafe.Pointer
	nIn              int64 // input channels to loop over
	inChan, row      int64 // input channel and row strides, bytes
	outChan          int64 // output channel stride, bytes
	nValid           int64 // output channels of the block that are stored
	flags            int64 // flagAccum, flagReLU
	inOff            [8]int64
	outOff           [8]int64
	mask             [8]uint64 // AVX-512: lane bit mask; AVX2: pointer to 8 int32 lanes
	wStep            int64     // wgemm: weight stride per input channel, bytes (row: per output channel); wgemmB: per tile
	nRem             int64     // wgemmB: the rows after nIn tiles
}

// winoArgs is the argument block of the Winograd transforms; gen.go
// hard-codes its field offsets.
type winoArgs struct {
	src, dst, bias, perm unsafe.Pointer
	n                    int64     // channels to loop over
	srcChan, srcRow      int64     // source channel and row strides, bytes
	dstChan, dstRow      int64     // destination channel and row strides, bytes
	xi                   int64     // stride between the 16 Winograd components, bytes
	flags                int64     // flagReLU: add the bias and apply the ReLU (output transform)
	mask                 [4]uint64 // output stores: row 0 low, high vector, row 1 low, high
}

const (
	flagAccum = 1
	flagReLU  = 2
)

// gramArgs is the argument block of the Gram dot-product kernels.
type gramArgs struct {
	a, b unsafe.Pointer
	ld   int64  // row stride of F, bytes
	nk   int64  // full vectors along k
	tail uint64 // mask of the partial last vector, 0 if none
	res  [16]float32
}

// variant describes one instruction set's kernels and blocking.
type variant struct {
	name  string
	lanes int
	// The convolution kernels compute convC output channels x convP vectors.
	convC, convP int
	conv, gemm   func(*convArgs)
	// tileGroup is the number of tiles a channel block runs over before
	// the next block starts.
	tileGroup int
	// inChunk, if positive, is the number of input channels per kernel
	// call; the partial sums accumulate in the output.
	inChunk int
	// bandBytes is the target size of one worker's padded band of input
	// rows (all channels): small enough to stay in L2 while the band's
	// tiles run over every block of output channels.
	bandBytes int
	// GramBackward copies the tiles of F to a contiguous buffer from
	// gemmPackRows rows on: on the dev machine that is 1.6x faster at
	// 512x1024, neutral at 256 rows and 25% slower at 64, whose tile stays
	// in L1 anyway.
	gemmPackRows int
	// The Gram kernel computes gramR x gramS dot products.
	gramR, gramS int
	gram         func(*gramArgs)
	// gramChunkCols, if positive, overrides the columns per Gram chunk
	// (tests).
	gramChunkCols int
	gramPerm      []int
	// Winograd F(2x2, 3x3): the transforms and the strided-weight GEMM
	// (convC x convP blocking); nil winoIn: direct convolutions only.
	winoIn, winoOut func(*winoArgs)
	// winoInM is winoIn with masked loads, for the tiles at the left and
	// right edges (nil: those go through the padded copy).
	winoInM func(*winoArgs)
	wgemm   func(*convArgs)
	// wgemmTail[n] is wgemm for n < convP vectors: a band's last group
	// when its vectors are not a multiple of convP (AVX2's 3 on VGG's
	// power-of-two widths), which the full kernel would pad with vectors
	// computed for nothing.
	wgemmTail []func(*convArgs)
	// wgemmB[n] is the backward GEMM for n <= convP vectors on U in
	// blocks of convC outputs (see winoWeights); nil: U is unblocked and
	// the backward direction runs wgemm on it transposed.
	wgemmB []func(*convArgs)
	// A direction runs as Winograd from winoMinChan input and output
	// channels and winoMinWidth pixels wide; each worker's V and M take
	// about winoBandBytes.
	winoMinChan, winoMinWidth, winoBandBytes int
}

// mask returns the store mask for the first n lanes.
func (v *variant) mask(n int) uint64 {
	if v.lanes == 16 {
		return uint64(1)<<uint(n) - 1
	}
	return uint64(uintptr(unsafe.Pointer(&avx2Masks[8-n])))
}

// avx2Masks[8-n:16-n] has its first n lanes set.
var avx2Masks = [16]int32{-1, -1, -1, -1, -1, -1, -1, -1}

// zeros serves as the bias of the backward and GEMM passes.
var zeros [16]float32

// The AVX-512 defaults come from BenchmarkBlocking on the 2-core dev
// machine's CPU: 6x4 (24 accumulators, 10 loads per 24 FMAs) beat 8x3, 8x2,
// 12x2 and 4x6 on most layers; 1 MiB bands beat whole-image padding by
// 10-20% on the 64-channel layers; chunking the input channels lost.
var (
	avx512Variant = &variant{
		name: "avx512", lanes: 16,
		convC: 6, convP: 4, conv: zconv6x4t9, gemm: zconv6x4t1, tileGroup: 4, bandBytes: 1 << 20, gemmPackRows: 129,
		gramR: 4, gramS: 4, gram: zgram4x4, gramPerm: zgram4x4Perm,
		winoIn: zwinoIn, winoInM: zwinoInM, winoOut: zwinoOut, wgemm: zwgemm6x4, wgemmTail: []func(*convArgs){nil, zwgemm6x1, zwgemm6x2, zwgemm6x3},
		wgemmB: []func(*convArgs){nil, zwgemmB6x1, zwgemmB6x2, zwgemmB6x3, zwgemmB6x4}, winoMinChan: 16, winoMinWidth: 24, winoBandBytes: 1 << 20,
	}
	avx2Variant = &variant{
		name: "avx2", lanes: 8,
		convC: 4, convP: 3, conv: yconv4x3t9, gemm: yconv4x3t1, tileGroup: 1, bandBytes: 1 << 20, gemmPackRows: 129,
		gramR: 2, gramS: 4, gram: ygram2x4, gramPerm: ygram2x4Perm,
		winoIn: ywinoIn, winoInM: ywinoInM, winoOut: ywinoOut, wgemm: ywgemm4x3, wgemmTail: []func(*convArgs){nil, ywgemm4x1, ywgemm4x2}, winoMinChan: 16, winoMinWidth: 12, winoBandBytes: 1 << 20,
	}
)

func hasAVX512() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX2 && cpu.X86.HasFMA }
func hasAVX2() bool   { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// Variants returns every variant the CPU supports, fastest first.
func Variants() []nn.Kernels {
	var ks []nn.Kernels
	if hasAVX512() {
		ks = append(ks, newKernels(avx512Variant))
	}
	if hasAVX2() {
		ks = append(ks, newKernels(avx2Variant))
	}
	return ks
}

// kernels implements nn.Kernels. Calls on one kernels value (and the Convs it
// made) are serialized by mu, so that they share the workers' scratch
// buffers and each call still uses all cores.
type kernels struct {
	v  *variant
	mu sync.Mutex
	// parts is the number of parts a call splits into, each with its own
	// buffers: GOMAXPROCS when the kernels were made.
	parts int
	task  jobTask
	// bands holds each worker's zero-bordered copy of a band of a
	// convolution's input rows.
	bands [][]float32
	// gemmW holds the packed matrix of GramBackward.
	gemmW []float32
	// packs holds each worker's copy of a tile of F's columns in
	// GramBackward.
	packs [][]float32
	gram  gramJob
	gb    gemmJob
}

func newKernels(v *variant) *kernels {
	k := &kernels{v: v, parts: parallel.Procs()}
	k.gram.k = k
	k.gb.k = k
	k.gram.args = make([]gramArgs, k.parts)
	k.gb.args = make([]convArgs, k.parts)
	k.packs = make([][]float32, k.parts)
	return k
}

func (k *kernels) Name() string { return k.v.name }

// job is a kernel's work in nparts parts; part indexes the caller's
// per-part buffers.
type job interface{ run(part, nparts int) }

// jobTask runs a job's parts on the process's worker pool.
type jobTask struct {
	j job
	n int
}

func (t *jobTask) Run(part int) { t.j.run(part, t.n) }

// do runs j in k.parts parts on the shared pool and waits for them. Calls
// are serialized by k.mu, so one jobTask serves them all.
func (k *kernels) do(j job) {
	k.task.j, k.task.n = j, k.parts
	parallel.For(k.parts, &k.task)
	k.task.j = nil
}

// grow returns s with length n, reallocating only when it is too short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

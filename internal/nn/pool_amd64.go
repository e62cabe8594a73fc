//go:build amd64 && !purego

package nn

import (
	"os"
	"strings"

	"golang.org/x/sys/cpu"
)

// The max-pool rows in AVX-512 (pool_amd64.s): 16 windows per step, the
// argmax by compare-and-blend rather than data-dependent branches, which on
// random activations mispredicted about once per window (the pooling took
// 8% of an iteration at 512x512).
// NEURALSTYLE_KERNELS=avx2 or portable (see nn/fast) turns them off too, so
// that a forced kernel set is the whole iteration's instruction set.
var poolAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && !forcedBelowAVX512(os.Getenv("NEURALSTYLE_KERNELS"))

// gateAVX2 enables the AVX2 pooling and gates where AVX-512 is off;
// NEURALSTYLE_KERNELS=portable turns them off.
var gateAVX2 = cpu.X86.HasAVX2 && strings.ToLower(strings.TrimSpace(os.Getenv("NEURALSTYLE_KERNELS"))) != "portable"

func forcedBelowAVX512(env string) bool {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "avx2", "portable":
		return true
	}
	return false
}

// poolPerm: even lanes, odd lanes of two vectors; then the interleaving
// of two vectors' low halves and high halves.
var poolPerm = func() (p [64]int32) {
	for i := 0; i < 16; i++ {
		p[i], p[16+i] = int32(2*i), int32(2*i+1)
	}
	for i := 0; i < 8; i++ {
		p[32+2*i], p[32+2*i+1] = int32(i), int32(16+i)
		p[48+2*i], p[48+2*i+1] = int32(8+i), int32(24+i)
	}
	return
}()

//go:noescape
func maxPoolRows8AVX2(r0, r1, out *float32, arg *uint8, n int, perm *int32)

//go:noescape
func maxPoolBackRows8AVX2(r0, r1, dOut *float32, arg *uint8, n int, perm *int32)

// poolArgBytes gathers each dword lane's low byte into the first dword of
// its 128-bit half (VPSHUFB; 0x80 zeroes); poolArgOnes are 1s, 2s and 3s.
var (
	poolArgBytes = [32]uint8{0, 4, 8, 12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		0, 4, 8, 12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}
	poolArgOnes = [24]int32{1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}
)

//go:noescape
func maxPoolRows16(r0, r1, out *float32, arg *uint8, n int, perm *int32)

//go:noescape
func maxPoolBackRows16(r0, r1, dOut *float32, arg *uint8, n int, perm *int32)

// maxPoolRowsFast does the first 16*k whole windows of a row pair and
// returns how many it did.
func maxPoolRowsFast(r0, r1, out []float32, arg []uint8) int {
	if !poolAVX512 {
		n := len(arg) / 8
		if !gateAVX2 || n == 0 {
			return 0
		}
		_, _ = r0[16*n-1], r1[16*n-1]
		_, _ = out[8*n-1], arg[8*n-1]
		maxPoolRows8AVX2(&r0[0], &r1[0], &out[0], &arg[0], n, &poolPerm[0])
		return 8 * n
	}
	n := len(arg) / 16
	if n == 0 {
		return 0
	}
	_, _ = r0[32*n-1], r1[32*n-1]
	_, _ = out[16*n-1], arg[16*n-1]
	maxPoolRows16(&r0[0], &r1[0], &out[0], &arg[0], n, &poolPerm[0])
	return 16 * n
}

func maxPoolBackRowsFast(r0, r1, dOut []float32, arg []uint8) int {
	if !poolAVX512 {
		n := len(arg) / 8
		if !gateAVX2 || n == 0 {
			return 0
		}
		_, _ = r0[16*n-1], r1[16*n-1]
		_, _ = dOut[8*n-1], arg[8*n-1]
		maxPoolBackRows8AVX2(&r0[0], &r1[0], &dOut[0], &arg[0], n, &poolPerm[0])
		return 8 * n
	}
	n := len(arg) / 16
	if n == 0 {
		return 0
	}
	_, _ = r0[32*n-1], r1[32*n-1]
	_, _ = dOut[16*n-1], arg[16*n-1]
	maxPoolBackRows16(&r0[0], &r1[0], &dOut[0], &arg[0], n, &poolPerm[0])
	return 16 * n
}

//go:noescape
func positiveMask64(mask *uint64, act *float32, words int)

//go:noescape
func reluMasked64(d *float32, mask *uint64, words int)

//go:noescape
func reluBackward16(d, act *float32, vectors int)

//go:noescape
func positiveMask64AVX2(mask *uint64, act *float32, words int)

//go:noescape
func reluMasked64AVX2(d *float32, mask *uint64, words int)

//go:noescape
func reluBackward8AVX2(d, act *float32, vectors int)

// gateBits are the lane bits 1, 2, 4, ..., 128 of the AVX2 mask expansion.
var gateBits = [8]uint32{1, 2, 4, 8, 16, 32, 64, 128}

// The ReLU gates in AVX-512, 16 lanes a compare: each returns how many
// elements it did (whole 64-element mask words, or 16-element vectors).

func positiveMaskFast(mask []uint64, act []float32) int {
	n := len(act) / 64
	if !(poolAVX512 || gateAVX2) || n == 0 {
		return 0
	}
	_, _ = mask[n-1], act[64*n-1]
	if poolAVX512 {
		positiveMask64(&mask[0], &act[0], n)
	} else {
		positiveMask64AVX2(&mask[0], &act[0], n)
	}
	return 64 * n
}

func reluMaskedFast(d []float32, mask []uint64) int {
	n := len(d) / 64
	if !(poolAVX512 || gateAVX2) || n == 0 {
		return 0
	}
	_, _ = mask[n-1], d[64*n-1]
	if poolAVX512 {
		reluMasked64(&d[0], &mask[0], n)
	} else {
		reluMasked64AVX2(&d[0], &mask[0], n)
	}
	return 64 * n
}

func reluBackwardFast(d, act []float32) int {
	if poolAVX512 {
		n := len(d) / 16
		if n == 0 {
			return 0
		}
		_, _ = d[16*n-1], act[16*n-1]
		reluBackward16(&d[0], &act[0], n)
		return 16 * n
	}
	n := len(d) / 8
	if !gateAVX2 || n == 0 {
		return 0
	}
	_, _ = d[8*n-1], act[8*n-1]
	reluBackward8AVX2(&d[0], &act[0], n)
	return 8 * n
}

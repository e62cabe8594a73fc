//go:build ignore

// gen writes kernels_amd64.s and kernels_amd64.go: the register-blocked
// micro-kernels of package fast, fully unrolled for each blocking factor.
// Run it with `go generate` in internal/nn/fast; it uses only the standard
// library so that the main module needs no extra dependency.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
)

// Byte offsets of the fields of convArgs (see kernels.go).
const (
	aIn       = 0
	aW        = 8
	aBias     = 16
	aOut      = 24
	aNIn      = 32
	aInChan   = 40
	aRow      = 48
	aOutChan  = 56
	aNValid   = 64
	aFlags    = 72
	aInOff    = 80
	aOutOff   = 144
	aMask     = 208
	aWStep    = 272
	aNRem     = 280
	maxVecs   = 8
	flagAccum = 1
	flagReLU  = 2
)

// Byte offsets of the fields of gramArgs.
const (
	gA    = 0
	gB    = 8
	gLd   = 16
	gNk   = 24
	gTail = 32
	gRes  = 40
)

type isa struct {
	name  string // function name prefix
	reg   string // "Z" or "Y"
	lanes int
	nregs int
}

var (
	avx512 = isa{"z", "Z", 16, 32}
	avx2   = isa{"y", "Y", 8, 16}
)

type gen struct {
	s  bytes.Buffer
	gs bytes.Buffer // Go declarations
}

func (g *gen) p(format string, args ...any) {
	fmt.Fprintf(&g.s, "\t"+format+"\n", args...)
}

func (g *gen) label(l string) { fmt.Fprintf(&g.s, "%s:\n", l) }

// inPtr are the general registers holding the per-vector input pointers.
var gp = []string{"R9", "R10", "R11", "R12", "R13", "SI", "DI"}

// conv emits a kernel computing C output channels x P pixel vectors of a
// taps-tap convolution (taps 9: 3x3 with row stride BX; taps 1: a GEMM), the
// loop over input channels inside.
func (g *gen) conv(a isa, C, P, taps int) string { return g.convKernel(a, C, P, taps, false, false) }

// wgemm emits the GEMM of the Winograd convolution: the one-tap kernel with
// its weights read at a stride, weight (c, i) at w + c*row + i*wStep bytes,
// so that one packed copy of the transformed weights serves both
// directions (forward: rows are output channels; backward: the transpose).
func (g *gen) wgemm(a isa, C, P int) string { return g.convKernel(a, C, P, 1, true, false) }

// wgemmB emits the backward direction's GEMM on the transformed weights
// laid out [blocks of C rows][columns][C] (see winoWeights): it reads a
// block of C columns down the rows, the C x C tile of each row block
// whole over C iterations. Weight (c, i) of the block is at
// w + (i/C)*wStep + (i%C)*4 + c*C*4 bytes; nIn counts the full tiles of
// C rows and nRem the rows after them.
func (g *gen) wgemmB(a isa, C, P int) string { return g.convKernel(a, C, P, 1, true, true) }

func (g *gen) convKernel(a isa, C, P, taps int, strided, tiled bool) string {
	name := fmt.Sprintf("%sconv%dx%dt%d", a.name, C, P, taps)
	if tiled {
		name = fmt.Sprintf("%swgemmB%dx%d", a.name, C, P)
	} else if strided {
		name = fmt.Sprintf("%swgemm%dx%d", a.name, C, P)
		if C > 6 || P > 4 || taps != 1 {
			log.Fatalf("%s: strided weights need C <= 6, P <= 4, one tap", name)
		}
	}

	nacc := C * P
	if nacc+P+1 > a.nregs || P > 7 {
		log.Fatalf("%s: too many registers", name)
	}
	acc := func(c, j int) string { return fmt.Sprintf("%s%d", a.reg, c*P+j) }
	in := func(j int) string { return fmt.Sprintf("%s%d", a.reg, nacc+j) }
	bc := []string{fmt.Sprintf("%s%d", a.reg, nacc+P)}
	if nacc+P+2 <= a.nregs {
		bc = append(bc, fmt.Sprintf("%s%d", a.reg, nacc+P+1))
	}
	zero := fmt.Sprintf("%s%d", a.reg, a.nregs-1)
	if a.reg == "Y" {
		zero = bc[0]
	}

	fmt.Fprintf(&g.gs, "\n//go:noescape\nfunc %s(a *convArgs)\n", name)
	fmt.Fprintf(&g.s, "\n// func %s(a *convArgs)\nTEXT ·%s(SB), NOSPLIT, $0-8\n", name, name)
	g.p("MOVQ a+0(FP), AX")
	g.p("MOVQ %d(AX), DX", aFlags)
	g.p("TESTQ $%d, DX", flagAccum)
	g.p("JNZ %s_accum", name)
	g.p("MOVQ %d(AX), DX", aBias)
	for c := 0; c < C; c++ {
		g.p("VBROADCASTSS %d(DX), %s", 4*c, acc(c, 0))
		for j := 1; j < P; j++ {
			g.p("VMOVAPS %s, %s", acc(c, 0), acc(c, j))
		}
	}
	g.p("JMP %s_start", name)
	g.label(name + "_accum")
	// Accumulate: start from the values already in out.
	g.p("MOVQ %d(AX), DX", aOut)
	g.p("MOVQ %d(AX), R8", aOutChan)
	g.p("MOVQ %d(AX), CX", aNValid)
	for j := 0; j < P; j++ {
		g.p("MOVQ %d(AX), %s", aOutOff+8*j, gp[j])
		g.p("ADDQ DX, %s", gp[j])
	}
	g.loadMasks(a, P, func(j int) string { return in(j) })
	for c := 0; c < C; c++ {
		g.p("CMPQ CX, $%d", c)
		g.p("JLE %s_start", name)
		for j := 0; j < P; j++ {
			if a.reg == "Z" {
				g.p("VMOVUPS.Z (%s), K%d, %s", gp[j], j+1, acc(c, j))
			} else {
				g.p("VMASKMOVPS (%s), %s, %s", gp[j], in(j), acc(c, j))
			}
			g.p("ADDQ R8, %s", gp[j])
		}
	}
	g.label(name + "_start")
	g.p("MOVQ %d(AX), SI", aIn)
	g.p("MOVQ %d(AX), DX", aW)
	g.p("MOVQ %d(AX), CX", aNIn)
	g.p("MOVQ %d(AX), R8", aInChan)
	g.p("MOVQ %d(AX), BX", aRow)
	// Input pointers: in + inOff[j]. SI is needed as base, so the pointer
	// list must not use it while it is loaded.
	ptr := []string{"R9", "R10", "R11", "R12", "R13", "DI", "R14"}[:P]
	if P > 6 {
		log.Fatal("P > 6")
	}
	for j := 0; j < P; j++ {
		g.p("MOVQ %d(AX), %s", aInOff+8*j, ptr[j])
		g.p("ADDQ SI, %s", ptr[j])
	}
	if tiled {
		g.tiledLoop(name, C, P, ptr, in, bc, acc)
	} else {
		g.convLoop(name, C, P, taps, strided, ptr, in, bc, acc)
	}
	g.storeOut(a, name, C, P, ptr, in, zero, acc)
	return name
}

// tiledLoop emits wgemmB's loop over the rows: nIn tiles of C rows, then
// nRem rows, DX at the weights of the current row.
func (g *gen) tiledLoop(name string, C, P int, ptr []string, in func(int) string, bc []string, acc func(c, j int) string) {
	g.p("MOVQ %d(AX), R14", aWStep)
	nb := 0
	row := func(wOff func(c int) int) {
		for j := 0; j < P; j++ {
			g.p("VMOVUPS (%s), %s", ptr[j], in(j))
		}
		for c := 0; c < C; c++ {
			b := bc[nb%len(bc)]
			nb++
			g.p("VBROADCASTSS %d(DX), %s", wOff(c), b)
			for j := 0; j < P; j++ {
				g.p("VFMADD231PS %s, %s, %s", in(j), b, acc(c, j))
			}
		}
		for j := 0; j < P; j++ {
			g.p("ADDQ R8, %s", ptr[j])
		}
	}
	g.p("TESTQ CX, CX")
	g.p("JZ %s_rem", name)
	g.label(name + "_loop")
	for k := 0; k < C; k++ {
		row(func(c int) int { return 4*k + 4*C*c })
	}
	g.p("ADDQ R14, DX")
	g.p("DECQ CX")
	g.p("JNZ %s_loop", name)
	g.label(name + "_rem")
	g.p("MOVQ %d(AX), CX", aNRem)
	g.p("TESTQ CX, CX")
	g.p("JZ %s_end", name)
	g.label(name + "_remloop")
	row(func(c int) int { return 4 * C * c })
	g.p("ADDQ $4, DX")
	g.p("DECQ CX")
	g.p("JNZ %s_remloop", name)
	g.label(name + "_end")
}

// convLoop emits the loop of the convolution kernels and wgemm over the
// input channels.
func (g *gen) convLoop(name string, C, P, taps int, strided bool, ptr []string, in func(int) string, bc []string, acc func(c, j int) string) {
	if strided {
		// BX: the stride between the weights of the block's channels;
		// R13 = DX + 3*BX reaches channels 3..5; R14: the step per input.
		g.p("LEAQ (DX)(BX*2), R13")
		g.p("ADDQ BX, R13")
		g.p("MOVQ %d(AX), R14", aWStep)
	}
	g.label(name + "_loop")
	nb := 0
	for t := 0; t < taps; t++ {
		ky, kx := t/3, t%3
		for j := 0; j < P; j++ {
			var addr string
			switch {
			case taps == 1 || ky == 0:
				addr = fmt.Sprintf("%d(%s)", kx*4, ptr[j])
			case ky == 1:
				addr = fmt.Sprintf("%d(%s)(BX*1)", kx*4, ptr[j])
			default:
				addr = fmt.Sprintf("%d(%s)(BX*2)", kx*4, ptr[j])
			}
			g.p("VMOVUPS %s, %s", addr, in(j))
		}
		for c := 0; c < C; c++ {
			b := bc[nb%len(bc)]
			nb++
			if strided {
				base, k := "DX", c
				if c >= 3 {
					base, k = "R13", c-3
				}
				addr := []string{"(%s)", "(%s)(BX*1)", "(%s)(BX*2)"}[k]
				g.p("VBROADCASTSS "+addr+", %s", base, b)
			} else {
				g.p("VBROADCASTSS %d(DX), %s", 4*(t*C+c), b)
			}
			for j := 0; j < P; j++ {
				g.p("VFMADD231PS %s, %s, %s", in(j), b, acc(c, j))
			}
		}
	}
	if strided {
		g.p("ADDQ R14, DX")
		g.p("ADDQ R14, R13")
	} else {
		g.p("ADDQ $%d, DX", 4*taps*C)
	}
	for j := 0; j < P; j++ {
		g.p("ADDQ R8, %s", ptr[j])
	}
	g.p("DECQ CX")
	g.p("JNZ %s_loop", name)
}

// storeOut emits the kernels' ReLU (flagReLU) and masked stores of the
// valid channels.
func (g *gen) storeOut(a isa, name string, C, P int, ptr []string, in func(int) string, zero string, acc func(c, j int) string) {
	// ReLU, then masked stores of the valid channels.
	g.p("MOVQ %d(AX), DX", aFlags)
	g.p("TESTQ $%d, DX", flagReLU)
	g.p("JZ %s_store", name)
	if a.reg == "Z" {
		// VPXORD: VXORPS on Z registers needs AVX-512DQ.
		g.p("VPXORD %s, %s, %s", zero, zero, zero)
	} else {
		g.p("VXORPS %s, %s, %s", zero, zero, zero)
	}
	for c := 0; c < C; c++ {
		for j := 0; j < P; j++ {
			g.p("VMAXPS %s, %s, %s", zero, acc(c, j), acc(c, j))
		}
	}
	g.label(name + "_store")
	g.p("MOVQ %d(AX), DX", aOut)
	g.p("MOVQ %d(AX), R8", aOutChan)
	g.p("MOVQ %d(AX), CX", aNValid)
	for j := 0; j < P; j++ {
		g.p("MOVQ %d(AX), %s", aOutOff+8*j, ptr[j])
		g.p("ADDQ DX, %s", ptr[j])
	}
	g.loadMasks(a, P, in)
	for c := 0; c < C; c++ {
		g.p("CMPQ CX, $%d", c)
		g.p("JLE %s_done", name)
		for j := 0; j < P; j++ {
			if a.reg == "Z" {
				g.p("VMOVUPS %s, K%d, (%s)", acc(c, j), j+1, ptr[j])
			} else {
				g.p("VMASKMOVPS %s, %s, (%s)", acc(c, j), in(j), ptr[j])
			}
			if c < C-1 {
				g.p("ADDQ R8, %s", ptr[j])
			}
		}
	}
	g.label(name + "_done")
	// VZEROUPPER on AVX-512 too: Go code after the return runs legacy SSE
	// instructions (X15), which with dirty upper state cost 10-15% of the
	// 64-channel layers' time.
	g.p("VZEROUPPER")
	g.p("RET")
}

// loadMasks loads the P store masks: into K1..KP (AVX-512) or, for AVX2,
// into the vector registers reg(j) from the mask pointers.
func (g *gen) loadMasks(a isa, P int, reg func(int) string) {
	for j := 0; j < P; j++ {
		if a.reg == "Z" {
			g.p("KMOVW %d(AX), K%d", aMask+8*j, j+1)
		} else {
			g.p("MOVQ %d(AX), BX", aMask+8*j)
			g.p("VMOVDQU (BX), %s", reg(j))
		}
	}
}

// lane is the symbolic content of one vector lane during a reduction: the
// accumulator it belongs to (-1 for zero padding) and how many of that
// accumulator's partial sums it holds.
type lane struct{ acc, parts int }

// shuf128 models VSHUFF64X2/VPERM2F128-style selection of 128-bit blocks and
// shufps models VSHUFPS within each 128-bit block; both follow Intel operand
// order (dst, src1, src2).
func shufps(src1, src2 []lane, imm int) []lane {
	out := make([]lane, len(src1))
	for blk := 0; blk < len(src1); blk += 4 {
		out[blk+0] = src1[blk+(imm>>0)&3]
		out[blk+1] = src1[blk+(imm>>2)&3]
		out[blk+2] = src2[blk+(imm>>4)&3]
		out[blk+3] = src2[blk+(imm>>6)&3]
	}
	return out
}

func shuff64x2(src1, src2 []lane, imm int) []lane {
	out := make([]lane, 16)
	sel := func(src []lane, k, dst int) { copy(out[dst*4:dst*4+4], src[k*4:k*4+4]) }
	sel(src1, (imm>>0)&3, 0)
	sel(src1, (imm>>2)&3, 1)
	sel(src2, (imm>>4)&3, 2)
	sel(src2, (imm>>6)&3, 3)
	return out
}

func perm2f128(src1, src2 []lane, imm int) []lane {
	out := make([]lane, 8)
	pick := func(s int) []lane {
		switch s & 3 {
		case 0:
			return src1[0:4]
		case 1:
			return src1[4:8]
		case 2:
			return src2[0:4]
		}
		return src2[4:8]
	}
	copy(out[0:4], pick(imm&3))
	copy(out[4:8], pick(imm>>4))
	return out
}

func add(x, y []lane) []lane {
	out := make([]lane, len(x))
	for i := range x {
		if x[i].acc != y[i].acc && x[i].acc >= 0 && y[i].acc >= 0 {
			log.Fatalf("reduction mixes accumulators %d and %d", x[i].acc, y[i].acc)
		}
		a := x[i].acc
		if a < 0 {
			a = y[i].acc
		}
		out[i] = lane{a, x[i].parts + y[i].parts}
	}
	return out
}

// reduce emits a transposing tree reduction of the lanes accumulators in
// regs (exactly a.lanes of them) into regs[0], using tmp as scratch, and
// returns which accumulator each lane of the result holds.
func (g *gen) reduce(a isa, regs []string, tmp string) []int {
	n := a.lanes
	if len(regs) != n {
		log.Fatalf("reduce: %d registers for %d lanes", len(regs), n)
	}
	vals := make([][]lane, n)
	for i := range vals {
		vals[i] = make([]lane, n)
		for l := range vals[i] {
			vals[i][l] = lane{i, 1}
		}
	}
	type step struct {
		op   string
		imms [2]int
		sim  func(x, y []lane, imm int) []lane
	}
	var steps []step
	if a.reg == "Z" {
		steps = []step{
			{"VSHUFF64X2", [2]int{0x44, 0xEE}, shuff64x2},
			{"VSHUFF64X2", [2]int{0x88, 0xDD}, shuff64x2},
			{"VSHUFPS", [2]int{0x44, 0xEE}, shufps},
			{"VSHUFPS", [2]int{0x88, 0xDD}, shufps},
		}
	} else {
		steps = []step{
			{"VPERM2F128", [2]int{0x20, 0x31}, perm2f128},
			{"VSHUFPS", [2]int{0x44, 0xEE}, shufps},
			{"VSHUFPS", [2]int{0x88, 0xDD}, shufps},
		}
	}
	cur := regs
	for _, st := range steps {
		var next []string
		var nvals [][]lane
		for i := 0; i+1 < len(cur); i += 2 {
			x, y := cur[i], cur[i+1]
			// tmp = op(x, y, imm1); x = op(x, y, imm0); x += tmp
			g.p("%s $0x%02x, %s, %s, %s", st.op, st.imms[1], y, x, tmp)
			g.p("%s $0x%02x, %s, %s, %s", st.op, st.imms[0], y, x, x)
			g.p("VADDPS %s, %s, %s", tmp, x, x)
			vx, vy := vals[i], vals[i+1]
			nvals = append(nvals, add(st.sim(vx, vy, st.imms[0]), st.sim(vx, vy, st.imms[1])))
			next = append(next, x)
		}
		cur, vals = next, nvals
	}
	perm := make([]int, n)
	for l, v := range vals[0] {
		if v.parts != n {
			log.Fatalf("lane %d holds %d of %d partial sums", l, v.parts, n)
		}
		perm[l] = v.acc
	}
	return perm
}

// gram emits the dot-product kernel of Gram: R rows of A times S rows of B
// (both rows of F), reduced along k, written to res[lane] where lane holds
// accumulator perm[lane] = i*S+j.
func (g *gen) gram(a isa, R, S int) (string, []int) {
	name := fmt.Sprintf("%sgram%dx%d", a.name, R, S)
	if R*S != a.lanes || R > 4 || S > 4 || R*S+R+1 > a.nregs {
		log.Fatalf("%s: bad blocking", name)
	}
	acc := func(i, j int) string { return fmt.Sprintf("%s%d", a.reg, i*S+j) }
	ar := func(i int) string { return fmt.Sprintf("%s%d", a.reg, R*S+i) }
	br := fmt.Sprintf("%s%d", a.reg, R*S+R)
	vb := a.lanes * 4
	fmt.Fprintf(&g.gs, "\n//go:noescape\nfunc %s(a *gramArgs)\n", name)
	fmt.Fprintf(&g.s, "\n// func %s(a *gramArgs)\nTEXT ·%s(SB), NOSPLIT, $0-8\n", name, name)
	g.p("MOVQ a+0(FP), AX")
	g.p("MOVQ %d(AX), SI", gA)
	g.p("MOVQ %d(AX), R8", gB)
	g.p("MOVQ %d(AX), BX", gLd)
	g.p("MOVQ %d(AX), CX", gNk)
	g.p("LEAQ (SI)(BX*2), DI")
	g.p("ADDQ BX, DI")
	g.p("LEAQ (R8)(BX*2), R9")
	g.p("ADDQ BX, R9")
	for i := 0; i < R*S; i++ {
		r := fmt.Sprintf("%s%d", a.reg, i)
		if a.reg == "Z" {
			g.p("VPXORD %s, %s, %s", r, r, r)
		} else {
			g.p("VXORPS %s, %s, %s", r, r, r)
		}
	}
	row := func(base3, base0 string, i int) string {
		switch i {
		case 0:
			return "(" + base0 + ")"
		case 1:
			return "(" + base0 + ")(BX*1)"
		case 2:
			return "(" + base0 + ")(BX*2)"
		}
		return "(" + base3 + ")"
	}
	body := func(load func(addr, reg string)) {
		for i := 0; i < R; i++ {
			load(row("DI", "SI", i), ar(i))
		}
		for j := 0; j < S; j++ {
			load(row("R9", "R8", j), br)
			for i := 0; i < R; i++ {
				g.p("VFMADD231PS %s, %s, %s", br, ar(i), acc(i, j))
			}
		}
	}
	g.p("TESTQ CX, CX")
	g.p("JZ %s_tail", name)
	g.label(name + "_loop")
	body(func(addr, reg string) { g.p("VMOVUPS %s, %s", addr, reg) })
	for _, r := range []string{"SI", "DI", "R8", "R9"} {
		g.p("ADDQ $%d, %s", vb, r)
	}
	g.p("DECQ CX")
	g.p("JNZ %s_loop", name)
	g.label(name + "_tail")
	g.p("MOVQ %d(AX), DX", gTail)
	g.p("TESTQ DX, DX")
	g.p("JZ %s_reduce", name)
	if a.reg == "Z" {
		g.p("KMOVW DX, K1")
		body(func(addr, reg string) { g.p("VMOVUPS.Z %s, K1, %s", addr, reg) })
	} else {
		mask := fmt.Sprintf("%s%d", a.reg, 15)
		if R*S+R+1 >= 16 {
			log.Fatal("no register for the AVX2 tail mask")
		}
		g.p("VMOVDQU (DX), %s", mask)
		body(func(addr, reg string) { g.p("VMASKMOVPS %s, %s, %s", addr, mask, reg) })
	}
	g.label(name + "_reduce")
	regs := make([]string, a.lanes)
	for i := range regs {
		regs[i] = fmt.Sprintf("%s%d", a.reg, i)
	}
	perm := g.reduce(a, regs, br)
	g.p("VMOVUPS %s0, %d(AX)", a.reg, gRes)
	g.p("VZEROUPPER")
	g.p("RET")
	return name, perm
}

func main() {
	var g gen
	g.s.WriteString("// Code generated by gen.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n")
	g.gs.WriteString("// Code generated by gen.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\npackage fast\n")
	type cp struct{ c, p int }
	for _, k := range []cp{{8, 3}, {6, 4}, {8, 2}, {12, 2}, {4, 6}} {
		g.conv(avx512, k.c, k.p, 9)
		g.conv(avx512, k.c, k.p, 1)
	}
	for _, k := range []cp{{4, 3}, {6, 2}} {
		g.conv(avx2, k.c, k.p, 9)
		g.conv(avx2, k.c, k.p, 1)
	}
	g.wgemm(avx512, 6, 4)
	g.wgemm(avx2, 4, 3)
	// The narrower forms, for a band's last group when its vectors are
	// not a multiple of P.
	for p := 1; p < 4; p++ {
		g.wgemm(avx512, 6, p)
	}
	for p := 1; p < 3; p++ {
		g.wgemm(avx2, 4, p)
	}
	// AVX-512 only: with AVX2's 4-output blocks (a 64-byte tile per row
	// block) the backward GEMMs of conv4 and conv5 at 512x512 took
	// 1.2-1.5x as long as on the unblocked layout.
	for p := 1; p <= 4; p++ {
		g.wgemmB(avx512, 6, p)
	}
	g.winoIn(avx512, false)
	g.winoIn(avx2, false)
	g.winoIn(avx512, true)
	g.winoIn(avx2, true)
	g.winoOut(avx512)
	g.winoOut(avx2)
	nz, pz := g.gram(avx512, 4, 4)
	ny, py := g.gram(avx2, 2, 4)
	fmt.Fprintf(&g.gs, "\n// Lane l of the result of %s holds accumulator i*4+j = %sPerm[l].\nvar %sPerm = %#v\n", nz, nz, nz, pz)
	fmt.Fprintf(&g.gs, "\n// Lane l of the result of %s holds accumulator i*4+j = %sPerm[l].\nvar %sPerm = %#v\n", ny, ny, ny, py)
	if err := os.WriteFile("kernels_amd64.s", g.s.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("kernels_amd64.go", g.gs.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// Byte offsets of the fields of winoArgs.
const (
	wSrc     = 0
	wDst     = 8
	wBias    = 16
	wPerm    = 24
	wN       = 32
	wSrcChan = 40
	wSrcRow  = 48
	wDstChan = 56
	wDstRow  = 64
	wXi      = 72
	wFlags   = 80
	wMask    = 88
)

// F(2x2, 3x3) Winograd transforms, vectorised over a row of L tiles (L the
// vector width): tile t of the row covers output pixels 2t, 2t+1 of two
// rows and reads padded input columns 2t .. 2t+3 of four rows.
//
// Input: V = B^T d B with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
// Row combination k of the four input rows (r0-r2, r1+r2, r2-r1, r1-r3) is
// formed on the raw columns, then split into the even and odd columns
// (d0 = col 2t, d1 = 2t+1, from the vectors at 0 and L; d2 = 2t+2,
// d3 = 2t+3, from the vectors at 2 and L+2) and combined the same way into
// components 4k+0..3 (d0-d2, d1+d2, d2-d1, d1-d3).
//
// Output: Y = A^T M A with A^T = [1 1 1 0; 0 1 -1 -1]; the two outputs of a
// tile row are interleaved back into pixels, bias and ReLU applied before
// the masked stores.
//
// Per tile row and channel the input transform does 32 loads, 16
// add/subs on the rows, 8 shuffles (AVX-512: 4 two-table permutes), 16
// add/subs and 16 stores for L tiles; the output transform 24 loads, 28
// add/subs, 4 shuffles and 4 stores. The GEMM between them does 16 x Cin
// (or Cout) multiply-adds per tile and channel, so at 64 channels the
// transforms are about a tenth of the arithmetic; their memory traffic (V
// is 4x the input, M 4x the output) stays in each worker's L2/L3 slice
// because the image is transformed one band of tile rows at a time.

// winoRegs are the general registers of the transforms: the four
// component bases (components 0-3, 4-7, 8-11, 12-15), the component stride
// and three times it.
var (
	wB   = []string{"R10", "R12", "R13", "R14"}
	wXI  = "R11"
	wXI3 = "DX"
)

// wcomp is the address of component xi at the four bases.
func wcomp(xi int) string {
	b := wB[xi/4]
	switch xi % 4 {
	case 0:
		return "(" + b + ")"
	case 1:
		return "(" + b + ")(" + wXI + "*1)"
	case 2:
		return "(" + b + ")(" + wXI + "*2)"
	}
	return "(" + b + ")(" + wXI3 + "*1)"
}

// setupBases loads the component bases from base (a register) and the
// stride.
func (g *gen) setupBases(base string) {
	g.p("MOVQ %d(AX), %s", wXi, wXI)
	g.p("LEAQ (%s)(%s*2), %s", wXI, wXI, wXI3)
	g.p("MOVQ %s, %s", base, wB[0])
	for i := 1; i < 4; i++ {
		g.p("LEAQ (%s)(%s*4), %s", wB[i-1], wXI, wB[i])
	}
}

func (g *gen) vzero(a isa, r string) {
	if a.reg == "Z" {
		g.p("VPXORD %s, %s, %s", r, r, r)
	} else {
		g.p("VXORPS %s, %s, %s", r, r, r)
	}
}

// winoIn emits the input transform: for n channels, one row of L tiles
// from the padded band at src (the tile row's first input row) to the 16
// component planes at dst. The masked form (winoInM) loads each of the
// four column offsets under mask[q] (AVX-512: lane bits; AVX2: a pointer to
// 8 int32 lanes), masked lanes reading as zero, so that a tile row at the
// image's left or right edge is transformed from the input itself rather
// than from a zero-bordered copy.
func (g *gen) winoIn(a isa, masked bool) string {
	name := a.name + "winoIn"
	if masked {
		name += "M"
	}
	L := a.lanes
	vb := 4 * L
	fmt.Fprintf(&g.gs, "\n//go:noescape\nfunc %s(a *winoArgs)\n", name)
	fmt.Fprintf(&g.s, "\n// func %s(a *winoArgs)\nTEXT ·%s(SB), NOSPLIT, $0-8\n", name, name)
	r := func(i int) string { return fmt.Sprintf("%s%d", a.reg, i) }
	g.p("MOVQ a+0(FP), AX")
	g.p("MOVQ %d(AX), SI", wSrc)
	g.p("MOVQ %d(AX), BX", wSrcRow)
	g.p("MOVQ %d(AX), CX", wN)
	g.p("MOVQ %d(AX), R9", wSrcChan)
	g.p("MOVQ %d(AX), DI", wDstChan)
	g.p("MOVQ %d(AX), R8", wDst)
	g.setupBases("R8")
	// R8: the fourth input row.
	g.p("LEAQ (SI)(BX*2), R8")
	g.p("ADDQ BX, R8")
	if a.reg == "Z" {
		// Z14, Z15: the even and odd permutations of two vectors.
		g.p("MOVQ %d(AX), R15", wPerm)
		g.p("VMOVUPS (R15), Z14")
		g.p("VMOVUPS 64(R15), Z15")
	}
	if masked {
		for q := 0; q < 4; q++ {
			if a.reg == "Z" {
				g.p("KMOVW %d(AX), K%d", wMask+8*q, q+1)
			} else {
				g.p("MOVQ %d(AX), R15", wMask+8*q)
				g.p("VMOVDQU (R15), Y%d", 12+q)
			}
		}
	}
	row := func(i int, off int) string {
		switch i {
		case 0:
			return fmt.Sprintf("%d(SI)", off)
		case 1:
			return fmt.Sprintf("%d(SI)(BX*1)", off)
		case 2:
			return fmt.Sprintf("%d(SI)(BX*2)", off)
		}
		return fmt.Sprintf("%d(R8)", off)
	}
	g.label(name + "_loop")
	type comb struct {
		x, y int
		op   string
	}
	// dst = x op y
	combs := []comb{{0, 2, "VSUBPS"}, {1, 2, "VADDPS"}, {2, 1, "VSUBPS"}, {1, 3, "VSUBPS"}}
	for k, cb := range combs {
		// r0..r3: the row combination at column offsets 0, L, 2, L+2.
		for q, off := range []int{0, vb, 8, vb + 8} {
			switch {
			case !masked:
				g.p("VMOVUPS %s, %s", row(cb.x, off), r(q))
				g.p("%s %s, %s, %s", cb.op, row(cb.y, off), r(q), r(q))
			case a.reg == "Z":
				// Zeroing masks: the masked lanes are 0 op 0, and their
				// loads do not fault.
				g.p("VMOVUPS.Z %s, K%d, %s", row(cb.x, off), q+1, r(q))
				g.p("%s.Z %s, %s, K%d, %s", cb.op, row(cb.y, off), r(q), q+1, r(q))
			default:
				// r4..r7 are free until the split below.
				g.p("VMASKMOVPS %s, Y%d, %s", row(cb.x, off), 12+q, r(q))
				g.p("VMASKMOVPS %s, Y%d, %s", row(cb.y, off), 12+q, r(4+q))
				g.p("%s %s, %s, %s", cb.op, r(4+q), r(q), r(q))
			}
		}
		// r4..r7: d0 = even(r0, r1), d1 = odd(r0, r1), d2 = even(r2, r3), d3 = odd(r2, r3).
		if a.reg == "Z" {
			for d, src := range [][2]int{{0, 1}, {0, 1}, {2, 3}, {2, 3}} {
				g.p("VMOVAPS %s, %s", []string{"Z14", "Z15"}[d%2], r(4+d))
				g.p("VPERMI2PS %s, %s, %s", r(src[1]), r(src[0]), r(4+d))
			}
		} else {
			for d, src := range [][2]int{{0, 1}, {0, 1}, {2, 3}, {2, 3}} {
				imm := []int{0x88, 0xDD}[d%2]
				g.p("VSHUFPS $0x%02x, %s, %s, %s", imm, r(src[1]), r(src[0]), r(4+d))
				g.p("VPERMPD $0xD8, %s, %s", r(4+d), r(4+d))
			}
		}
		// components 4k+0..3: d0-d2, d1+d2, d2-d1, d1-d3
		g.p("VSUBPS %s, %s, %s", r(6), r(4), r(8))
		g.p("VADDPS %s, %s, %s", r(6), r(5), r(9))
		g.p("VSUBPS %s, %s, %s", r(5), r(6), r(10))
		g.p("VSUBPS %s, %s, %s", r(7), r(5), r(11))
		for j := 0; j < 4; j++ {
			g.p("VMOVUPS %s, %s", r(8+j), wcomp(4*k+j))
		}
	}
	g.p("ADDQ R9, SI")
	g.p("ADDQ R9, R8")
	for _, b := range wB {
		g.p("ADDQ DI, %s", b)
	}
	g.p("DECQ CX")
	g.p("JNZ %s_loop", name)
	g.p("VZEROUPPER")
	g.p("RET")
	return name
}

// winoOut emits the output transform: for n channels, the 16 component
// planes of one row of L tiles at src to two rows of 2L pixels at dst,
// with the bias and ReLU when flagReLU is set.
func (g *gen) winoOut(a isa) string {
	name := a.name + "winoOut"
	fmt.Fprintf(&g.gs, "\n//go:noescape\nfunc %s(a *winoArgs)\n", name)
	fmt.Fprintf(&g.s, "\n// func %s(a *winoArgs)\nTEXT ·%s(SB), NOSPLIT, $0-8\n", name, name)
	r := func(i int) string { return fmt.Sprintf("%s%d", a.reg, i) }
	vb := 4 * a.lanes
	g.p("MOVQ a+0(FP), AX")
	g.p("MOVQ %d(AX), SI", wSrc)
	g.p("MOVQ %d(AX), DI", wDst)
	g.p("MOVQ %d(AX), BX", wDstRow)
	g.p("MOVQ %d(AX), CX", wN)
	g.p("MOVQ %d(AX), R8", wSrcChan)
	g.p("MOVQ %d(AX), R9", wDstChan)
	g.p("MOVQ %d(AX), R15", wBias)
	g.setupBases("SI")
	zero := r(a.nregs - 1)
	g.vzero(a, zero)
	if a.reg == "Z" {
		// Z12, Z13: interleaving permutations; K1..K4 the store masks.
		g.p("MOVQ %d(AX), SI", wPerm)
		g.p("VMOVUPS (SI), Z12")
		g.p("VMOVUPS 64(SI), Z13")
		for i := 0; i < 4; i++ {
			g.p("KMOVW %d(AX), K%d", wMask+8*i, i+1)
		}
	}
	g.label(name + "_loop")
	for y := 0; y < 2; y++ {
		// s_j = M0j + M1j + M2j (row 0) or M1j - M2j - M3j (row 1), into r0..r3.
		for j := 0; j < 4; j++ {
			if y == 0 {
				g.p("VMOVUPS %s, %s", wcomp(0+j), r(j))
				g.p("VADDPS %s, %s, %s", wcomp(4+j), r(j), r(j))
				g.p("VADDPS %s, %s, %s", wcomp(8+j), r(j), r(j))
			} else {
				g.p("VMOVUPS %s, %s", wcomp(4+j), r(j))
				g.p("VSUBPS %s, %s, %s", wcomp(8+j), r(j), r(j))
				g.p("VSUBPS %s, %s, %s", wcomp(12+j), r(j), r(j))
			}
		}
		// even pixels r4 = s0+s1+s2, odd r5 = s1-s2-s3
		g.p("VADDPS %s, %s, %s", r(1), r(0), r(4))
		g.p("VADDPS %s, %s, %s", r(2), r(4), r(4))
		g.p("VSUBPS %s, %s, %s", r(2), r(1), r(5))
		g.p("VSUBPS %s, %s, %s", r(3), r(5), r(5))
		g.p("TESTQ $%d, %d(AX)", flagReLU, wFlags)
		g.p("JZ %s_nobias%d", name, y)
		g.p("VBROADCASTSS (R15), %s", r(6))
		g.p("VADDPS %s, %s, %s", r(6), r(4), r(4))
		g.p("VADDPS %s, %s, %s", r(6), r(5), r(5))
		g.p("VMAXPS %s, %s, %s", zero, r(4), r(4))
		g.p("VMAXPS %s, %s, %s", zero, r(5), r(5))
		g.label(fmt.Sprintf("%s_nobias%d", name, y))
		// r6, r7: pixels 0..L-1 and L..2L-1 of the row.
		if a.reg == "Z" {
			g.p("VMOVAPS Z12, Z6")
			g.p("VPERMI2PS Z5, Z4, Z6")
			g.p("VMOVAPS Z13, Z7")
			g.p("VPERMI2PS Z5, Z4, Z7")
		} else {
			g.p("VUNPCKLPS Y5, Y4, Y8")
			g.p("VUNPCKHPS Y5, Y4, Y9")
			g.p("VPERM2F128 $0x20, Y9, Y8, Y6")
			g.p("VPERM2F128 $0x31, Y9, Y8, Y7")
		}
		rowAddr := "(DI)"
		if y == 1 {
			rowAddr = "(DI)(BX*1)"
		}
		for h := 0; h < 2; h++ {
			addr := fmt.Sprintf("%d%s", h*vb, rowAddr)
			if a.reg == "Z" {
				g.p("VMOVUPS %s, K%d, %s", r(6+h), 2*y+h+1, addr)
			} else {
				g.p("MOVQ %d(AX), DX", wMask+8*(2*y+h))
				g.p("VMOVDQU (DX), Y10")
				g.p("VMASKMOVPS %s, Y10, %s", r(6+h), addr)
				// DX is the component stride x 3: restore it.
				g.p("LEAQ (%s)(%s*2), %s", wXI, wXI, wXI3)
			}
		}
	}
	g.p("ADDQ $4, R15")
	g.p("ADDQ R9, DI")
	for _, b := range wB {
		g.p("ADDQ R8, %s", b)
	}
	g.p("DECQ CX")
	g.p("JNZ %s_loop", name)
	g.p("VZEROUPPER")
	g.p("RET")
	return name
}

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
func (g *gen) conv(a isa, C, P, taps int) string {
	name := fmt.Sprintf("%sconv%dx%dt%d", a.name, C, P, taps)

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
	vb := a.lanes * 4

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
			g.p("VBROADCASTSS %d(DX), %s", 4*(t*C+c), b)
			for j := 0; j < P; j++ {
				g.p("VFMADD231PS %s, %s, %s", in(j), b, acc(c, j))
			}
		}
	}
	g.p("ADDQ $%d, DX", 4*taps*C)
	for j := 0; j < P; j++ {
		g.p("ADDQ R8, %s", ptr[j])
	}
	g.p("DECQ CX")
	g.p("JNZ %s_loop", name)

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
	_ = vb
	return name
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

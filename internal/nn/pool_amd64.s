//go:build amd64 && !purego

#include "textflag.h"

// func maxPoolRows16(r0, r1, out *float32, arg *uint8, n int, perm *int32)
// For each of n groups of 16 windows: out = the maximum of the window's
// four cells, arg = its index (dy*2+dx), the first in row-major order on
// ties (a later cell wins only when strictly greater, as the Go loop).
TEXT ·maxPoolRows16(SB), NOSPLIT, $0-48
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), DI
	MOVQ out+16(FP), DX
	MOVQ arg+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ perm+40(FP), AX
	VMOVDQU32 (AX), Z20          // even lanes
	VMOVDQU32 64(AX), Z21        // odd lanes
	MOVL $1, R8
	VPBROADCASTD R8, Z22
	MOVL $2, R8
	VPBROADCASTD R8, Z23
	MOVL $3, R8
	VPBROADCASTD R8, Z24
loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS (DI), Z2
	VMOVUPS 64(DI), Z3
	VMOVAPS Z20, Z4
	VPERMI2PS Z1, Z0, Z4         // cell 0
	VMOVAPS Z21, Z5
	VPERMI2PS Z1, Z0, Z5         // cell 1
	VMOVAPS Z20, Z6
	VPERMI2PS Z3, Z2, Z6         // cell 2
	VMOVAPS Z21, Z7
	VPERMI2PS Z3, Z2, Z7         // cell 3
	VPXORD Z8, Z8, Z8            // argmax
	VCMPPS $0x1e, Z4, Z5, K1     // cell1 > best (GT_OQ)
	VBLENDMPS Z5, Z4, K1, Z4
	VPBLENDMD Z22, Z8, K1, Z8
	VCMPPS $0x1e, Z4, Z6, K1
	VBLENDMPS Z6, Z4, K1, Z4
	VPBLENDMD Z23, Z8, K1, Z8
	VCMPPS $0x1e, Z4, Z7, K1
	VBLENDMPS Z7, Z4, K1, Z4
	VPBLENDMD Z24, Z8, K1, Z8
	VMOVUPS Z4, (DX)
	VPMOVDB Z8, (BX)
	ADDQ $128, SI
	ADDQ $128, DI
	ADDQ $64, DX
	ADDQ $16, BX
	DECQ CX
	JNZ loop
	VZEROUPPER
	RET

// func maxPoolBackRows16(r0, r1, dOut *float32, arg *uint8, n int, perm *int32)
// For each of n groups of 16 windows: the window's cells get dOut at the
// argmax, zero elsewhere.
TEXT ·maxPoolBackRows16(SB), NOSPLIT, $0-48
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), DI
	MOVQ dOut+16(FP), DX
	MOVQ arg+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ perm+40(FP), AX
	VMOVDQU32 128(AX), Z20       // interleave low halves
	VMOVDQU32 192(AX), Z21       // interleave high halves
	MOVL $1, R8
	VPBROADCASTD R8, Z22
	MOVL $2, R8
	VPBROADCASTD R8, Z23
	MOVL $3, R8
	VPBROADCASTD R8, Z24
	VPXORD Z25, Z25, Z25
back:
	VMOVUPS (DX), Z0             // dOut of 16 windows
	VPMOVZXBD (BX), Z1           // their argmax
	VPCMPEQD Z25, Z1, K1
	VMOVAPS.Z Z0, K1, Z4         // cell 0
	VPCMPEQD Z22, Z1, K1
	VMOVAPS.Z Z0, K1, Z5         // cell 1
	VPCMPEQD Z23, Z1, K1
	VMOVAPS.Z Z0, K1, Z6         // cell 2
	VPCMPEQD Z24, Z1, K1
	VMOVAPS.Z Z0, K1, Z7         // cell 3
	VMOVAPS Z20, Z8
	VPERMI2PS Z5, Z4, Z8
	VMOVAPS Z21, Z9
	VPERMI2PS Z5, Z4, Z9
	VMOVAPS Z20, Z10
	VPERMI2PS Z7, Z6, Z10
	VMOVAPS Z21, Z11
	VPERMI2PS Z7, Z6, Z11
	VMOVUPS Z8, (SI)
	VMOVUPS Z9, 64(SI)
	VMOVUPS Z10, (DI)
	VMOVUPS Z11, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	ADDQ $64, DX
	ADDQ $16, BX
	DECQ CX
	JNZ back
	VZEROUPPER
	RET

// func positiveMask64(mask *uint64, act *float32, words int)
// Bit b of mask[w] = act[64w+b] > 0 (ordered: NaN gives 0).
TEXT ·positiveMask64(SB), NOSPLIT, $0-24
	MOVQ mask+0(FP), DI
	MOVQ act+8(FP), SI
	MOVQ words+16(FP), CX
	VPXORD Z31, Z31, Z31
pm:
	VCMPPS $0x11, (SI), Z31, K1 // 0 < act (LT_OQ)
	VCMPPS $0x11, 64(SI), Z31, K2 // 0 < act (LT_OQ)
	VCMPPS $0x11, 128(SI), Z31, K3 // 0 < act (LT_OQ)
	VCMPPS $0x11, 192(SI), Z31, K4 // 0 < act (LT_OQ)
	KMOVW K1, AX
	KMOVW K2, BX
	KMOVW K3, DX
	KMOVW K4, R8
	SHLQ $16, BX
	SHLQ $32, DX
	SHLQ $48, R8
	ORQ BX, AX
	ORQ DX, AX
	ORQ R8, AX
	MOVQ AX, (DI)
	ADDQ $256, SI
	ADDQ $8, DI
	DECQ CX
	JNZ pm
	VZEROUPPER
	RET

// func reluMasked64(d *float32, mask *uint64, words int)
// d[64w+b] is kept where bit b of mask[w] is set, zeroed elsewhere.
TEXT ·reluMasked64(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ mask+8(FP), SI
	MOVQ words+16(FP), CX
rm:
	MOVQ (SI), AX
	KMOVQ AX, K1
	KSHIFTRQ $16, K1, K2
	KSHIFTRQ $32, K1, K3
	KSHIFTRQ $48, K1, K4
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS.Z 64(DI), K2, Z1
	VMOVUPS.Z 128(DI), K3, Z2
	VMOVUPS.Z 192(DI), K4, Z3
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, DI
	ADDQ $8, SI
	DECQ CX
	JNZ rm
	VZEROUPPER
	RET

// func reluBackward16(d, act *float32, vectors int)
// d is zeroed where act <= 0 and kept elsewhere (NaN included).
TEXT ·reluBackward16(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ act+8(FP), SI
	MOVQ vectors+16(FP), CX
	VPXORD Z31, Z31, Z31
rb:
	VCMPPS $0x19, (SI), Z31, K1 // !(0 >= act) (NGE_UQ): NaN keeps d, as the Go loop
	VMOVUPS.Z (DI), K1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ rb
	VZEROUPPER
	RET

// func positiveMask64AVX2(mask *uint64, act *float32, words int)
TEXT ·positiveMask64AVX2(SB), NOSPLIT, $0-24
	MOVQ mask+0(FP), DI
	MOVQ act+8(FP), SI
	MOVQ words+16(FP), CX
	VXORPS Y15, Y15, Y15
pm2:
	XORQ AX, AX
	MOVQ $224, R8                 // byte offset of the word's last vector
pm2v:
	SHLQ $8, AX
	VCMPPS $0x11, (SI)(R8*1), Y15, Y0 // 0 < act (LT_OQ)
	VMOVMSKPS Y0, BX
	ORQ BX, AX
	SUBQ $32, R8
	JGE pm2v
	MOVQ AX, (DI)
	ADDQ $256, SI
	ADDQ $8, DI
	DECQ CX
	JNZ pm2
	VZEROUPPER
	RET

// func reluMasked64AVX2(d *float32, mask *uint64, words int)
TEXT ·reluMasked64AVX2(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ mask+8(FP), SI
	MOVQ words+16(FP), CX
	MOVQ $·gateBits(SB), AX
	VMOVDQU (AX), Y14
rm2:
	MOVQ (SI), AX
	MOVQ $8, R8
rm2v:
	VMOVD AX, X1
	VPBROADCASTD X1, Y1
	VPAND Y14, Y1, Y1
	VPCMPEQD Y14, Y1, Y1          // all ones where the lane's bit is set
	VANDPS (DI), Y1, Y1
	VMOVUPS Y1, (DI)
	SHRQ $8, AX
	ADDQ $32, DI
	DECQ R8
	JNZ rm2v
	ADDQ $8, SI
	DECQ CX
	JNZ rm2
	VZEROUPPER
	RET

// func reluBackward8AVX2(d, act *float32, vectors int)
TEXT ·reluBackward8AVX2(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ act+8(FP), SI
	MOVQ vectors+16(FP), CX
	VXORPS Y15, Y15, Y15
rb2:
	VCMPPS $0x19, (SI), Y15, Y0   // !(0 >= act) (NGE_UQ): NaN keeps d
	VANDPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ rb2
	VZEROUPPER
	RET

// func maxPoolRows8AVX2(r0, r1, out *float32, arg *uint8, n int, perm *int32)
// As maxPoolRows16, 8 windows a step; perm is unused (the even and odd
// lanes come from VSHUFPS and VPERMPD).
TEXT ·maxPoolRows8AVX2(SB), NOSPLIT, $0-48
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), DI
	MOVQ out+16(FP), DX
	MOVQ arg+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ $·poolArgBytes(SB), AX
	VMOVDQU (AX), Y13            // VPSHUFB: each lane's low byte to the lane's first dword
	MOVQ $·poolArgOnes(SB), AX
	VMOVDQU (AX), Y10            // 1s
	VMOVDQU 32(AX), Y11          // 2s
	VMOVDQU 64(AX), Y12          // 3s
loop8:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS (DI), Y2
	VMOVUPS 32(DI), Y3
	VSHUFPS $0x88, Y1, Y0, Y4
	VPERMPD $0xD8, Y4, Y4        // cell 0
	VSHUFPS $0xDD, Y1, Y0, Y5
	VPERMPD $0xD8, Y5, Y5        // cell 1
	VSHUFPS $0x88, Y3, Y2, Y6
	VPERMPD $0xD8, Y6, Y6        // cell 2
	VSHUFPS $0xDD, Y3, Y2, Y7
	VPERMPD $0xD8, Y7, Y7        // cell 3
	VXORPS Y8, Y8, Y8            // argmax
	VCMPPS $0x1e, Y4, Y5, Y9     // cell1 > best (GT_OQ)
	VBLENDVPS Y9, Y5, Y4, Y4
	VBLENDVPS Y9, Y10, Y8, Y8
	VCMPPS $0x1e, Y4, Y6, Y9
	VBLENDVPS Y9, Y6, Y4, Y4
	VBLENDVPS Y9, Y11, Y8, Y8
	VCMPPS $0x1e, Y4, Y7, Y9
	VBLENDVPS Y9, Y7, Y4, Y4
	VBLENDVPS Y9, Y12, Y8, Y8
	VMOVUPS Y4, (DX)
	VPSHUFB Y13, Y8, Y8
	VMOVD X8, R8
	MOVL R8, (BX)
	VEXTRACTI128 $1, Y8, X8
	VMOVD X8, R8
	MOVL R8, 4(BX)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $32, DX
	ADDQ $8, BX
	DECQ CX
	JNZ loop8
	VZEROUPPER
	RET

// func maxPoolBackRows8AVX2(r0, r1, dOut *float32, arg *uint8, n int, perm *int32)
TEXT ·maxPoolBackRows8AVX2(SB), NOSPLIT, $0-48
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), DI
	MOVQ dOut+16(FP), DX
	MOVQ arg+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ $·poolArgOnes(SB), AX
	VMOVDQU (AX), Y10
	VMOVDQU 32(AX), Y11
	VMOVDQU 64(AX), Y12
	VPXOR Y13, Y13, Y13
back8:
	VMOVUPS (DX), Y0
	VPMOVZXBD (BX), Y1
	VPCMPEQD Y13, Y1, Y4
	VANDPS Y0, Y4, Y4            // cell 0
	VPCMPEQD Y10, Y1, Y5
	VANDPS Y0, Y5, Y5            // cell 1
	VPCMPEQD Y11, Y1, Y6
	VANDPS Y0, Y6, Y6            // cell 2
	VPCMPEQD Y12, Y1, Y7
	VANDPS Y0, Y7, Y7            // cell 3
	VUNPCKLPS Y5, Y4, Y8
	VUNPCKHPS Y5, Y4, Y9
	VPERM2F128 $0x20, Y9, Y8, Y2
	VPERM2F128 $0x31, Y9, Y8, Y3
	VMOVUPS Y2, (SI)
	VMOVUPS Y3, 32(SI)
	VUNPCKLPS Y7, Y6, Y8
	VUNPCKHPS Y7, Y6, Y9
	VPERM2F128 $0x20, Y9, Y8, Y2
	VPERM2F128 $0x31, Y9, Y8, Y3
	VMOVUPS Y2, (DI)
	VMOVUPS Y3, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $32, DX
	ADDQ $8, BX
	DECQ CX
	JNZ back8
	VZEROUPPER
	RET

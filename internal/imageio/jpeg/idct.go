package jpeg

// The accurate integer inverse DCT of libjpeg (JDCT_ISLOW, jidctint.c's
// algorithm): the Loeffler-Ligtenberg-Moschytz factorisation with 13-bit
// fixed-point constants, a first pass down the columns that keeps two extra
// bits of precision, and a second along the rows. Results must match
// libjpeg-turbo's bit for bit, so the order of operations and the rounding
// of each descale are kept.

const (
	constBits = 13
	pass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// clampSample turns an IDCT output (centred on 0) into a sample. libjpeg-turbo's
// SIMD IDCTs, which Pillow runs, saturate; its C code wraps values far
// outside the range, which only corrupt data produces.
func clampSample(x int32) uint8 {
	x += 128
	if uint32(x) > 255 {
		if x < 0 {
			return 0
		}
		return 255
	}
	return uint8(x)
}

// idctISLOW dequantises and inverse-transforms one block into 8 rows of dst,
// stride apart. It runs the first pass itself, down the columns into ws,
// scaled up by pass1Bits bits of extra precision, and hands ws to idctRows
// for the second: one call per block, where a function per pass would cost
// two.
func idctISLOW(in *[64]int16, q *[64]int32, dst []uint8, stride int) {
	var ws [64]int32
	for col := 0; col < 8; col++ {
		if in[8+col] == 0 && in[16+col] == 0 && in[24+col] == 0 && in[32+col] == 0 &&
			in[40+col] == 0 && in[48+col] == 0 && in[56+col] == 0 {
			dc := int32(in[col]) * q[col] << pass1Bits
			for r := 0; r < 8; r++ {
				ws[r*8+col] = dc
			}
			continue
		}
		// Even part.
		z2 := int32(in[16+col]) * q[16+col]
		z3 := int32(in[48+col]) * q[48+col]
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2 = int32(in[col]) * q[col]
		z3 = int32(in[32+col]) * q[32+col]
		tmp0 := (z2 + z3) << constBits
		tmp1 := (z2 - z3) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		// Odd part.
		tmp0 = int32(in[56+col]) * q[56+col]
		tmp1 = int32(in[40+col]) * q[40+col]
		tmp2 = int32(in[24+col]) * q[24+col]
		tmp3 = int32(in[8+col]) * q[8+col]
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602
		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const sh, rnd = constBits - pass1Bits, 1 << (constBits - pass1Bits - 1)
		ws[0*8+col] = (tmp10 + tmp3 + rnd) >> sh
		ws[7*8+col] = (tmp10 - tmp3 + rnd) >> sh
		ws[1*8+col] = (tmp11 + tmp2 + rnd) >> sh
		ws[6*8+col] = (tmp11 - tmp2 + rnd) >> sh
		ws[2*8+col] = (tmp12 + tmp1 + rnd) >> sh
		ws[5*8+col] = (tmp12 - tmp1 + rnd) >> sh
		ws[3*8+col] = (tmp13 + tmp0 + rnd) >> sh
		ws[4*8+col] = (tmp13 - tmp0 + rnd) >> sh
	}
	idctRows(&ws, dst, stride)
}

// idctRows is the second pass: it transforms each row of ws, removes the
// first pass's scaling and writes the clamped samples to 8 rows of dst,
// stride apart.
func idctRows(ws *[64]int32, dst []uint8, stride int) {
	for row := 0; row < 8; row++ {
		w := (*[8]int32)(ws[row*8:])
		out := dst[row*stride:][:8]
		const sh, rnd = constBits + pass1Bits + 3, 1 << (constBits + pass1Bits + 3 - 1)
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := clampSample((w[0] + 1<<(pass1Bits+2)) >> (pass1Bits + 3))
			for i := range out {
				out[i] = v
			}
			continue
		}
		z2 := w[2]
		z3 := w[6]
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		tmp0 := (w[0] + w[4]) << constBits
		tmp1 := (w[0] - w[4]) << constBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = w[7], w[5], w[3], w[1]
		z1 = tmp0 + tmp3
		z2 = tmp1 + tmp2
		z3 = tmp0 + tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602
		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		out[0] = clampSample((tmp10 + tmp3 + rnd) >> sh)
		out[7] = clampSample((tmp10 - tmp3 + rnd) >> sh)
		out[1] = clampSample((tmp11 + tmp2 + rnd) >> sh)
		out[6] = clampSample((tmp11 - tmp2 + rnd) >> sh)
		out[2] = clampSample((tmp12 + tmp1 + rnd) >> sh)
		out[5] = clampSample((tmp12 - tmp1 + rnd) >> sh)
		out[3] = clampSample((tmp13 + tmp0 + rnd) >> sh)
		out[4] = clampSample((tmp13 - tmp0 + rnd) >> sh)
	}
}

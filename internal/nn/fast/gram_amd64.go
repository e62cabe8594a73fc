//go:build amd64 && !purego

package fast

import (
	"fmt"
	"unsafe"
)

// gramChunkCols is the columns of F per pass over the block pairs: the
// chunk of all rows stays in L2 (c <= 256), and a block's rows in L1 while
// the other blocks go by. Fewer columns per call cost more time outside
// the loop (at 512 rows, 512-column calls spent a third of their time
// there; 1024: 1.35x at 512x1024), more lost the rows' L1 residence (the
// 64- and 128-row Grams of a 512x512 image: 4096 and 2048 columns were 10%
// slower than 1024, process CPU time, alternating).
const gramChunkCols = 1024

// Gram sets g to scale * F F^T. Each part owns an interleaved set of row
// blocks and computes their upper-triangle dot products chunk by chunk of
// F's columns; the lower triangle is mirrored at the end.
func (k *kernels) Gram(g, f []float32, c, n int, scale float32) {
	if len(g) != c*c || len(f) != c*n {
		panic(fmt.Sprintf("fast: Gram with %d, %d values for c=%d, n=%d", len(g), len(f), c, n))
	}
	v := k.v
	if c < v.gramR || c < v.gramS || n == 0 {
		gramGo(g, f, c, n, scale)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	j := &k.gram
	j.g, j.f, j.c, j.n = g, f, c, n
	kc := gramChunkCols
	if v.gramChunkCols > 0 {
		kc = v.gramChunkCols
	}
	j.kc = kc
	j.scale = scale
	k.do(j)
	// The scaling and mirroring run on all workers too, in square tiles:
	// done serially row by row, the column writes took longer than the
	// products at 512 rows.
	j.mirror = true
	k.do(j)
	j.mirror = false
	j.g, j.f = nil, nil
}

// mirrorTile is the side of the square tiles that Gram scales and mirrors.
const mirrorTile = 16

// mirrorPart scales the upper triangle and copies it to the lower one, on
// the tile rows of this part.
func (j *gramJob) mirrorPart(part, nparts int) {
	c, g, T := j.c, j.g, mirrorTile
	for i0 := part * T; i0 < c; i0 += nparts * T {
		for j0 := i0; j0 < c; j0 += T {
			for i := i0; i < min(i0+T, c); i++ {
				for jj := max(i, j0); jj < min(j0+T, c); jj++ {
					x := g[i*c+jj] * j.scale
					g[i*c+jj] = x
					g[jj*c+i] = x
				}
			}
		}
	}
}

type gramJob struct {
	k      *kernels
	args   []gramArgs
	g, f   []float32
	c, n   int
	kc     int
	scale  float32
	mirror bool // the pass that scales and mirrors g
}

func (j *gramJob) run(part, nparts int) {
	if j.mirror {
		j.mirrorPart(part, nparts)
		return
	}
	v := j.k.v
	R, S, L := v.gramR, v.gramS, v.lanes
	c, n, g := j.c, j.n, j.g
	a := &j.args[part]
	a.ld = int64(n * 4)
	nbi := (c + R - 1) / R
	nbj := (c + S - 1) / S
	for ib := part; ib < nbi; ib += nparts {
		for i := ib * R; i < min(ib*R+R, c); i++ {
			clear(g[i*c+i : (i+1)*c])
		}
	}
	for k0 := 0; k0 < n; k0 += j.kc {
		kn := min(j.kc, n-k0)
		a.nk = int64(kn / L)
		a.tail = 0
		if r := kn % L; r != 0 {
			a.tail = v.mask(r)
		}
		for ib := part; ib < nbi; ib += nparts {
			i0 := min(ib*R, c-R)
			iLo, iHi := ib*R, min(ib*R+R, c)
			// The first column block that reaches the diagonal.
			for jb := iLo / S; jb < nbj; jb++ {
				j0 := min(jb*S, c-S)
				jLo, jHi := jb*S, min(jb*S+S, c)
				a.a = unsafe.Pointer(&j.f[i0*n+k0])
				a.b = unsafe.Pointer(&j.f[j0*n+k0])
				v.gram(a)
				for l, acc := range v.gramPerm {
					i, jj := i0+acc/S, j0+acc%S
					if i >= iLo && i < iHi && jj >= jLo && jj < jHi && jj >= i {
						g[i*c+jj] += a.res[l]
					}
				}
			}
		}
	}
	a.a, a.b = nil, nil
}

// gramGo is the scalar path for fewer rows than a kernel block.
func gramGo(g, f []float32, c, n int, scale float32) {
	for i := 0; i < c; i++ {
		for jj := i; jj < c; jj++ {
			var s float64
			fi, fj := f[i*n:(i+1)*n], f[jj*n:(jj+1)*n]
			for x := range fi {
				s += float64(fi[x]) * float64(fj[x])
			}
			g[i*c+jj] = float32(s) * scale
			g[jj*c+i] = g[i*c+jj]
		}
	}
}

// GramBackward sets df to scale * (dg + dg^T) F: the symmetric matrix is
// packed like convolution weights (blocks of convC rows) and multiplied by F
// with the convolution kernel's one-tap form.
func (k *kernels) GramBackward(df, dg, f []float32, c, n int, scale float32) {
	k.gramBackward(df, dg, f, c, n, scale, false)
}

// GramBackwardAdd adds scale * (dg + dg^T) F to df: the kernel starts
// its sums from df (flagAccum).
func (k *kernels) GramBackwardAdd(df, dg, f []float32, c, n int, scale float32) {
	k.gramBackward(df, dg, f, c, n, scale, true)
}

func (k *kernels) gramBackward(df, dg, f []float32, c, n int, scale float32, add bool) {
	if len(dg) != c*c || len(f) != c*n || len(df) != c*n {
		panic(fmt.Sprintf("fast: GramBackward with %d, %d, %d values for c=%d, n=%d", len(df), len(dg), len(f), c, n))
	}
	if n == 0 {
		return
	}
	v := k.v
	C, L := v.convC, v.lanes
	k.mu.Lock()
	defer k.mu.Unlock()
	nb := (c + C - 1) / C
	k.gemmW = grow(k.gemmW, nb*c*C)
	j := &k.gb
	j.df, j.dg, j.f, j.c, j.n, j.nb, j.scale, j.add = df, dg, f, c, n, nb, scale, add
	for i := range k.packs {
		k.packs[i] = grow(k.packs[i], c*v.convP*L)
	}
	// Two passes: the packing of W (column reads of dg, as slow as a small
	// product) is split over the workers too.
	j.packW = true
	k.do(j)
	j.packW = false
	k.do(j)
	j.df, j.dg, j.f = nil, nil, nil
}

// gemmJob computes df = W F over tiles of convP vectors of F's columns.
// With many rows, each tile's columns are first copied to the worker's
// contiguous pack buffer: F's rows are a power of two apart on VGG's sizes,
// and the tile's c row pieces would otherwise all fall in the same few L1
// sets.
type gemmJob struct {
	k         *kernels
	args      []convArgs
	df, dg, f []float32
	c, n, nb  int
	scale     float32
	packW     bool // the pass that packs W = scale (dg + dg^T)
	add       bool // add to df rather than set it
}

func (j *gemmJob) run(part, nparts int) {
	k := j.k
	v := k.v
	C, P, L := v.convC, v.convP, v.lanes
	if j.packW {
		c, w, dg := j.c, k.gemmW, j.dg
		for b := j.nb * part / nparts; b < j.nb*(part+1)/nparts; b++ {
			for i := b * C; i < b*C+C; i++ {
				for jj := 0; jj < c; jj++ {
					var x float32
					if i < c {
						x = j.scale * (dg[i*c+jj] + dg[jj*c+i])
					}
					w[(b*c+jj)*C+i%C] = x
				}
			}
		}
		return
	}
	a := &j.args[part]
	pk := k.packs[part][:j.c*P*L]
	a.bias = unsafe.Pointer(&zeros[0])
	a.nIn = int64(j.c)
	a.outChan = int64(j.n * 4)
	a.flags = 0
	if j.add {
		a.flags = flagAccum
	}
	tw := P * L // columns per tile
	nt := (j.n + tw - 1) / tw
	pack := j.c >= v.gemmPackRows
	lo, hi := nt*part/nparts, nt*(part+1)/nparts
	for t := lo; t < hi; t++ {
		x0 := t * tw
		nx := min(tw, j.n-x0)
		if pack || nx < tw {
			// The last, partial tile is always copied, so that the kernel
			// never reads past the end of F.
			for r := 0; r < j.c; r++ {
				d := pk[r*tw : (r+1)*tw]
				copy(d, j.f[r*j.n+x0:r*j.n+x0+nx])
				clear(d[nx:])
			}
			a.in = unsafe.Pointer(&pk[0])
			a.inChan = int64(tw * 4)
			for p := 0; p < P; p++ {
				a.inOff[p] = int64(p * L * 4)
			}
		} else {
			a.in = unsafe.Pointer(&j.f[0])
			a.inChan = int64(j.n * 4)
			for p := 0; p < P; p++ {
				a.inOff[p] = int64((x0 + p*L) * 4)
			}
		}
		for p := 0; p < P; p++ {
			a.outOff[p] = int64((x0 + min(p*L, nx-1)) * 4)
			a.mask[p] = v.mask(min(L, max(0, nx-p*L)))
		}
		for b := 0; b < j.nb; b++ {
			a.w = unsafe.Pointer(&k.gemmW[b*j.c*C])
			a.nValid = int64(min(C, j.c-b*C))
			a.out = unsafe.Pointer(&j.df[b*C*j.n])
			v.gemm(a)
		}
	}
	a.in, a.w, a.bias, a.out = nil, nil, nil, nil
}

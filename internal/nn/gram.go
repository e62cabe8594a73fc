package nn

import "sync"

// The Gram kernels work on blocks of 3 rows (Gram) or 4 rows x 3 pixels
// (GramBackward) with the sums in registers; a block at the edge repeats
// its last row and drops the copies' results, so no tail code is needed
// over channels.

const gramChunk = 1024 // pixels per pass, so that the rows' chunks stay in cache

type gramJob struct {
	g, f     []float32
	c, n, nb int
}

type gramBackJob struct {
	df, s, f []float32
	c, n     int
	nab, npc int
}

var (
	gramJobs     = sync.Pool{New: func() any { return new(gramJob) }}
	gramBackJobs = sync.Pool{New: func() any { return new(gramBackJob) }}
)

func (k *portable) Gram(g, f []float32, c, n int, scale float32) {
	g, f = g[:c*c], f[:c*n]
	j := gramJobs.Get().(*gramJob)
	*j = gramJob{g: g, f: f, c: c, n: n, nb: (c + 2) / 3}
	parallel(j.nb, j)
	*j = gramJob{}
	gramJobs.Put(j)
	for a := 0; a < c; a++ {
		for b := a; b < c; b++ {
			v := g[a*c+b] * scale
			g[a*c+b], g[b*c+a] = v, v
		}
	}
}

// run computes the upper triangle's rows of block t (unscaled).
func (j *gramJob) run(t int) {
	c, n, f, g := j.c, j.n, j.f, j.g
	a0 := t * 3
	a1, a2 := min(a0+1, c-1), min(a0+2, c-1)
	for p0 := 0; p0 < n; p0 += gramChunk {
		p1 := min(n, p0+gramChunk)
		ra0, ra1, ra2 := f[a0*n+p0:a0*n+p1], f[a1*n+p0:a1*n+p1], f[a2*n+p0:a2*n+p1]
		for b0 := a0; b0 < c; b0 += 3 {
			b1, b2 := min(b0+1, c-1), min(b0+2, c-1)
			rb0, rb1, rb2 := f[b0*n+p0:b0*n+p1], f[b1*n+p0:b1*n+p1], f[b2*n+p0:b2*n+p1]
			var s00, s01, s02, s10, s11, s12, s20, s21, s22 float32
			m := len(ra0)
			ra1, ra2, rb0, rb1, rb2 = ra1[:m], ra2[:m], rb0[:m], rb1[:m], rb2[:m]
			for p := 0; p < m; p++ {
				x0, x1, x2 := ra0[p], ra1[p], ra2[p]
				y0, y1, y2 := rb0[p], rb1[p], rb2[p]
				s00 += x0 * y0
				s01 += x0 * y1
				s02 += x0 * y2
				s10 += x1 * y0
				s11 += x1 * y1
				s12 += x1 * y2
				s20 += x2 * y0
				s21 += x2 * y1
				s22 += x2 * y2
			}
			s := [3][3]float32{{s00, s01, s02}, {s10, s11, s12}, {s20, s21, s22}}
			for da := 0; da < 3 && a0+da < c; da++ {
				for db := 0; db < 3 && b0+db < c; db++ {
					a, b := a0+da, b0+db
					if b < a {
						continue
					}
					if p0 == 0 {
						g[a*c+b] = s[da][db]
					} else {
						g[a*c+b] += s[da][db]
					}
				}
			}
		}
	}
}

func (k *portable) GramBackward(df, dg, f []float32, c, n int, scale float32) {
	df, dg, f = df[:c*n], dg[:c*c], f[:c*n]
	buf := k.scratch.get(c * c)
	s := buf[:c*c]
	// s = scale (dg + dg^T) is symmetric, so row b of s is also column b.
	for a := 0; a < c; a++ {
		for b := 0; b < c; b++ {
			s[a*c+b] = scale * (dg[a*c+b] + dg[b*c+a])
		}
	}
	j := gramBackJobs.Get().(*gramBackJob)
	*j = gramBackJob{df: df, s: s, f: f, c: c, n: n, nab: (c + 3) / 4, npc: (n + gramChunk - 1) / gramChunk}
	parallel(j.nab*j.npc, j)
	*j = gramBackJob{}
	gramBackJobs.Put(j)
	k.scratch.put(buf)
}

// run computes df for rows block t%nab, pixel chunk t/nab.
func (j *gramBackJob) run(t int) {
	c, n, s, f, df := j.c, j.n, j.s, j.f, j.df
	a0 := t % j.nab * 4
	p0 := t / j.nab * gramChunk
	p1 := min(n, p0+gramChunk)
	a := [4]int{a0, min(a0+1, c-1), min(a0+2, c-1), min(a0+3, c-1)}
	p := p0
	for ; p+3 <= p1; p += 3 {
		var s00, s01, s02, s10, s11, s12, s20, s21, s22, s30, s31, s32 float32
		for b := 0; b < c; b++ {
			fb := (*[3]float32)(f[b*n+p : b*n+p+3])
			x0, x1, x2 := fb[0], fb[1], fb[2]
			sb := s[b*c:]
			w0, w1, w2, w3 := sb[a[0]], sb[a[1]], sb[a[2]], sb[a[3]]
			s00 += w0 * x0
			s01 += w0 * x1
			s02 += w0 * x2
			s10 += w1 * x0
			s11 += w1 * x1
			s12 += w1 * x2
			s20 += w2 * x0
			s21 += w2 * x1
			s22 += w2 * x2
			s30 += w3 * x0
			s31 += w3 * x1
			s32 += w3 * x2
		}
		r := [4][3]float32{{s00, s01, s02}, {s10, s11, s12}, {s20, s21, s22}, {s30, s31, s32}}
		for da := 0; da < 4 && a0+da < c; da++ {
			copy(df[(a0+da)*n+p:][:3], r[da][:])
		}
	}
	for ; p < p1; p++ {
		for da := 0; da < 4 && a0+da < c; da++ {
			var sum float32
			row := s[(a0+da)*c:][:c]
			for b, w := range row {
				sum += w * f[b*n+p]
			}
			df[(a0+da)*n+p] = sum
		}
	}
}

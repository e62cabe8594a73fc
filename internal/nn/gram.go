package nn

// The Gram kernels work on blocks of 3 x 3 rows (Gram) or 2 rows x 4
// pixels (GramBackward) with the sums in registers. A Gram block at the
// edge repeats its last row and drops the copies' results, so that no tail
// code is needed over channels.

const gramChunk = 1024 // pixels per pass, so that the rows' chunks stay in cache

type gramJob struct {
	g, f     []float32
	c, n, nb int
}

type gramBackJob struct {
	df, s, f []float32
	c, n     int
	add      bool // add to df rather than set it
	nap      int  // row pairs
	chunk    int  // pixels per part
}

var (
	gramJobs     freeList[gramJob]
	gramBackJobs freeList[gramBackJob]
)

func (k *portable) Gram(g, f []float32, c, n int, scale float32) {
	g, f = g[:c*c], f[:c*n]
	j := gramJobs.get()
	*j = gramJob{g: g, f: f, c: c, n: n, nb: (c + 2) / 3}
	parallel(j.nb, j)
	*j = gramJob{}
	gramJobs.put(j)
	for a := 0; a < c; a++ {
		for b := a; b < c; b++ {
			v := g[a*c+b] * scale
			g[a*c+b], g[b*c+a] = v, v
		}
	}
}

// run computes the upper triangle's rows of block t (unscaled).
func (j *gramJob) Run(t int) {
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
	k.gramBackward(df, dg, f, c, n, scale, false)
}

func (k *portable) GramBackwardAdd(df, dg, f []float32, c, n int, scale float32) {
	k.gramBackward(df, dg, f, c, n, scale, true)
}

func (k *portable) gramBackward(df, dg, f []float32, c, n int, scale float32, add bool) {
	df, dg, f = df[:c*n], dg[:c*c], f[:c*n]
	nap := (c + 1) / 2
	buf := k.scratch.get(nap * 2 * c)
	s := buf[:nap*2*c]
	// s = scale (dg + dg^T), packed by pairs of rows: [a/2][b][a%2], an odd
	// count's last pair padded with zeros.
	for a := 0; a < 2*nap; a++ {
		for b := 0; b < c; b++ {
			var v float32
			if a < c {
				v = scale * (dg[a*c+b] + dg[b*c+a])
			}
			s[(a/2*c+b)*2+a%2] = v
		}
	}
	j := gramBackJobs.get()
	// Pixel chunks small enough that the chunk of every row stays in L1
	// while all the row pairs go by.
	chunk := min(n, max(4, (16<<10)/(4*c)/4*4))
	*j = gramBackJob{df: df, s: s, f: f, c: c, n: n, nap: nap, chunk: chunk, add: add}
	parallel((n+chunk-1)/chunk, j)
	*j = gramBackJob{}
	gramBackJobs.put(j)
	k.scratch.put(buf)
}

// run computes df for pixel chunk t: a 1x1 convolution by s, 2 rows x 4
// pixels at a time with the sums in registers.
func (j *gramBackJob) Run(t int) {
	c, n, s, f, df := j.c, j.n, j.s, j.f, j.df
	p0 := t * j.chunk
	p1 := min(n, p0+j.chunk)
	for ap := 0; ap < j.nap; ap++ {
		a0 := 2 * ap
		sp := s[ap*2*c:][:2*c]
		odd := a0+1 == c
		p := p0
		for ; p+4 <= p1; p += 4 {
			s00, s01, s02, s03, s10, s11, s12, s13 := gramBack2x4(f, sp, p, n, c)
			d0 := (*[4]float32)(df[a0*n+p:][:4])
			if j.add {
				s00, s01, s02, s03 = s00+d0[0], s01+d0[1], s02+d0[2], s03+d0[3]
			}
			d0[0], d0[1], d0[2], d0[3] = s00, s01, s02, s03
			if !odd {
				d1 := (*[4]float32)(df[(a0+1)*n+p:][:4])
				if j.add {
					s10, s11, s12, s13 = s10+d1[0], s11+d1[1], s12+d1[2], s13+d1[3]
				}
				d1[0], d1[1], d1[2], d1[3] = s10, s11, s12, s13
			}
		}
		for ; p < p1; p++ {
			var sum0, sum1 float32
			for b := 0; b < c; b++ {
				x := f[b*n+p]
				sum0 += sp[2*b] * x
				sum1 += sp[2*b+1] * x
			}
			if j.add {
				sum0 += df[a0*n+p]
				if !odd {
					sum1 += df[(a0+1)*n+p]
				}
			}
			df[a0*n+p] = sum0
			if !odd {
				df[(a0+1)*n+p] = sum1
			}
		}
	}
}

// gramBack2x4 returns sum over b of sp[2b+r] f[b*n + p + x] for rows r < 2
// and pixels x < 4. It is a function of its own so that its loop has the
// registers to itself.
func gramBack2x4(f, sp []float32, p, n, c int) (s00, s01, s02, s03, s10, s11, s12, s13 float32) {
	sp = sp[:2*c]
	for b := 0; b < c; b++ {
		fb := (*[4]float32)(f[p : p+4])
		sb := (*[2]float32)(sp[2*b : 2*b+2])
		x0, x1, x2, x3 := fb[0], fb[1], fb[2], fb[3]
		w := sb[0]
		s00 += w * x0
		s01 += w * x1
		s02 += w * x2
		s03 += w * x3
		w = sb[1]
		s10 += w * x0
		s11 += w * x1
		s12 += w * x2
		s13 += w * x3
		p += n
	}
	return
}

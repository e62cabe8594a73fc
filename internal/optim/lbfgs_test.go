package optim

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// textbook is torch.optim.LBFGS.step restated literally in float64 with
// slices that grow and shift, to check the ring buffer and the float32
// arithmetic against.
type textbook struct {
	lr, hDiag, t float64
	history      int
	iter         int
	d, gPrev     []float64
	ss, ys       [][]float64
	ro           []float64
}

func (tb *textbook) step(x []float64, g []float64) {
	n := len(x)
	tb.iter++
	if tb.iter == 1 {
		tb.d = make([]float64, n)
		for i := range g {
			tb.d[i] = -g[i]
		}
		tb.hDiag = 1
	} else {
		y, s := make([]float64, n), make([]float64, n)
		var ys, yy float64
		for i := range g {
			y[i] = g[i] - tb.gPrev[i]
			s[i] = tb.d[i] * tb.t
			ys += y[i] * s[i]
			yy += y[i] * y[i]
		}
		if ys > 1e-10 {
			if len(tb.ss) == tb.history {
				tb.ss, tb.ys, tb.ro = tb.ss[1:], tb.ys[1:], tb.ro[1:]
			}
			tb.ss, tb.ys, tb.ro = append(tb.ss, s), append(tb.ys, y), append(tb.ro, 1/ys)
			tb.hDiag = ys / yy
		}
		q := make([]float64, n)
		for i := range g {
			q[i] = -g[i]
		}
		al := make([]float64, len(tb.ss))
		for k := len(tb.ss) - 1; k >= 0; k-- {
			al[k] = dot64(tb.ss[k], q) * tb.ro[k]
			for i := range q {
				q[i] -= al[k] * tb.ys[k][i]
			}
		}
		for i := range q {
			q[i] *= tb.hDiag
		}
		for k := range tb.ss {
			be := dot64(tb.ys[k], q) * tb.ro[k]
			for i := range q {
				q[i] += (al[k] - be) * tb.ss[k][i]
			}
		}
		tb.d = q
	}
	tb.gPrev = append([]float64(nil), g...)
	if tb.iter == 1 {
		var sum float64
		for _, v := range g {
			sum += math.Abs(v)
		}
		tb.t = math.Min(1, 1/sum) * tb.lr
	} else {
		tb.t = tb.lr
	}
	for i := range x {
		x[i] += tb.t * tb.d[i]
	}
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// randomQuadratic is 0.5 x'Ax - b'x with A = M'M/n + I (eigenvalues 1 to
// about 5), x0 and b standard normal.
func randomQuadratic(rng *rand.Rand, n int) (a, b, x0 []float32) {
	m := make([]float64, n*n)
	for i := range m {
		m[i] = rng.NormFloat64()
	}
	a = make([]float32, n*n)
	for i := range n {
		for j := range n {
			var s float64
			for k := range n {
				s += m[k*n+i] * m[k*n+j]
			}
			s /= float64(n)
			if i == j {
				s++
			}
			a[i*n+j] = float32(s)
		}
	}
	b, x0 = make([]float32, n), make([]float32, n)
	for i := range b {
		b[i], x0[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	return a, b, x0
}

// TestAgainstTextbook runs the optimiser and the literal float64 restatement
// side by side on random quadratics, with histories that wrap the ring
// (1, 2, 3) and one that does not, and asserts that they agree to float32
// precision over the first iterations (before convergence).
func TestAgainstTextbook(t *testing.T) {
	for _, history := range []int{1, 2, 3, 100} {
		rng := rand.New(rand.NewPCG(uint64(history), 7))
		const n = 12
		a, b, x0 := randomQuadratic(rng, n)
		f := quadratic(a, b)
		o, err := NewLBFGS(n, LBFGSOptions{History: history, LearningRate: 1})
		if err != nil {
			t.Fatal(err)
		}
		tb := &textbook{lr: 1, history: history}
		x := append([]float32(nil), x0...)
		x64 := to64(x0)
		g := make([]float32, n)
		g64 := make([]float64, n)
		for it := range 8 {
			f(x, g)
			for i := range n {
				var ax float64
				for j := range n {
					ax += float64(a[i*n+j]) * x64[j]
				}
				g64[i] = ax - float64(b[i])
			}
			o.Step(x, g)
			tb.step(x64, g64)
			if want := min(it, history); o.Pairs() != want || len(tb.ss) != want {
				t.Fatalf("history %d, iteration %d: %d pairs kept, textbook %d, want %d", history, it+1, o.Pairs(), len(tb.ss), want)
			}
			for i := range x {
				if e := math.Abs(float64(x[i]) - x64[i]); e > 2e-5*math.Max(1, math.Abs(x64[i])) {
					t.Fatalf("history %d, iteration %d: x[%d] = %.8g, textbook %.8g", history, it+1, i, x[i], x64[i])
				}
			}
		}
	}
}

func TestFirstStep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		g     []float32
		lr    float64
		wantT float64 // the step length along -g
	}{
		{"large gradient: 1/sum|g|", []float32{3, -4, 1}, 1, 1.0 / 8},
		{"small gradient: 1", []float32{0.1, -0.2, 0.05}, 1, 1},
		{"lr scales it", []float32{3, -4, 1}, 0.5, 0.5 / 8},
		{"zero gradient: 1 (1/0 is +Inf)", []float32{0, 0, 0}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := NewLBFGS(len(tc.g), LBFGSOptions{History: 3, LearningRate: tc.lr})
			if err != nil {
				t.Fatal(err)
			}
			x := []float32{1, 2, 3}
			o.Step(x, tc.g)
			for i, xi := range x {
				want := float32([]float32{1, 2, 3}[i] - float32(tc.wantT)*tc.g[i])
				if math.Abs(float64(xi-want)) > 1e-6 {
					t.Errorf("x[%d] = %.8g, want %.8g", i, xi, want)
				}
			}
		})
	}
}

// TestZeroGradient: at a stationary point nothing moves, nothing is kept
// and nothing becomes NaN, however long it runs.
func TestZeroGradient(t *testing.T) {
	o, err := NewLBFGS(4, DefaultLBFGS())
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{1, -2, 3, 0}
	g := make([]float32, 4)
	for range 5 {
		o.Step(x, g)
	}
	if want := []float32{1, -2, 3, 0}; !equal(x, want) || o.Pairs() != 0 {
		t.Errorf("x = %v, %d pairs; want %v and none", x, o.Pairs(), want)
	}
}

// TestCurvatureSkipped: pairs with y·s <= 1e-10 are not kept, and the
// scale H0 stays that of the last kept pair.
func TestCurvatureSkipped(t *testing.T) {
	t.Run("linear: y = 0", func(t *testing.T) {
		o, _ := NewLBFGS(2, LBFGSOptions{History: 5, LearningRate: 0.5})
		x, g := []float32{0, 0}, []float32{1, -2} // f = x0 - 2 x1
		o.Step(x, g)
		for it := 2; it <= 4; it++ {
			before := append([]float32(nil), x...)
			o.Step(x, g)
			// no pair, H0 = 1: x -= lr g
			if o.Pairs() != 0 || x[0] != before[0]-0.5 || x[1] != before[1]+1 {
				t.Fatalf("iteration %d: %d pairs, x %v from %v", it, o.Pairs(), x, before)
			}
		}
	})
	t.Run("concave: y·s < 0", func(t *testing.T) {
		o, _ := NewLBFGS(2, LBFGSOptions{History: 5, LearningRate: 1})
		x := []float32{0.1, 0.2}
		g := make([]float32, 2)
		for range 4 {
			for i := range x { // f = -|x|^2 / 2
				g[i] = -x[i]
			}
			o.Step(x, g)
		}
		if o.Pairs() != 0 {
			t.Errorf("%d pairs kept on a concave function", o.Pairs())
		}
	})
	t.Run("tiny: 0 < y·s <= 1e-10", func(t *testing.T) {
		o, _ := NewLBFGS(1, LBFGSOptions{History: 5, LearningRate: 1})
		// f = 1e-12 x^2 / 2 from x = 1: s = -1e-12, y = -1e-24.
		x := []float32{1}
		for range 3 {
			o.Step(x, []float32{1e-12 * x[0]})
		}
		if o.Pairs() != 0 {
			t.Errorf("%d pairs kept with y·s about 1e-36", o.Pairs())
		}
	})
	t.Run("kept, then skipped", func(t *testing.T) {
		o, _ := NewLBFGS(1, LBFGSOptions{History: 5, LearningRate: 1})
		x := []float32{2}
		o.Step(x, []float32{4 * x[0]}) // f = 2 x^2: one pair at the next step
		o.Step(x, []float32{4 * x[0]})
		if o.Pairs() != 1 || o.hDiag != 0.25 {
			t.Fatalf("%d pairs, H0 %g; want 1 and 1/4", o.Pairs(), o.hDiag)
		}
		// At x = 0 after the Newton step s = -1: a gradient above the
		// last one, 4, gives y·s < 0.
		o.Step(x, []float32{5})
		if o.Pairs() != 1 || o.hDiag != 0.25 {
			t.Errorf("after a rejected pair: %d pairs, H0 %g; want 1 and 1/4", o.Pairs(), o.hDiag)
		}
	})
}

// TestNotFinite: NaN and Inf gradients neither panic nor poison the
// history (their pairs fail y·s > 1e-10), and a NaN first gradient takes
// torch's step length lr (Python's min(1., nan) is 1.).
func TestNotFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, bad := range []float32{nan, inf} {
		o, _ := NewLBFGS(3, DefaultLBFGS())
		x := []float32{1, 2, 3}
		o.Step(x, []float32{1, 2, 3})
		o.Step(x, []float32{0.5, 1, 1.5})
		kept := o.Pairs()
		o.Step(x, []float32{bad, 1, 1})
		o.Step(x, []float32{1, 1, 1})
		if o.Pairs() != kept {
			t.Errorf("gradient %v: %d pairs, want %d", bad, o.Pairs(), kept)
		}
	}
	o, _ := NewLBFGS(2, LBFGSOptions{History: 2, LearningRate: 0.5})
	x := []float32{1, 2}
	o.Step(x, []float32{nan, 1})
	if o.t != 0.5 || x[1] != 1.5 {
		t.Errorf("NaN first gradient: t = %g, x = %v; want 0.5 and [NaN 1.5]", o.t, x)
	}
}

func TestStepPanicsOnLength(t *testing.T) {
	o, _ := NewLBFGS(3, DefaultLBFGS())
	defer func() {
		if r := recover(); r != errLength {
			t.Errorf("recovered %v, want %v", r, errLength)
		}
	}()
	o.Step(make([]float32, 3), make([]float32, 2))
}

func TestStepAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b, x := randomQuadratic(rng, 16)
	f := quadratic(a, b)
	o, _ := NewLBFGS(16, LBFGSOptions{History: 4, LearningRate: 1})
	g := make([]float32, 16)
	if n := testing.AllocsPerRun(20, func() { f(x, g); o.Step(x, g) }); n != 0 {
		t.Errorf("Step allocates %v times", n)
	}
}

func TestNewLBFGSRefuses(t *testing.T) {
	for _, tc := range []struct {
		n    int
		o    LBFGSOptions
		want string
	}{
		{0, DefaultLBFGS(), "0 values"},
		{10, LBFGSOptions{History: 0, LearningRate: 1}, "history 0"},
		{10, LBFGSOptions{History: 5, LearningRate: 0}, "learning rate 0"},
		{10, LBFGSOptions{History: 5, LearningRate: math.NaN()}, "learning rate NaN"},
		{10, LBFGSOptions{History: 5, LearningRate: math.Inf(1)}, "learning rate +Inf"},
		{math.MaxInt / 2, DefaultLBFGS(), "more than this platform can address"},
	} {
		if _, err := NewLBFGS(tc.n, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewLBFGS(%d, %+v) = %v, want an error with %q", tc.n, tc.o, err, tc.want)
		}
	}
}

func TestLBFGSBytes(t *testing.T) {
	huge := int64(math.MaxInt64) // 4 * MaxInt * 202 bytes saturates where int is 64 bits
	if math.MaxInt == math.MaxInt32 {
		huge = 4*math.MaxInt32*202 + 1600
	}
	for _, tc := range []struct {
		n, history int
		want       int64
	}{
		{10, 1, 4*10*4 + 16},
		{3 * 1024 * 1024, 100, 4*3*1024*1024*202 + 1600}, // 2.5 GB
		{3 * 128 * 128, 100, 4*3*128*128*202 + 1600},     // 40 MB
		{math.MaxInt, 100, huge},
		{-1, 1, 0},
	} {
		if got := LBFGSBytes(tc.n, tc.history); got != tc.want {
			t.Errorf("LBFGSBytes(%d, %d) = %d, want %d", tc.n, tc.history, got, tc.want)
		}
	}
}

// TestStateRoundTrip saves a run with a wrapped ring mid-way, restores it
// into a fresh optimiser, and asserts that both continue bit for bit.
func TestStateRoundTrip(t *testing.T) {
	const n = 10
	opts := LBFGSOptions{History: 3, LearningRate: 0.2}
	o, _ := NewLBFGS(n, opts)
	x := []float32{-1.2, 1, -1.2, 1, -1.2, 1, -1.2, 1, -1.2, 1}
	g := make([]float32, n)
	for range 17 {
		rosenbrock(x, g)
		o.Step(x, g)
	}
	if o.start == 0 || o.Pairs() != 3 {
		t.Fatalf("ring start %d with %d pairs: the test needs a wrapped ring", o.start, o.Pairs())
	}
	data, err := o.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	if m, err := o.WriteTo(&stream); err != nil || m != int64(len(data)) || !bytes.Equal(stream.Bytes(), data) {
		t.Fatalf("WriteTo wrote %d bytes (%v), MarshalBinary %d, equal %v", m, err, len(data), bytes.Equal(stream.Bytes(), data))
	}
	r, _ := NewLBFGS(n, opts)
	if err := r.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	again, err := r.MarshalBinary()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("the restored optimiser saves %d bytes (%v), different from the %d restored", len(again), err, len(data))
	}
	x2 := append([]float32(nil), x...)
	g2 := make([]float32, n)
	for it := range 30 {
		rosenbrock(x, g)
		o.Step(x, g)
		rosenbrock(x2, g2)
		r.Step(x2, g2)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(x2[i]) {
				t.Fatalf("iteration %d after restoring: x[%d] = %.9g, the saved run %.9g", it+1, i, x2[i], x[i])
			}
		}
	}
	// Fresh, before any step, too.
	f, _ := NewLBFGS(n, opts)
	data, _ = f.MarshalBinary()
	if err := r.UnmarshalBinary(data); err != nil || r.Iterations() != 0 || r.Pairs() != 0 {
		t.Errorf("restoring a fresh state: %v, %d iterations, %d pairs", err, r.Iterations(), r.Pairs())
	}
}

func TestStateRefused(t *testing.T) {
	const n = 4
	opts := LBFGSOptions{History: 2, LearningRate: 1}
	o, _ := NewLBFGS(n, opts)
	x, g := []float32{1, 2, 3, 4}, make([]float32, n)
	for range 4 {
		for i := range g {
			g[i] = 2 * x[i]
		}
		o.Step(x, g)
	}
	good, err := o.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, into *LBFGS, data []byte) {
		t.Helper()
		xs, gs := make([]float32, into.n), make([]float32, into.n)
		for i := range xs {
			xs[i], gs[i] = float32(i), 1
		}
		into.Step(xs, gs) // some state to lose
		err := into.UnmarshalBinary(data)
		if !errors.Is(err, ErrState) {
			t.Errorf("%s: %v, want ErrState", name, err)
		}
		if into.Iterations() != 0 || into.Pairs() != 0 {
			t.Errorf("%s: left %d iterations, %d pairs; want a fresh optimiser", name, into.Iterations(), into.Pairs())
		}
	}
	// Every truncation, and every single flipped bit of a few bytes.
	for m := 0; m < len(good); m++ {
		r, _ := NewLBFGS(n, opts)
		check("truncated", r, good[:m])
	}
	for _, at := range []int{0, 8, 40, len(good) / 2, len(good) - 1} {
		bad := append([]byte(nil), good...)
		bad[at] ^= 0x10
		r, _ := NewLBFGS(n, opts)
		check("flipped bit", r, bad)
	}
	r, _ := NewLBFGS(n, opts)
	check("trailing byte", r, append(append([]byte(nil), good...), 0))
	other, _ := NewLBFGS(n+1, opts)
	check("other n", other, good)
	other, _ = NewLBFGS(n, LBFGSOptions{History: 3, LearningRate: 1})
	check("other history", other, good)
	other, _ = NewLBFGS(n, LBFGSOptions{History: 2, LearningRate: 0.5})
	check("other learning rate", other, good)
}

// FuzzUnmarshalBinary: any bytes give a restored state or ErrState, never a
// panic, and a state that is accepted saves to the same bytes.
func FuzzUnmarshalBinary(f *testing.F) {
	o, _ := NewLBFGS(3, LBFGSOptions{History: 2, LearningRate: 1})
	x := []float32{1, 2, 3}
	for range 4 {
		data, _ := o.MarshalBinary()
		f.Add(data)
		o.Step(x, []float32{x[0], 2 * x[1], 3 * x[2]})
	}
	f.Add([]byte(stateMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _ := NewLBFGS(3, LBFGSOptions{History: 2, LearningRate: 1})
		if err := r.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("error %v is not ErrState", err)
			}
			return
		}
		again, err := r.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted state saves as %d other bytes (%v)", len(again), err)
		}
		r.Step([]float32{1, 2, 3}, []float32{1, 1, 1})
	})
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

package stylize

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/neuralstyle/neuralstyle/internal/engine"
	"github.com/neuralstyle/neuralstyle/internal/optim"
)

// sampleState is a small state with an Adam or an L-BFGS that has taken
// steps, so that every section holds values.
func sampleState(t testing.TB, lbfgs bool) ([]byte, Optimizer) {
	const w, h = 3, 2
	n := w * h * 3
	var opt Optimizer = NewAdam(n, engine.AdamSettings{LearningRate: 1, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8})
	if lbfgs {
		lb, err := optim.NewLBFGS(n, optim.LBFGSOptions{History: 2, LearningRate: 1})
		if err != nil {
			t.Fatal(err)
		}
		opt = lb
	}
	x := &engine.Image{W: w, H: h, Pix: make([]float32, n)}
	g := make([]float32, n)
	for step := range 3 {
		for i := range g {
			g[i] = float32(math.Sin(float64(i*7+step))) + x.Pix[i]
		}
		opt.Step(x.Pix, g)
	}
	lr := &loopResult{best: &engine.Image{W: w, H: h, Pix: slices.Clone(x.Pix)}, bestLoss: 12.5, haveBest: true, steps: 3}
	hdr := &stateHeader{settings: []setting{{"Content", "SHA-256 ab"}, {"TVWeight", "100"}}, seed: 42, scale: 1, steps: 3, w: w, h: h}
	recs := []Record{{Scale: 0, Label: 0, Losses: engine.Losses{Total: 3}}, {Scale: 1, Label: 2, Losses: engine.Losses{Content: 1, Style: 2, TV: 0.5, Total: 3.5}}}
	var b bytes.Buffer
	if err := writeStateTo(&b, hdr, x, lr, opt, recs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), opt
}

// decodeState reads a whole state as a resumed run does, into a fresh
// optimiser of the kind given.
func decodeState(data []byte, lbfgs bool) (*stateHeader, *engine.Image, *loopResult, []Record, Optimizer, error) {
	s := newStateReader(bytes.NewReader(data))
	hdr, err := readStateHeader(s, 1<<12)
	if err != nil {
		return nil, nil, nil, nil, nil, err
	}
	n := hdr.w * hdr.h * 3
	var opt Optimizer = NewAdam(n, engine.AdamSettings{LearningRate: 1, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8})
	if lbfgs {
		if opt, err = optim.NewLBFGS(n, optim.LBFGSOptions{History: 2, LearningRate: 1}); err != nil {
			return nil, nil, nil, nil, nil, err
		}
	}
	x, lr, recs, err := readStateBody(s, hdr, opt)
	return hdr, x, lr, recs, opt, err
}

// TestStateRoundTrip: what is read back continues exactly as what was
// saved: the optimiser's next step is bit for bit the saved one's.
func TestStateRoundTrip(t *testing.T) {
	for _, lbfgs := range []bool{false, true} {
		data, saved := sampleState(t, lbfgs)
		hdr, x, lr, recs, opt, err := decodeState(data, lbfgs)
		if err != nil {
			t.Fatalf("lbfgs %v: %v", lbfgs, err)
		}
		if hdr.seed != 42 || hdr.scale != 1 || hdr.steps != 3 || len(hdr.settings) != 2 || hdr.settings[1] != (setting{"TVWeight", "100"}) {
			t.Errorf("header %+v", hdr)
		}
		if lr.bestLoss != 12.5 || !lr.haveBest || lr.steps != 3 || !slices.Equal(lr.best.Pix, x.Pix) || len(recs) != 2 || recs[1].Losses.TV != 0.5 {
			t.Errorf("body: best loss %v, have %v, steps %d, records %+v", lr.bestLoss, lr.haveBest, lr.steps, recs)
		}
		g := make([]float32, len(x.Pix))
		for i := range g {
			g[i] = float32(i) * 0.01
		}
		x2 := slices.Clone(x.Pix)
		saved.Step(x.Pix, g)
		opt.Step(x2, g)
		if !slices.Equal(x.Pix, x2) {
			t.Errorf("lbfgs %v: the restored optimiser's step differs from the saved one's", lbfgs)
		}
	}
}

// TestStateDamage: every truncation and any flipped byte is an ErrState,
// never a panic or a state taken as good.
func TestStateDamage(t *testing.T) {
	for _, lbfgs := range []bool{false, true} {
		data, _ := sampleState(t, lbfgs)
		for n := range len(data) {
			if _, _, _, _, _, err := decodeState(data[:n], lbfgs); !errors.Is(err, ErrState) {
				t.Fatalf("lbfgs %v: truncated to %d of %d bytes: %v, want ErrState", lbfgs, n, len(data), err)
			}
		}
		for i := range data {
			bad := bytes.Clone(data)
			bad[i] ^= 0x10
			if _, _, _, _, _, err := decodeState(bad, lbfgs); err == nil {
				t.Fatalf("lbfgs %v: byte %d flipped: read as good", lbfgs, i)
			}
		}
		if _, _, _, _, _, err := decodeState(append(bytes.Clone(data), 0), lbfgs); !errors.Is(err, ErrState) {
			t.Errorf("trailing byte: %v", err)
		}
		if _, _, _, _, _, err := decodeState(data, !lbfgs); !errors.Is(err, ErrState) {
			t.Errorf("the other optimiser: %v", err)
		}
	}
}

func TestCompareSettings(t *testing.T) {
	saved := []setting{{"Content", "a"}, {"TVWeight", "100"}}
	for _, tt := range []struct {
		now  []setting
		want string
	}{
		{[]setting{{"Content", "a"}, {"TVWeight", "100"}}, ""},
		{[]setting{{"Content", "a"}, {"TVWeight", "50"}}, "saved with TVWeight 100, this run has 50"},
		{[]setting{{"Content", "a"}}, "with TVWeight, which this run has not"},
		{[]setting{{"Content", "a"}, {"TVWeight", "100"}, {"Styles 2", "b"}}, "(Styles 2 is new)"},
	} {
		err := compareSettings("s", saved, tt.now)
		if (err == nil) != (tt.want == "") || err != nil && !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
			t.Errorf("%v: %v, want %q", tt.now, err, tt.want)
		}
	}
}

func FuzzReadState(f *testing.F) {
	for _, lbfgs := range []bool{false, true} {
		data, _ := sampleState(f, lbfgs)
		f.Add(data, lbfgs)
		f.Add(data[:len(data)/2], lbfgs)
	}
	f.Fuzz(func(t *testing.T, data []byte, lbfgs bool) {
		hdr, x, lr, _, _, err := decodeState(data, lbfgs)
		if err != nil {
			return
		}
		if len(x.Pix) != hdr.w*hdr.h*3 || len(lr.best.Pix) != len(x.Pix) {
			t.Fatalf("sizes %dx%d, x %d, best %d", hdr.w, hdr.h, len(x.Pix), len(lr.best.Pix))
		}
	})
}

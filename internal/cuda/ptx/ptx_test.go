package ptx

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/kernels.ptx")

func TestModuleHeader(t *testing.T) {
	for _, tg := range []Target{DefaultTarget, {Version: "8.0", SM: 90}} {
		text := Module(tg, Kernels())
		var directives []string
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, ".") && !strings.HasPrefix(l, ".visible") {
				directives = append(directives, l)
			}
		}
		want := []string{".version " + tg.Version, ".target sm_" + strconv.Itoa(tg.SM), ".address_size 64"}
		if !slices.Equal(directives, want) {
			t.Errorf("module directives %q, want %q", directives, want)
		}
		if !strings.Contains(text, "UNTESTED ON A GPU") {
			t.Error("the module does not say that it is untested on a GPU")
		}
	}
}

func TestEntriesAndParameters(t *testing.T) {
	want := map[string][]string{
		"adam_step":          {".u64 x", ".u64 m", ".u64 v", ".u64 g", ".u64 n", ".f32 lr_t", ".f32 one_minus_beta1", ".f32 one_minus_beta2", ".f32 eps"},
		"relu_bias_forward":  {".u64 y", ".u64 x", ".u64 bias", ".u64 n", ".u64 hw", ".u64 channels"},
		"relu_mask":          {".u64 mask", ".u64 act", ".u64 n"},
		"relu_backward_mask": {".u64 d", ".u64 mask", ".u64 n"},
		"tv_grad":            {".u64 grad", ".u64 x", ".u64 h", ".u64 w", ".f32 cy", ".f32 cx"},
	}
	got := parseModule(t, Module(DefaultTarget, Kernels()))
	if len(got) != len(want) {
		t.Errorf("%d entries, want %d", len(got), len(want))
	}
	for name, params := range want {
		e, ok := got[name]
		if !ok {
			t.Errorf("no entry %s", name)
			continue
		}
		var ps []string
		for _, p := range e.params {
			ps = append(ps, p.Type+" "+strings.TrimPrefix(p.Name, name+"_"))
		}
		if !slices.Equal(ps, params) {
			t.Errorf("%s parameters %q, want %q", name, ps, params)
		}
	}
}

// TestNoContractionNoFlush: no fused multiply-add can appear (none written,
// and every float32 add, sub, mul, div and sqrt has an explicit rounding
// mode, which forbids ptxas to contract it), and nothing flushes subnormals.
func TestNoContractionNoFlush(t *testing.T) {
	text := Module(DefaultTarget, Kernels())
	for _, bad := range []string{"fma", ".ftz", ".approx", ".full", "mad.f32", "mad.rn"} {
		if strings.Contains(text, bad) {
			t.Errorf("module contains %q", bad)
		}
	}
	arith := regexp.MustCompile(`^(add|sub|mul|div|sqrt|mad|neg|abs|min|max)(\.[a-z0-9]+)*\.f32 `)
	n := 0
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if !arith.MatchString(l) {
			continue
		}
		n++
		op := strings.Fields(l)[0]
		if !strings.HasPrefix(op, "add.rn.") && !strings.HasPrefix(op, "sub.rn.") && !strings.HasPrefix(op, "mul.rn.") &&
			!strings.HasPrefix(op, "div.rn.") && !strings.HasPrefix(op, "sqrt.rn.") {
			t.Errorf("float32 arithmetic without round-to-nearest: %q", l)
		}
	}
	if n < 20 {
		t.Errorf("only %d float32 operations seen: the check is not looking at the code", n)
	}
}

// TestRegisterDeclarations: each entry declares each register class it
// uses, with exactly the count used (%f<N> for %f0..%f(N-1)), and every
// register is written before it is read in the text's order (the kernels
// branch forwards only, except relu_mask's loop, whose registers are
// written before it).
func TestRegisterDeclarations(t *testing.T) {
	text := Module(DefaultTarget, Kernels())
	decl := regexp.MustCompile(`^\.reg (\.pred|\.b32|\.b64|\.f32) %([a-z]+)<(\d+)>;$`)
	use := regexp.MustCompile(`%(p|r|rd|f)(\d+)\b`)
	types := map[string]string{"p": ".pred", "r": ".b32", "rd": ".b64", "f": ".f32"}
	for _, body := range strings.Split(text, ".visible .entry ")[1:] {
		name, _, _ := strings.Cut(body, "(")
		declared := map[string]int{}
		maxUsed := map[string]int{}
		written := map[string]bool{}
		for _, l := range strings.Split(body, "\n") {
			l = strings.TrimSpace(l)
			if m := decl.FindStringSubmatch(l); m != nil {
				if types[m[2]] != m[1] {
					t.Errorf("%s: %%%s declared %s", name, m[2], m[1])
				}
				declared[m[2]], _ = strconv.Atoi(m[3])
				continue
			}
			if !strings.HasSuffix(l, ";") || strings.HasPrefix(l, ".") {
				continue
			}
			s := strings.TrimSuffix(l, ";")
			guard := ""
			if strings.HasPrefix(s, "@") {
				guard, s, _ = strings.Cut(s, " ")
			}
			op, operands, _ := strings.Cut(s, " ")
			args := strings.Split(operands, ", ")
			for _, m := range use.FindAllStringSubmatch(guard+" "+operands, -1) {
				i, _ := strconv.Atoi(m[2])
				maxUsed[m[1]] = max(maxUsed[m[1]], i+1)
			}
			reads := args
			if !strings.HasPrefix(op, "st.") && !strings.HasPrefix(op, "bra") && op != "ret" {
				reads = args[1:]
			}
			for _, a := range append(reads, strings.TrimPrefix(guard, "@")) {
				for _, r := range use.FindAllString(a, -1) {
					if !written[r] {
						t.Errorf("%s: %s read before it is written: %q", name, r, l)
					}
				}
			}
			if len(reads) < len(args) {
				for _, r := range use.FindAllString(args[0], -1) {
					written[r] = true
				}
			}
		}
		for class, n := range maxUsed {
			if declared[class] != n {
				t.Errorf("%s: %%%s<%d> declared, %d used", name, class, declared[class], n)
			}
		}
		for class, n := range declared {
			if maxUsed[class] == 0 {
				t.Errorf("%s: %%%s<%d> declared, none used", name, class, n)
			}
		}
	}
}

// TestBodies: braces balance, every branch has its label in the same entry,
// every entry returns.
func TestBodies(t *testing.T) {
	text := Module(DefaultTarget, Kernels())
	if o, c := strings.Count(text, "{"), strings.Count(text, "}"); o != c || o != len(Kernels()) {
		t.Errorf("%d '{' and %d '}' for %d kernels", o, c, len(Kernels()))
	}
	for name, e := range parseModule(t, text) {
		if len(e.code) == 0 || e.code[len(e.code)-1].op != "ret" {
			t.Errorf("%s does not end with ret", name)
		}
		for _, in := range e.code {
			if in.op == "bra" {
				if _, ok := e.labels[in.args[0]]; !ok {
					t.Errorf("%s: %q: no such label", name, in.line)
				}
			}
		}
	}
}

// TestGolden keeps the generated text in testdata/kernels.ptx, for review
// and for a GPU run by hand (go test -update rewrites it).
func TestGolden(t *testing.T) {
	text := Module(DefaultTarget, Kernels())
	const path = "testdata/kernels.ptx"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != text {
		t.Errorf("%s differs from the generated text; go test -update rewrites it", path)
	}
}

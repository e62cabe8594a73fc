package ptx

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// A small interpreter of the PTX this package writes: one thread at a time
// (the kernels share nothing between threads), over a flat little-endian
// memory whose addresses are offsets into a byte slice. It knows exactly
// the instructions the generator emits and fails on any other, so that a
// new instruction cannot go unchecked.

type entry struct {
	name   string
	params []Param
	code   []instr
	labels map[string]int
}

type instr struct {
	guard    string // predicate register, "" for none
	negGuard bool
	op       string
	args     []string
	line     string
}

// parseModule reads the entries of a module.
func parseModule(t *testing.T, text string) map[string]*entry {
	t.Helper()
	entries := map[string]*entry{}
	var cur *entry
	inParams := false
	for _, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || strings.HasPrefix(line, "//"):
		case strings.HasPrefix(line, ".visible .entry "):
			name := strings.TrimSuffix(strings.TrimPrefix(line, ".visible .entry "), "(")
			cur = &entry{name: name, labels: map[string]int{}}
			entries[name] = cur
			inParams = true
		case inParams && line == ")":
			inParams = false
		case inParams:
			f := strings.Fields(strings.TrimSuffix(line, ","))
			if len(f) != 3 || f[0] != ".param" {
				t.Fatalf("bad parameter line %q", line)
			}
			cur.params = append(cur.params, Param{Name: f[2], Type: f[1]})
		case line == "{" || line == "}" || strings.HasPrefix(line, ".reg ") ||
			strings.HasPrefix(line, ".version ") || strings.HasPrefix(line, ".target ") || strings.HasPrefix(line, ".address_size "):
		case strings.HasSuffix(line, ":"):
			cur.labels[strings.TrimSuffix(line, ":")] = len(cur.code)
		default:
			if !strings.HasSuffix(line, ";") {
				t.Fatalf("instruction without ';': %q", line)
			}
			in := instr{line: line}
			s := strings.TrimSuffix(line, ";")
			if strings.HasPrefix(s, "@") {
				g, rest, _ := strings.Cut(s[1:], " ")
				if strings.HasPrefix(g, "!") {
					in.negGuard, g = true, g[1:]
				}
				in.guard, s = g, rest
			}
			op, rest, _ := strings.Cut(s, " ")
			in.op = op
			if rest != "" {
				for _, a := range strings.Split(rest, ",") {
					in.args = append(in.args, strings.TrimSpace(a))
				}
			}
			cur.code = append(cur.code, in)
		}
	}
	return entries
}

// machine is the memory and a launch's fixed state.
type machine struct {
	mem    []byte
	params map[string]uint64 // by PTX parameter name
}

// alloc places a buffer of n bytes in memory (16-byte aligned) and returns
// its address; address 0 is never used.
func (m *machine) alloc(n int) uint64 {
	if len(m.mem) == 0 {
		m.mem = make([]byte, 16)
	}
	a := uint64(len(m.mem))
	m.mem = append(m.mem, make([]byte, (n+15)&^15)...)
	return a
}

func (m *machine) putF32(a uint64, v []float32) {
	for i, x := range v {
		binary.LittleEndian.PutUint32(m.mem[a+4*uint64(i):], math.Float32bits(x))
	}
}

func (m *machine) getF32(a uint64, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(m.mem[a+4*uint64(i):]))
	}
	return v
}

func (m *machine) putU32(a uint64, v []uint32) {
	for i, x := range v {
		binary.LittleEndian.PutUint32(m.mem[a+4*uint64(i):], x)
	}
}

func (m *machine) getU32(a uint64, n int) []uint32 {
	v := make([]uint32, n)
	for i := range v {
		v[i] = binary.LittleEndian.Uint32(m.mem[a+4*uint64(i):])
	}
	return v
}

// launch runs threads threads in blocks of block, with args by parameter
// name (pointers and integers as uint64, float32 as float32).
func (e *entry) launch(t *testing.T, m *machine, threads, block int, args map[string]any) {
	t.Helper()
	m.params = map[string]uint64{}
	for _, p := range e.params {
		short := strings.TrimPrefix(p.Name, e.name+"_")
		v, ok := args[short]
		if !ok {
			t.Fatalf("%s: no argument for %s", e.name, short)
		}
		switch x := v.(type) {
		case uint64:
			if p.Type != ".u64" {
				t.Fatalf("%s: %s is %s, given uint64", e.name, short, p.Type)
			}
			m.params[p.Name] = x
		case float32:
			if p.Type != ".f32" {
				t.Fatalf("%s: %s is %s, given float32", e.name, short, p.Type)
			}
			m.params[p.Name] = uint64(math.Float32bits(x))
		default:
			t.Fatalf("%s: argument %s of type %T", e.name, short, v)
		}
	}
	if len(args) != len(e.params) {
		t.Fatalf("%s: %d arguments for %d parameters", e.name, len(args), len(e.params))
	}
	for th := 0; th < threads; th++ {
		if err := e.run(m, uint32(th/block), uint32(block), uint32(th%block)); err != nil {
			t.Fatalf("%s thread %d: %v", e.name, th, err)
		}
	}
}

func (e *entry) run(m *machine, ctaid, ntid, tid uint32) error {
	regs := map[string]uint64{}
	val := func(a string) (uint64, error) {
		switch {
		case a == "%ctaid.x":
			return uint64(ctaid), nil
		case a == "%ntid.x":
			return uint64(ntid), nil
		case a == "%tid.x":
			return uint64(tid), nil
		case strings.HasPrefix(a, "%"):
			v, ok := regs[a]
			if !ok {
				return 0, fmt.Errorf("register %s read before it is written", a)
			}
			return v, nil
		case strings.HasPrefix(a, "0f"):
			v, err := strconv.ParseUint(a[2:], 16, 32)
			return v, err
		default:
			v, err := strconv.ParseInt(a, 10, 64)
			return uint64(v), err
		}
	}
	f := func(v uint64) float32 { return math.Float32frombits(uint32(v)) }
	fb := func(x float32) uint64 { return uint64(math.Float32bits(x)) }
	b2u := func(b bool) uint64 {
		if b {
			return 1
		}
		return 0
	}
	for pc, steps := 0, 0; ; steps++ {
		if pc >= len(e.code) {
			return fmt.Errorf("ran off the end")
		}
		if steps > 1e6 {
			return fmt.Errorf("no ret after %d steps", steps)
		}
		in := e.code[pc]
		pc++
		if in.guard != "" {
			g, err := val(in.guard)
			if err != nil {
				return err
			}
			if (g != 0) == in.negGuard {
				continue
			}
		}
		if in.op == "ret" {
			return nil
		}
		if in.op == "bra" {
			target, ok := e.labels[in.args[0]]
			if !ok {
				return fmt.Errorf("%q: no label", in.line)
			}
			pc = target
			continue
		}
		if len(in.args) < 2 {
			return fmt.Errorf("%q: too few operands", in.line)
		}
		dst := in.args[0]
		var src []uint64
		addr := func(a string) (uint64, error) {
			if !strings.HasPrefix(a, "[") || !strings.HasSuffix(a, "]") {
				return 0, fmt.Errorf("%q: %s is not an address", in.line, a)
			}
			v, err := val(a[1 : len(a)-1])
			if err == nil && v+4 > uint64(len(m.mem)) {
				err = fmt.Errorf("%q: address %d out of memory", in.line, v)
			}
			return v, err
		}
		switch in.op {
		case "ld.param.u64", "ld.param.f32":
			v, ok := m.params[strings.Trim(in.args[1], "[]")]
			if !ok {
				return fmt.Errorf("%q: no such parameter", in.line)
			}
			regs[dst] = v
			continue
		case "ld.global.f32", "ld.global.u32":
			a, err := addr(in.args[1])
			if err != nil {
				return err
			}
			regs[dst] = uint64(binary.LittleEndian.Uint32(m.mem[a:]))
			continue
		case "st.global.f32", "st.global.u32":
			a, err := addr(in.args[0])
			if err != nil {
				return err
			}
			v, err := val(in.args[1])
			if err != nil {
				return err
			}
			binary.LittleEndian.PutUint32(m.mem[a:], uint32(v))
			continue
		}
		for _, a := range in.args[1:] {
			v, err := val(a)
			if err != nil {
				return fmt.Errorf("%q: %v", in.line, err)
			}
			src = append(src, v)
		}
		var r uint64
		switch in.op {
		case "mov.u32":
			r = uint64(uint32(src[0]))
		case "mov.u64", "cvta.to.global.u64":
			r = src[0]
		case "mul.wide.u32":
			r = uint64(uint32(src[0])) * uint64(uint32(src[1]))
		case "cvt.u64.u32", "cvt.u32.u64":
			r = uint64(uint32(src[0]))
		case "add.s64":
			r = src[0] + src[1]
		case "sub.s64":
			r = src[0] - src[1]
		case "neg.s64":
			r = -src[0]
		case "mul.lo.u64":
			r = src[0] * src[1]
		case "div.u64":
			r = src[0] / src[1]
		case "rem.u64":
			r = src[0] % src[1]
		case "min.u64":
			r = min(src[0], src[1])
		case "shl.b64":
			r = src[0] << src[1]
		case "shr.u64":
			r = src[0] >> src[1]
		case "shl.b32":
			r = uint64(uint32(src[0]) << src[1])
		case "shr.u32":
			r = uint64(uint32(src[0]) >> src[1])
		case "and.b32":
			r = uint64(uint32(src[0]) & uint32(src[1]))
		case "or.b32":
			r = uint64(uint32(src[0]) | uint32(src[1]))
		case "selp.b32", "selp.f32":
			r = src[1]
			if src[2] != 0 {
				r = src[0]
			}
			r = uint64(uint32(r))
		case "setp.ge.u64":
			r = b2u(src[0] >= src[1])
		case "setp.lt.u64":
			r = b2u(src[0] < src[1])
		case "setp.eq.u64":
			r = b2u(src[0] == src[1])
		case "setp.ne.u32":
			r = b2u(uint32(src[0]) != uint32(src[1]))
		case "setp.gt.f32":
			r = b2u(f(src[0]) > f(src[1]))
		case "setp.gtu.f32":
			x, y := f(src[0]), f(src[1])
			r = b2u(x > y || x != x || y != y)
		case "add.rn.f32":
			r = fb(f(src[0]) + f(src[1]))
		case "sub.rn.f32":
			r = fb(f(src[0]) - f(src[1]))
		case "mul.rn.f32":
			r = fb(f(src[0]) * f(src[1]))
		case "div.rn.f32":
			r = fb(f(src[0]) / f(src[1]))
		case "sqrt.rn.f32":
			r = fb(float32(math.Sqrt(float64(f(src[0])))))
		default:
			return fmt.Errorf("%q: the interpreter does not know %s", in.line, in.op)
		}
		regs[dst] = r
	}
}

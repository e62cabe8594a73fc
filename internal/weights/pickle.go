package weights

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// A small pickle machine for what torch.save writes: protocol 2 (the
// default of torch.save) and the opcodes of protocols 3 to 5 a state dict
// may use, Python 2 strings included (older .pth files). It builds no
// arbitrary objects: the few globals a state dict names are recognised
// (OrderedDict, the tensor rebuild functions, the storage classes) and
// everything else is an opaque value. Lengths are checked before anything
// is allocated, so a corrupt file gives an error, not a huge allocation.

type (
	pyGlobal struct{ module, name string }
	pyTuple  []any
	pyList   struct{ items []any }
	pyDict   struct {
		keys, vals []any
	}
	pyObject  struct{} // anything not needed
	pyLong    []byte   // a LONG1 of more than 8 bytes, little-endian
	pyMark    struct{}
	pyStorage struct {
		class string // FloatStorage, HalfStorage, ...
		key   string
		numel int64
	}
	pyTensor struct {
		storage        *pyStorage
		offset         int64
		size, stride   []int64
		hasViewStorage bool
	}
)

// Limits on what one pickle may hold; a state dict needs a few hundred
// values, short strings.
const (
	maxPickleString = 1 << 20
	maxPickleStack  = 1 << 20
	maxPickleOps    = 1 << 24
)

var errPickleLimit = errors.New("pickle: too large for a state dict")

type unpickler struct {
	r        *bufio.Reader
	pos      int64 // bytes consumed
	stack    []any
	marks    []int
	memo     map[uint32]any
	storages map[string]*pyStorage
	order    []*pyStorage // in order of first reference
}

func newUnpickler(r *bufio.Reader) *unpickler {
	return &unpickler{r: r, memo: map[uint32]any{}, storages: map[string]*pyStorage{}}
}

func (u *unpickler) byte1() (byte, error) {
	b, err := u.r.ReadByte()
	if err != nil {
		return 0, u.eof(err)
	}
	u.pos++
	return b, nil
}

func (u *unpickler) eof(err error) error {
	if err == io.EOF {
		return fmt.Errorf("pickle: %w", io.ErrUnexpectedEOF)
	}
	return err
}

func (u *unpickler) bytesN(n int64) ([]byte, error) {
	if n < 0 || n > maxPickleString {
		return nil, errPickleLimit
	}
	// Read in steps so a false length on a short file fails before it
	// allocates much.
	var out []byte
	for int64(len(out)) < n {
		step := min(n-int64(len(out)), 64<<10)
		chunk := make([]byte, step)
		if _, err := io.ReadFull(u.r, chunk); err != nil {
			return nil, u.eof(err)
		}
		out = append(out, chunk...)
	}
	u.pos += n
	return out, nil
}

func (u *unpickler) uint(n int) (uint64, error) {
	b, err := u.bytesN(int64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

func (u *unpickler) line() (string, error) {
	var b []byte
	for {
		c, err := u.byte1()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) >= 1024 {
			return "", errPickleLimit
		}
		b = append(b, c)
	}
}

func (u *unpickler) push(v any) error {
	if len(u.stack) >= maxPickleStack {
		return errPickleLimit
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	n := len(u.stack)
	if n == 0 || (len(u.marks) > 0 && u.marks[len(u.marks)-1] == n) {
		return nil, errors.New("pickle: stack underflow")
	}
	v := u.stack[n-1]
	u.stack = u.stack[:n-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	n := len(u.stack)
	if n == 0 {
		return nil, errors.New("pickle: stack underflow")
	}
	return u.stack[n-1], nil
}

// popMark pops the values above the last mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("pickle: no mark")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) memoize(idx uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if len(u.memo) >= maxPickleStack {
		return errPickleLimit
	}
	u.memo[idx] = v
	return nil
}

// load runs the machine to the STOP opcode and returns the value.
func (u *unpickler) load() (any, error) {
	u.stack, u.marks = u.stack[:0], u.marks[:0]
	for ops := 0; ops < maxPickleOps; ops++ {
		at := u.pos
		op, err := u.byte1()
		if err != nil {
			return nil, err
		}
		done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle opcode 0x%02x at offset %d: %w", op, at, err)
		}
		if done {
			return u.pop()
		}
	}
	return nil, errPickleLimit
}

// errNotTorchOp is the error for an opcode torch.save does not write.
var errNotTorchOp = errors.New("opcode not used by torch.save")

// step runs one opcode, handing it to the handler of its kind, and reports
// whether it was STOP.
func (u *unpickler) step(op byte) (stop bool, err error) {
	switch op {
	case '.': // STOP
		return true, nil
	case 0x80, 0x95, '(', '0', '2':
		return false, u.stepMachine(op)
	case '}', ']', ')', 'N', 0x88, 0x89, 'J', 'K', 'M', 0x8a, 'G', 'X', 'T', 'B', 0x8c, 'U', 'C', 0x8d, 0x8e:
		return false, u.stepValue(op)
	case 'q', 'r', 0x94, 'h', 'j':
		return false, u.stepMemo(op)
	case 't', 0x85, 0x86, 0x87, 'c', 0x93, 'Q', 'R', 0x81, 'b':
		return false, u.stepObject(op)
	case 's', 'u', 'a', 'e':
		return false, u.stepContainer(op)
	}
	return false, errNotTorchOp
}

// stepMachine runs the opcodes that work the machine: protocol, frames,
// marks and the stack itself.
func (u *unpickler) stepMachine(op byte) (err error) {
	switch op {
	case 0x80: // PROTO
		_, err = u.byte1()
	case 0x95: // FRAME: frames only group the opcodes
		_, err = u.uint(8)
	case '(': // MARK
		u.marks = append(u.marks, len(u.stack))
		if len(u.marks) > maxPickleStack {
			return errPickleLimit
		}
	case '0': // POP
		_, err = u.pop()
	case '2': // DUP
		var v any
		if v, err = u.top(); err == nil {
			err = u.push(v)
		}
	default:
		return errNotTorchOp
	}
	return err
}

// stepValue runs the opcodes that push a constant, a number or a string.
func (u *unpickler) stepValue(op byte) (err error) {
	switch op {
	case '}': // EMPTY_DICT
		err = u.push(&pyDict{})
	case ']': // EMPTY_LIST
		err = u.push(&pyList{})
	case ')': // EMPTY_TUPLE
		err = u.push(pyTuple{})
	case 'N':
		err = u.push(nil)
	case 0x88:
		err = u.push(true)
	case 0x89:
		err = u.push(false)
	case 'J': // BININT
		var v uint64
		if v, err = u.uint(4); err == nil {
			err = u.push(int64(int32(v)))
		}
	case 'K': // BININT1
		var v uint64
		if v, err = u.uint(1); err == nil {
			err = u.push(int64(v))
		}
	case 'M': // BININT2
		var v uint64
		if v, err = u.uint(2); err == nil {
			err = u.push(int64(v))
		}
	case 0x8a: // LONG1
		var n byte
		if n, err = u.byte1(); err != nil {
			return err
		}
		var b []byte
		if b, err = u.bytesN(int64(n)); err != nil {
			return err
		}
		if n > 8 {
			err = u.push(pyLong(b))
			break
		}
		var v int64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | int64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 { // negative
			v -= 1 << (8 * uint(n))
		}
		err = u.push(v)
	case 'G': // BINFLOAT, big-endian
		var b []byte
		if b, err = u.bytesN(8); err == nil {
			err = u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		}
	case 'X', 'T', 'B': // BINUNICODE, BINSTRING, BINBYTES: 4-byte length
		err = u.pushString(4)
	case 0x8c, 'U', 'C': // SHORT_BINUNICODE, SHORT_BINSTRING, SHORT_BINBYTES
		err = u.pushString(1)
	case 0x8d, 0x8e: // BINUNICODE8, BINBYTES8
		err = u.pushString(8)
	default:
		return errNotTorchOp
	}
	return err
}

// stepMemo runs the opcodes that store values in the memo and fetch them
// back.
func (u *unpickler) stepMemo(op byte) (err error) {
	switch op {
	case 'q': // BINPUT
		var v uint64
		if v, err = u.uint(1); err == nil {
			err = u.memoize(uint32(v))
		}
	case 'r': // LONG_BINPUT
		var v uint64
		if v, err = u.uint(4); err == nil {
			err = u.memoize(uint32(v))
		}
	case 0x94: // MEMOIZE
		err = u.memoize(uint32(len(u.memo)))
	case 'h', 'j': // BINGET, LONG_BINGET
		n := 1
		if op == 'j' {
			n = 4
		}
		var v uint64
		if v, err = u.uint(n); err != nil {
			return err
		}
		val, ok := u.memo[uint32(v)]
		if !ok {
			return fmt.Errorf("memo %d not set", v)
		}
		err = u.push(val)
	default:
		return errNotTorchOp
	}
	return err
}

// stepObject runs the opcodes that build tuples, globals and objects:
// persistent ids (tensor storages), calls and states.
func (u *unpickler) stepObject(op byte) (err error) {
	switch op {
	case 't': // TUPLE
		var items []any
		if items, err = u.popMark(); err == nil {
			err = u.push(pyTuple(items))
		}
	case 0x85, 0x86, 0x87: // TUPLE1..3
		n := int(op - 0x84)
		if len(u.stack) < n || (len(u.marks) > 0 && len(u.stack)-n < u.marks[len(u.marks)-1]) {
			return errors.New("stack underflow")
		}
		t := append(pyTuple(nil), u.stack[len(u.stack)-n:]...)
		u.stack = u.stack[:len(u.stack)-n]
		err = u.push(t)
	case 'c': // GLOBAL module\nname\n
		var mod, name string
		if mod, err = u.line(); err != nil {
			return err
		}
		if name, err = u.line(); err != nil {
			return err
		}
		err = u.push(pyGlobal{mod, name})
	case 0x93: // STACK_GLOBAL
		name, err1 := u.pop()
		mod, err2 := u.pop()
		ns, ok1 := name.(string)
		ms, ok2 := mod.(string)
		if err1 != nil || err2 != nil || !ok1 || !ok2 {
			return errors.New("STACK_GLOBAL without module and name")
		}
		err = u.push(pyGlobal{ms, ns})
	case 'Q': // BINPERSID
		var pid any
		if pid, err = u.pop(); err != nil {
			return err
		}
		var v any
		if v, err = u.persistentLoad(pid); err == nil {
			err = u.push(v)
		}
	case 'R': // REDUCE
		args, err1 := u.pop()
		fn, err2 := u.pop()
		if err1 != nil || err2 != nil {
			return errors.New("stack underflow")
		}
		var v any
		if v, err = reduce(fn, args); err == nil {
			err = u.push(v)
		}
	case 0x81: // NEWOBJ
		if _, err = u.pop(); err != nil {
			return err
		}
		if _, err = u.pop(); err != nil {
			return err
		}
		err = u.push(pyObject{})
	case 'b': // BUILD: the state of an OrderedDict or a module is not needed
		if _, err = u.pop(); err == nil {
			_, err = u.top()
		}
	default:
		return errNotTorchOp
	}
	return err
}

// stepContainer runs the opcodes that fill dicts and lists.
func (u *unpickler) stepContainer(op byte) (err error) {
	switch op {
	case 's': // SETITEM
		v, err1 := u.pop()
		k, err2 := u.pop()
		if err1 != nil || err2 != nil {
			return errors.New("stack underflow")
		}
		var d any
		if d, err = u.top(); err == nil {
			if dict, ok := d.(*pyDict); ok {
				dict.keys, dict.vals = append(dict.keys, k), append(dict.vals, v)
			}
		}
	case 'u': // SETITEMS
		var items []any
		if items, err = u.popMark(); err != nil {
			return err
		}
		if len(items)%2 != 0 {
			return errors.New("SETITEMS with an odd number of values")
		}
		var d any
		if d, err = u.top(); err == nil {
			if dict, ok := d.(*pyDict); ok {
				for i := 0; i < len(items); i += 2 {
					dict.keys, dict.vals = append(dict.keys, items[i]), append(dict.vals, items[i+1])
				}
			}
		}
	case 'a': // APPEND
		var v, l any
		if v, err = u.pop(); err != nil {
			return err
		}
		if l, err = u.top(); err == nil {
			if list, ok := l.(*pyList); ok {
				list.items = append(list.items, v)
			}
		}
	case 'e': // APPENDS
		var items []any
		if items, err = u.popMark(); err != nil {
			return err
		}
		var l any
		if l, err = u.top(); err == nil {
			if list, ok := l.(*pyList); ok {
				list.items = append(list.items, items...)
			}
		}
	default:
		return errNotTorchOp
	}
	return err
}

func (u *unpickler) pushString(lenBytes int) error {
	n, err := u.uint(lenBytes)
	if err != nil {
		return err
	}
	if n > maxPickleString {
		return errPickleLimit
	}
	b, err := u.bytesN(int64(n))
	if err != nil {
		return err
	}
	return u.push(string(b))
}

// elemSizes are the element sizes of torch's storage classes.
var elemSizes = map[string]int64{
	"FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
	"LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
	"ByteStorage": 1, "BoolStorage": 1,
}

// persistentLoad resolves torch's persistent ids: ("storage", class, key,
// location, numel[, view metadata]) for tensor data, ("module", ...) in
// whole-model files.
func (u *unpickler) persistentLoad(pid any) (any, error) {
	t, ok := pid.(pyTuple)
	if !ok || len(t) == 0 {
		return nil, errors.New("persistent id is not a tuple")
	}
	if kind, _ := t[0].(string); kind != "storage" {
		return pyObject{}, nil
	}
	if len(t) < 5 {
		return nil, errors.New("storage persistent id with fewer than 5 values")
	}
	class, ok1 := t[1].(pyGlobal)
	key, ok2 := t[2].(string)
	numel, ok3 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || numel < 0 {
		return nil, fmt.Errorf("malformed storage persistent id %v", t)
	}
	if _, known := elemSizes[class.name]; class.module != "torch" || !known {
		return nil, fmt.Errorf("storage of class %s.%s", class.module, class.name)
	}
	if len(t) >= 6 && t[5] != nil {
		return nil, errors.New("storage views (torch < 0.4 files with shared storages) are not supported")
	}
	if s, ok := u.storages[key]; ok {
		return s, nil
	}
	if len(u.storages) >= maxPickleStack {
		return nil, errPickleLimit
	}
	s := &pyStorage{class: class.name, key: key, numel: numel}
	u.storages[key] = s
	u.order = append(u.order, s)
	return s, nil
}

// reduce applies a callable to its arguments, for the few callables a
// state dict uses.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(pyGlobal)
	a, ok2 := args.(pyTuple)
	if !ok || !ok2 {
		return pyObject{}, nil
	}
	switch g.module + "." + g.name {
	case "collections.OrderedDict":
		// Python 3 fills it with SETITEMS afterwards; Python 2's
		// OrderedDict.__reduce__ passes its items, [[key, value], ...].
		d := &pyDict{}
		if len(a) == 1 {
			if items, ok := a[0].(*pyList); ok {
				for _, it := range items.items {
					var kv []any
					switch p := it.(type) {
					case *pyList:
						kv = p.items
					case pyTuple:
						kv = p
					}
					if len(kv) == 2 {
						d.keys, d.vals = append(d.keys, kv[0]), append(d.vals, kv[1])
					}
				}
			}
		}
		return d, nil
	case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2":
		// (storage, offset, size, stride, ...)
		if len(a) < 4 {
			return nil, fmt.Errorf("%s with %d arguments", g.name, len(a))
		}
		s, ok1 := a[0].(*pyStorage)
		off, ok2 := a[1].(int64)
		size, ok3 := intTuple(a[2])
		stride, ok4 := intTuple(a[3])
		if !ok1 || !ok2 || !ok3 || !ok4 || off < 0 {
			return nil, fmt.Errorf("%s with malformed arguments", g.name)
		}
		return &pyTensor{storage: s, offset: off, size: size, stride: stride}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(a) > 0 {
			return a[0], nil
		}
	}
	return pyObject{}, nil
}

func intTuple(v any) ([]int64, bool) {
	t, ok := v.(pyTuple)
	if !ok || len(t) > 8 {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

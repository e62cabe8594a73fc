package stylize

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The reference accepts a checkpoint name when it matches this pattern, and
// then formats it with str.format if it holds {...}, else with %.
var (
	placeholderRE = regexp.MustCompile(`^.*(\{.*\}|%.*).*$`)
	braceRE       = regexp.MustCompile(`^.*\{.*\}.*$`)
)

// maxFieldWidth bounds the widths and precisions of a checkpoint name's
// placeholder: a file name is at most 255 bytes on the usual file systems,
// and Python would allocate whatever width it is given.
const maxFieldWidth = 255

// CheckpointName returns the checkpoint file name for iteration itr, formatted
// as the reference does: Python's str.format for "{}" placeholders ("out_{}.jpg",
// "out_{:05}.jpg", "out_{:.2f}.jpg"), printf style otherwise ("out_%d.jpg",
// "out_%05d.jpg"). Every integer and float presentation of the two is
// formatted as Python formats an int; a width or precision over 255, a
// character conversion ({:c}, %c) and a name Python would fail on are
// errors.
func CheckpointName(format string, itr int) (string, error) {
	if !placeholderRE.MatchString(format) {
		return "", fmt.Errorf("checkpoint output %q has no placeholder (e.g. `foo_{}.jpg` or `foo_%%d.jpg`)", format)
	}
	var s string
	var err error
	if braceRE.MatchString(format) {
		s, err = pyFormat(format, itr)
	} else {
		s, err = percentFormat(format, itr)
	}
	if err != nil {
		return "", fmt.Errorf("checkpoint output %q: %w", format, err)
	}
	return s, nil
}

// pyFormat is format.format(v) for one int v: fields "{}", "{0}", "{0.real}",
// "{!s}", each with an optional format spec, and "{{" / "}}".
func pyFormat(format string, v int) (string, error) {
	var b strings.Builder
	var fields fieldNumbering
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '{' && i+1 < len(format) && format[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(format) && format[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '}':
			return "", errors.New("single '}' encountered in format string")
		case c == '{':
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				return "", errors.New("single '{' encountered in format string")
			}
			s, err := fields.format(format[i+1:i+end], v)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// fieldNumbering follows str.format's numbering of one format string's
// fields: automatic ("{}") or manual ("{0}"), never both, and with one
// value to format, one automatic field at most.
type fieldNumbering struct {
	auto   int  // "{}" fields seen
	manual bool // a "{0}" field seen
}

// format is the replacement field {field} ([arg][.attr...][!conv][:spec])
// formatted for the value v.
func (n *fieldNumbering) format(field string, v int) (string, error) {
	if strings.ContainsRune(field, '{') {
		return "", fmt.Errorf("nested field {%s} is not supported", field)
	}
	name, spec, _ := strings.Cut(field, ":")
	name, conv, hasConv := strings.Cut(name, "!")
	attrs := strings.Split(name, ".")
	if strings.IndexByte(name, '[') >= 0 {
		return "", fmt.Errorf("field {%s}: the iteration number cannot be indexed", field)
	}
	if err := n.take(attrs[0], field); err != nil {
		return "", err
	}
	val, err := intAttrs(v, attrs[1:], field)
	if err != nil {
		return "", err
	}
	switch {
	case !hasConv:
		return pyFormatInt(val, spec)
	case conv == "s" || conv == "r" || conv == "a":
		return pyFormatStr(strconv.Itoa(val), spec)
	default:
		return "", fmt.Errorf("unknown conversion specifier %q", conv)
	}
}

// take numbers the field {field} whose argument is arg ("" or "0"), as
// str.format does.
func (n *fieldNumbering) take(arg, field string) error {
	switch arg {
	case "":
		if n.manual {
			return errors.New("cannot switch from manual field specification to automatic field numbering")
		}
		if n.auto++; n.auto > 1 {
			return errors.New("only one {} placeholder is allowed (use {0} to repeat it)")
		}
	case "0":
		if n.auto > 0 {
			return errors.New("cannot switch from automatic field numbering to manual field specification")
		}
		n.manual = true
	default:
		return fmt.Errorf("field {%s} is not the iteration (use {} or {0})", field)
	}
	return nil
}

// intAttrs is v.attr1.attr2... for an int v and the attributes an int has
// that are ints themselves.
func intAttrs(v int, attrs []string, field string) (int, error) {
	for _, a := range attrs {
		switch a {
		case "real", "numerator":
		case "imag":
			v = 0
		case "denominator":
			v = 1
		case "":
			return 0, fmt.Errorf("field {%s}: empty attribute", field)
		default:
			return 0, fmt.Errorf("field {%s}: an int has no attribute %q", field, a)
		}
	}
	return v, nil
}

// pySpec is a parsed Python format spec:
// [[fill]align][sign][z][#][0][width][grouping][.precision][type].
type pySpec struct {
	fill        string // one character, "" when not given
	align       byte   // '<', '>', '=', '^' or 0
	sign        byte   // '+', '-', ' ' or 0
	z, alt      bool
	zero        bool // the '0' flag before the width
	width, prec int  // -1 when not given
	group       byte // ',', '_' or 0
	verb        byte // the presentation type, 0 when not given
}

func parsePySpec(spec string) (pySpec, error) {
	p := pySpec{width: -1, prec: -1}
	s := spec
	isAlign := func(c byte) bool { return c == '<' || c == '>' || c == '=' || c == '^' }
	if _, n := utf8.DecodeRuneInString(s); n < len(s) && isAlign(s[n]) {
		p.fill, p.align, s = s[:n], s[n], s[n+1:]
	} else if len(s) > 0 && isAlign(s[0]) {
		p.align, s = s[0], s[1:]
	}
	if len(s) > 0 && (s[0] == '+' || s[0] == '-' || s[0] == ' ') {
		p.sign, s = s[0], s[1:]
	}
	if len(s) > 0 && s[0] == 'z' {
		p.z, s = true, s[1:]
	}
	if len(s) > 0 && s[0] == '#' {
		p.alt, s = true, s[1:]
	}
	if len(s) > 0 && s[0] == '0' {
		p.zero, s = true, s[1:]
	}
	var err error
	if p.width, s, err = fieldNumber(s, "width"); err != nil {
		return p, err
	}
	if len(s) > 0 && (s[0] == ',' || s[0] == '_') {
		p.group, s = s[0], s[1:]
		if len(s) > 0 && (s[0] == ',' || s[0] == '_') {
			if s[0] != p.group {
				return p, errors.New("cannot specify both ',' and '_'")
			}
			return p, fmt.Errorf("cannot specify '%c' with '%c'", p.group, p.group)
		}
	}
	if len(s) > 0 && s[0] == '.' {
		if p.prec, s, err = fieldNumber(s[1:], "precision"); err != nil {
			return p, err
		}
		if p.prec < 0 {
			return p, errors.New("format specifier missing precision")
		}
	}
	if len(s) == 1 {
		p.verb, s = s[0], ""
	}
	if s != "" {
		return p, fmt.Errorf("invalid format specifier %q", spec)
	}
	return p, nil
}

// fieldNumber reads the decimal number at the start of s (-1 when there
// is none), refusing one over maxFieldWidth.
func fieldNumber(s, what string) (int, string, error) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return -1, s, nil
	}
	v, err := strconv.Atoi(s[:n])
	if err != nil || v > maxFieldWidth {
		return 0, s, fmt.Errorf("%s %s is over %d (a file name's limit)", what, s[:n], maxFieldWidth)
	}
	return v, s[n:], nil
}

// pyFormatInt is format(v, spec) for an int, as Python formats it.
func pyFormatInt(v int, spec string) (string, error) {
	p, err := parsePySpec(spec)
	if err != nil {
		return "", err
	}
	if err := checkIntSpec(p); err != nil {
		return "", err
	}
	if p.zero {
		// Python 3.10+: '0' sets the fill when none is given and the
		// alignment when none is given.
		if p.fill == "" {
			p.fill = "0"
		}
		if p.align == 0 {
			p.align = '='
		}
	}
	if p.fill == "" {
		p.fill = " "
	}
	if p.align == 0 {
		p.align = '>'
	}

	prefix, digits, rest, groupSize := intParts(v, p)
	sign := ""
	switch {
	case v < 0:
		sign = "-"
	case p.sign == '+':
		sign = "+"
	case p.sign == ' ':
		sign = " "
	}
	sep := ""
	if p.group != 0 {
		sep = string(p.group)
	}
	if p.fill == "0" && p.align == '=' {
		// Sign-aware zero padding: the zeros are digits, grouped like them.
		minDigits := p.width - len(sign) - len(prefix) - len(rest)
		return sign + prefix + groupDigits(digits, sep, groupSize, minDigits) + rest, nil
	}
	body := groupDigits(digits, sep, groupSize, 0) + rest
	return pad(sign+prefix, body, p.fill, p.align, p.width), nil
}

// isFloatVerb reports whether verb is a float presentation type.
func isFloatVerb(verb byte) bool { return strings.IndexByte("eEfFgG%", verb) >= 0 }

// checkIntSpec refuses what Python refuses in a spec for an int, and a
// character presentation.
func checkIntSpec(p pySpec) error {
	verb := p.verb
	isFloat := isFloatVerb(verb)
	switch {
	case verb == 'c':
		return errors.New("a character ({:c}) makes no file name; use {} or {:05}")
	case verb != 0 && strings.IndexByte("dnboxX", verb) < 0 && !isFloat:
		return fmt.Errorf("unknown format code '%c' for an iteration number", verb)
	case p.z && !isFloat:
		return errors.New("negative zero coercion (z) not allowed in integer format specifier")
	case p.prec >= 0 && !isFloat:
		return errors.New("precision not allowed in integer format specifier")
	case p.group == ',' && strings.IndexByte("nboxX", verb) >= 0 && verb != 0:
		return fmt.Errorf("cannot specify ',' with '%c'", verb)
	case p.group == '_' && verb == 'n':
		return errors.New("cannot specify '_' with 'n'")
	}
	return nil
}

// intParts is |v| as p presents it, in parts: the base prefix ("0x"), the
// integer digits, the rest (a float presentation's fraction, exponent or
// %) and the size of the digit groups.
func intParts(v int, p pySpec) (prefix, digits, rest string, groupSize int) {
	switch p.verb {
	case 0, 'd', 'n':
		digits = strconv.FormatUint(absInt(v), 10)
	case 'b', 'o', 'x', 'X':
		base := map[byte]int{'b': 2, 'o': 8, 'x': 16, 'X': 16}[p.verb]
		digits = strconv.FormatUint(absInt(v), base)
		if p.verb == 'X' {
			digits = strings.ToUpper(digits)
		}
		if p.alt {
			prefix = "0" + string(p.verb)
		}
		return prefix, digits, "", 4
	default:
		digits, rest = floatParts(v, p)
	}
	return "", digits, rest, 3
}

// floatParts is |v| in p's float presentation, split into its integer
// digits and the rest.
func floatParts(v int, p pySpec) (digits, rest string) {
	f := float64(v)
	if v < 0 {
		f = -f
	}
	fv, suffix := p.verb, ""
	if p.verb == '%' {
		f, fv, suffix = f*100, 'f', "%"
	}
	prec := p.prec
	if prec < 0 {
		prec = 6
	}
	flags := "%"
	if p.alt {
		flags += "#"
	}
	body := fmt.Sprintf(flags+".*"+string(fv), prec, f) + suffix
	end := strings.IndexFunc(body, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(body)
	}
	return body[:end], body[end:]
}

// pyFormatStr is format(s, spec) for a str.
func pyFormatStr(s, spec string) (string, error) {
	p, err := parsePySpec(spec)
	switch {
	case err != nil:
		return "", err
	case p.verb != 0 && p.verb != 's':
		return "", fmt.Errorf("unknown format code '%c' for object of type 'str'", p.verb)
	case p.sign != 0:
		return "", errors.New("sign not allowed in string format specifier")
	case p.alt:
		return "", errors.New("alternate form (#) not allowed in string format specifier")
	case p.z:
		return "", errors.New("negative zero coercion (z) not allowed in string format specifier")
	case p.group != 0:
		return "", fmt.Errorf("cannot specify '%c' with 's'", p.group)
	case p.align == '=':
		return "", errors.New("'=' alignment not allowed in string format specifier")
	}
	if p.zero && p.fill == "" {
		p.fill = "0"
	}
	if p.fill == "" {
		p.fill = " "
	}
	if p.align == 0 {
		p.align = '<'
	}
	if p.prec >= 0 && p.prec < len(s) {
		s = s[:p.prec] // the digits of an int are one byte each
	}
	return pad("", s, p.fill, p.align, p.width), nil
}

// pad pads lead+body to width with fill as align asks ('=' puts the fill
// between lead and body).
func pad(lead, body, fill string, align byte, width int) string {
	n := width - utf8.RuneCountInString(lead) - utf8.RuneCountInString(body)
	if n <= 0 {
		return lead + body
	}
	switch align {
	case '<':
		return lead + body + strings.Repeat(fill, n)
	case '^':
		return strings.Repeat(fill, n/2) + lead + body + strings.Repeat(fill, n-n/2)
	case '=':
		return lead + strings.Repeat(fill, n) + body
	default:
		return strings.Repeat(fill, n) + lead + body
	}
}

// groupDigits inserts sep every size digits from the right, first padding
// with zeros to at least minWidth characters as CPython's
// _PyUnicode_InsertThousandsGrouping does: a separator never leads, so the
// result may be one character wider.
func groupDigits(digits, sep string, size, minWidth int) string {
	if sep == "" {
		if n := minWidth - len(digits); n > 0 {
			return strings.Repeat("0", n) + digits
		}
		return digits
	}
	var groups []string
	rem := len(digits)
	for {
		l := min(size, max(rem, minWidth, 1))
		chars := min(rem, l)
		groups = append(groups, strings.Repeat("0", l-chars)+digits[rem-chars:rem])
		rem -= chars
		minWidth -= l
		if rem <= 0 && minWidth <= 0 {
			break
		}
		minWidth -= len(sep)
	}
	var b strings.Builder
	for i := len(groups) - 1; i >= 0; i-- {
		b.WriteString(groups[i])
		if i > 0 {
			b.WriteString(sep)
		}
	}
	return b.String()
}

func absInt(v int) uint64 {
	if v < 0 {
		return uint64(-int64(v))
	}
	return uint64(v)
}

// percentFormat is Python's format % v for one int v: conversions d i u o x
// X e E f F g G s r a with flags, width, precision and an ignored length
// modifier, and "%%". Exactly one conversion must consume the value.
func percentFormat(format string, v int) (string, error) {
	var b strings.Builder
	used := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			b.WriteByte('%')
			continue
		}
		p, verbAt, err := parsePercentSpec(format, i)
		if err != nil {
			return "", err
		}
		i = verbAt
		if used++; used > 1 {
			return "", errors.New("needs exactly one placeholder such as %d, found more")
		}
		if err := p.write(&b, v, format, i); err != nil {
			return "", err
		}
	}
	if used == 0 {
		return "", errors.New("needs exactly one placeholder such as %d, found none")
	}
	return b.String(), nil
}

// percentSpec is one parsed % conversion: %[flags][width][.precision][length]verb.
type percentSpec struct {
	minus, plus, space, alt, zero bool
	width, prec                   int // -1 when not given
	verb                          byte
}

// parsePercentSpec parses the conversion whose flags start at format[i],
// returning it and the index of its conversion character.
func parsePercentSpec(format string, i int) (percentSpec, int, error) {
	var p percentSpec
	if i < len(format) && format[i] == '(' {
		return p, i, errors.New("a %(name) conversion needs a mapping, not the iteration number")
	}
flags:
	for ; i < len(format); i++ {
		switch format[i] {
		case '-':
			p.minus = true
		case '+':
			p.plus = true
		case ' ':
			p.space = true
		case '#':
			p.alt = true
		case '0':
			p.zero = true
		default:
			break flags
		}
	}
	if i < len(format) && format[i] == '*' {
		return p, i, errors.New("a * width needs a second value (give the width in the name)")
	}
	width, rest, err := fieldNumber(format[i:], "width")
	if err != nil {
		return p, i, err
	}
	p.width, p.prec = width, -1
	i = len(format) - len(rest)
	if i < len(format) && format[i] == '.' {
		i++
		if i < len(format) && format[i] == '*' {
			return p, i, errors.New("a * precision needs a second value (give the precision in the name)")
		}
		if p.prec, rest, err = fieldNumber(format[i:], "precision"); err != nil {
			return p, i, err
		}
		p.prec = max(p.prec, 0) // "%.d" is precision 0
		i = len(format) - len(rest)
	}
	if i < len(format) && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L') {
		i++
	}
	if i >= len(format) {
		return p, i, errors.New("incomplete format")
	}
	p.verb = format[i]
	return p, i, nil
}

// write writes v converted as p to b; format and i, the index of the
// conversion character in it, name an unsupported one.
func (p percentSpec) write(b *strings.Builder, v int, format string, i int) error {
	switch p.verb {
	case 'd', 'i', 'u', 'o', 'x', 'X':
		b.WriteString(percentInt(v, p.verb, p.prec, p.width, p.minus, p.plus, p.space, p.alt, p.zero))
	case 'e', 'E', 'f', 'F', 'g', 'G':
		goFlags := ""
		for _, f := range []struct {
			on bool
			c  string
		}{{p.minus, "-"}, {p.plus, "+"}, {p.space, " "}, {p.alt, "#"}, {p.zero, "0"}} {
			if f.on {
				goFlags += f.c
			}
		}
		prec := p.prec
		if prec < 0 {
			prec = 6
		}
		fmt.Fprintf(b, "%"+goFlags+"*.*"+string(p.verb), p.width, prec, float64(v))
	case 's', 'r', 'a':
		s := strconv.Itoa(v)
		if p.prec >= 0 && p.prec < len(s) {
			s = s[:p.prec]
		}
		align := byte('>')
		if p.minus {
			align = '<'
		}
		b.WriteString(pad("", s, " ", align, p.width))
	case 'c':
		return errors.New("a character (%c) makes no file name; use %d or %05d")
	default:
		r, _ := utf8.DecodeRuneInString(format[i:])
		return fmt.Errorf("unsupported format character %q at index %d (use %%d or %%05d)", r, i)
	}
	return nil
}

// percentInt formats an integer conversion as Python's % does: the
// precision is a minimum number of digits (and "%.0d" of 0 is "0", unlike
// C), '#' adds 0o / 0x / 0X, '0' pads with zeros after the sign and prefix
// even with a precision, '-' pads on the right.
func percentInt(v int, verb byte, prec, width int, minus, plus, space, alt, zero bool) string {
	base, prefix := 10, ""
	switch verb {
	case 'o':
		base = 8
		if alt {
			prefix = "0o"
		}
	case 'x', 'X':
		base = 16
		if alt {
			prefix = "0" + string(verb)
		}
	}
	digits := strconv.FormatUint(absInt(v), base)
	if verb == 'X' {
		digits = strings.ToUpper(digits)
	}
	if n := prec - len(digits); n > 0 {
		digits = strings.Repeat("0", n) + digits
	}
	sign := ""
	switch {
	case v < 0:
		sign = "-"
	case plus:
		sign = "+"
	case space:
		sign = " "
	}
	switch {
	case minus:
		return pad(sign+prefix, digits, " ", '<', width)
	case zero:
		return pad(sign+prefix, digits, "0", '=', width)
	default:
		return pad(sign+prefix, digits, " ", '>', width)
	}
}

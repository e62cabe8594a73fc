package stylize

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The reference accepts a checkpoint name when it matches this pattern, and
// then formats it with str.format if it holds {...}, else with %.
var (
	placeholderRE = regexp.MustCompile(`^.*(\{.*\}|%.*).*$`)
	braceRE       = regexp.MustCompile(`^.*\{.*\}.*$`)
)

// CheckpointName returns the checkpoint file name for iteration itr, formatted
// as the reference does: Python's str.format for "{}" placeholders ("out_{}.jpg",
// "out_{:05}.jpg", "out_{:05d}.jpg"), printf style otherwise ("out_%d.jpg",
// "out_%05d.jpg").
func CheckpointName(format string, itr int) (string, error) {
	if !placeholderRE.MatchString(format) {
		return "", fmt.Errorf("checkpoint output %q has no placeholder (e.g. `foo_{}.jpg` or `foo_%%d.jpg`)", format)
	}
	if braceRE.MatchString(format) {
		return pyFormat(format, itr)
	}
	return percentFormat(format, itr)
}

// pyFormat implements the part of str.format a file name can use: fields
// "{}", "{0}", with an optional integer format spec, and "{{" / "}}".
func pyFormat(format string, v int) (string, error) {
	var b strings.Builder
	auto := 0 // automatic fields: str.format has one value for the first
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
			return "", fmt.Errorf("checkpoint output %q: single '}' encountered in format string", format)
		case c == '{':
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("checkpoint output %q: single '{' encountered in format string", format)
			}
			field := format[i+1 : i+end]
			name, spec, _ := strings.Cut(field, ":")
			if name != "" && name != "0" {
				return "", fmt.Errorf("checkpoint output %q: field {%s} is not the iteration (use {} or {0})", format, field)
			}
			if name == "" {
				if auto++; auto > 1 {
					return "", fmt.Errorf("checkpoint output %q: only one {} placeholder is allowed (use {0} to repeat it)", format)
				}
			}
			s, err := pyFormatInt(v, spec)
			if err != nil {
				return "", fmt.Errorf("checkpoint output %q: %w", format, err)
			}
			b.WriteString(s)
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

var pySpecRE = regexp.MustCompile(`^(?:(.)?([<>=^]))?([-+ ])?(#)?(0)?(\d+)?(,|_)?([dn])?$`)

// pyFormatInt formats an integer with a Python format spec
// ([[fill]align][sign][#][0][width][,][d]).
func pyFormatInt(v int, spec string) (string, error) {
	m := pySpecRE.FindStringSubmatch(spec)
	if m == nil {
		return "", fmt.Errorf("format spec %q is not valid for an iteration number", spec)
	}
	fill, align, sign, zero, widthStr, group := m[1], m[2], m[3], m[5], m[6], m[7]
	digits := strconv.Itoa(abs(v))
	if group != "" {
		digits = groupDigits(digits, group)
	}
	prefix := ""
	switch {
	case v < 0:
		prefix = "-"
	case sign == "+":
		prefix = "+"
	case sign == " ":
		prefix = " "
	}
	width := 0
	if widthStr != "" {
		width, _ = strconv.Atoi(widthStr)
	}
	if zero != "" && align == "" {
		fill, align = "0", "="
	}
	if fill == "" {
		fill = " "
	}
	if align == "" {
		align = ">"
	}
	pad := width - len(prefix) - len(digits)
	if pad <= 0 {
		return prefix + digits, nil
	}
	switch align {
	case "<":
		return prefix + digits + strings.Repeat(fill, pad), nil
	case "^":
		left := pad / 2
		return strings.Repeat(fill, left) + prefix + digits + strings.Repeat(fill, pad-left), nil
	case "=":
		return prefix + strings.Repeat(fill, pad) + digits, nil
	default:
		return strings.Repeat(fill, pad) + prefix + digits, nil
	}
}

func groupDigits(s, sep string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

var percentRE = regexp.MustCompile(`%([-+ #0]*)(\d*)(\.\d+)?([dius%])`)

// percentFormat implements Python's "fmt % itr" for the conversions a file
// name can use with one integer: %d, %i, %u and %s with flags and width, and
// "%%". Exactly one conversion must consume the value.
func percentFormat(format string, v int) (string, error) {
	used := 0
	var bad error
	out := percentRE.ReplaceAllStringFunc(format, func(s string) string {
		m := percentRE.FindStringSubmatch(s)
		if m[4] == "%" {
			return "%"
		}
		used++
		flags := strings.ReplaceAll(m[1], "#", "")
		if m[4] == "s" {
			return fmt.Sprintf("%"+strings.ReplaceAll(flags, "0", "")+m[2]+m[3]+"s", strconv.Itoa(v))
		}
		return fmt.Sprintf("%"+flags+m[2]+m[3]+"d", v)
	})
	// Anything left that starts with % is a conversion we do not support.
	rest := percentRE.ReplaceAllString(format, "")
	if strings.Contains(rest, "%") {
		bad = fmt.Errorf("checkpoint output %q: unsupported %% conversion (use %%d or %%05d)", format)
	}
	if bad == nil && used != 1 {
		bad = fmt.Errorf("checkpoint output %q: needs exactly one %%d placeholder, found %d", format, used)
	}
	if bad != nil {
		return "", bad
	}
	return out, nil
}

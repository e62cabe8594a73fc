package main

import (
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// listFlags take one or more values after a single flag, as the reference's
// argparse options with nargs='+' do: "--styles a.jpg b.jpg".
var listFlags = map[string]bool{"styles": true, "style-scales": true, "style-blend-weights": true}

var numberRE = regexp.MustCompile(`^-\d|^-\.\d`)

// normalizeArgs rewrites the reference's argument forms into ones pflag
// reads: it expands unambiguous prefixes of long flags (argparse accepts
// "--iter 10") and turns "--styles a b" into "--styles a --styles b". It
// refuses, as argparse does, an ambiguous prefix and a flag that needs a
// value followed by another flag or by nothing (pflag would take
// "--output" as the value of "--styles --output o.png").
func normalizeArgs(fs *pflag.FlagSet, args []string) ([]string, error) {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if fs.Lookup("help") == nil {
		names = append(names, "help") // cobra adds it when it runs
	}
	out := make([]string, 0, len(args))
	list := "" // the list flag whose values are being read
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "--") {
			name, value, hasValue := strings.Cut(a[2:], "=")
			name, err := expandPrefix(names, name)
			if err != nil {
				return nil, err
			}
			a = "--" + name
			if hasValue {
				a += "=" + value
			}
			list = ""
			f := fs.Lookup(name)
			needsValue := f != nil && f.NoOptDefVal == "" && !hasValue
			if needsValue && (i+1 == len(args) || !isValue(args[i+1])) {
				return nil, &flagError{flag: a, msg: "needs a value", hint: valueHint(a, args, i)}
			}
			if listFlags[name] {
				list = name
				if needsValue {
					// the first value belongs to the flag as written
					out = append(out, a, args[i+1])
					i++
					continue
				}
			}
			out = append(out, a)
			continue
		}
		if list != "" && isValue(a) {
			out = append(out, "--"+list, a)
			continue
		}
		list = ""
		out = append(out, a)
	}
	return out, nil
}

// valueHint says what was found where flag args[i] wanted its value.
func valueHint(flag string, args []string, i int) string {
	if i+1 == len(args) {
		return "give " + flag + " a value; it is the last argument"
	}
	return "give " + flag + " a value before " + args[i+1]
}

// isValue tells a value from the next flag: anything that does not start
// with "-", a lone "-", or a negative number (as argparse tells them).
func isValue(a string) bool {
	return !strings.HasPrefix(a, "-") || a == "-" || numberRE.MatchString(a)
}

// expandPrefix returns the flag that name abbreviates, name itself when it
// is a flag or abbreviates none (the parser then reports it unknown), or
// argparse's error for a prefix of several flags, listed in their order.
func expandPrefix(names []string, name string) (string, error) {
	var matches []string
	for _, n := range names {
		if n == name {
			return name, nil
		}
		if strings.HasPrefix(n, name) && name != "" {
			matches = append(matches, "--"+n)
		}
	}
	switch len(matches) {
	case 0:
		return name, nil
	case 1:
		return matches[0][2:], nil
	}
	return "", usageError{&ambiguousError{"--" + name, matches}}
}

// ambiguousError is argparse's message for an ambiguous abbreviation.
type ambiguousError struct {
	option  string
	matches []string
}

func (e *ambiguousError) Error() string {
	return "ambiguous option: " + e.option + " could match " + strings.Join(e.matches, ", ")
}

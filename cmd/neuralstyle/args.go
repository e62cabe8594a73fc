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
// "--iter 10") and turns "--styles a b" into "--styles a --styles b".
func normalizeArgs(fs *pflag.FlagSet, args []string) []string {
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
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
			name = expandPrefix(names, name)
			a = "--" + name
			if hasValue {
				a += "=" + value
			}
			list = ""
			if listFlags[name] {
				list = name
				if !hasValue && i+1 < len(args) && isValue(args[i+1]) {
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
	return out
}

// isValue tells a list value from the next flag: anything that does not
// start with "-", or a negative number.
func isValue(a string) bool {
	return !strings.HasPrefix(a, "-") || numberRE.MatchString(a)
}

func expandPrefix(names []string, name string) string {
	match := ""
	for _, n := range names {
		if n == name {
			return name
		}
		if strings.HasPrefix(n, name) && name != "" {
			if match != "" {
				return name // ambiguous: let the parser report it
			}
			match = n
		}
	}
	if match == "" {
		return name
	}
	return match
}

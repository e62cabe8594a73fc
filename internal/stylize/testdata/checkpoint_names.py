#!/usr/bin/python3
# Generates pythonCheckpointNames in ../format_test.go:
#   /usr/bin/python3 internal/stylize/testdata/checkpoint_names.py
# Prints a Go table of checkpoint-name cases from Python's own str.format
# and % (the reference formats the name with one of them, chosen as here).
import re
fmts = r'''ck_{}.png
ck_{0}.png
ck_{:05}.png
ck_{:05d}.png
ck_{:>4}.png
ck_{:<4}.png
ck_{:^6}.png
ck_{:x^5}.png
ck_{:*<6d}.png
ck_{:=+8}.png
ck_{:+}.png
ck_{: }.png
ck_{:-}.png
ck_{:,}.png
ck_{:_}.png
ck_{:012,}.png
ck_{:012_}.png
ck_{:<05}.png
ck_{:^05}.png
ck_{:>05}.png
ck_{:x<05}.png
ck_{:00}.png
ck_{:>0}.png
ck_{:0>5}.png
ck_{:-^9}.png
ck_{:n}.png
ck_{:5n}.png
ck_{:,n}.png
ck_{:b}.png
ck_{:#b}.png
ck_{:#_b}.png
ck_{:o}.png
ck_{:#o}.png
ck_{:x}.png
ck_{:X}.png
ck_{:#x}.png
ck_{:#X}.png
ck_{:#010x}.png
ck_{:_x}.png
ck_{:,x}.png
ck_{:.2f}.png
ck_{:.0f}.png
ck_{:#.0f}.png
ck_{:f}.png
ck_{:F}.png
ck_{:08.2f}.png
ck_{:+.1f}.png
ck_{:,.2f}.png
ck_{:_.1f}.png
ck_{:e}.png
ck_{:.0e}.png
ck_{:#.0e}.png
ck_{:E}.png
ck_{:.3e}.png
ck_{:g}.png
ck_{:G}.png
ck_{:#g}.png
ck_{:.10g}.png
ck_{:.2g}.png
ck_{:.0g}.png
ck_{:#.3g}.png
ck_{:%}.png
ck_{:.0%}.png
ck_{:.3%}.png
ck_{:10.1%}.png
ck_{:z}.png
ck_{:z.1f}.png
ck_{:.2}.png
ck_{:.2d}.png
ck_{:s}.png
ck_{:c}.png
ck_{!s}.png
ck_{!r:>5}.png
ck_{!a}.png
ck_{!s:.1}.png
ck_{0!s:*^7}.png
ck_{!x}.png
ck_{0.real}.png
ck_{[0]}.png
ck_{name}.png
ck_{1}.png
ck_{}{}.png
ck_{0}_{0}.png
ck_{}_{0}.png
{{x}}_{}.png
ck_{:05}}x.png
ck_}{}.png
ck_{:{}}.png
ck_{:5,_}.png
ck_{:,,}.png
ck_{:q}.png
ck_{:5.2.1f}.png
ck_{:255}.png
ck_{:.255f}.png
ck_{:256}.png
ck_{:.256f}.png
ck_{:999999999999}.png
ck_{:.999999999999f}.png
ck_%d.png
ck_%i.png
ck_%u.png
ck_%05d.png
ck_%5d.png
ck_%-3d.png
ck_%-05d.png
ck_%+d.png
ck_% d.png
ck_%+ d.png
ck_%.5d.png
ck_%.0d.png
ck_%.d.png
ck_%8.3d.png
ck_%08.3d.png
ck_%ld.png
ck_%hd.png
ck_%Ld.png
ck_%s.png
ck_%5s.png
ck_%-5s.png
ck_%.1s.png
ck_%05s.png
ck_%r.png
ck_%a.png
ck_%o.png
ck_%#o.png
ck_%x.png
ck_%X.png
ck_%#x.png
ck_%#X.png
ck_%#08x.png
ck_%.4x.png
ck_%#.4x.png
ck_%f.png
ck_%.2f.png
ck_%#.0f.png
ck_%08.2f.png
ck_%F.png
ck_%e.png
ck_%.0e.png
ck_%E.png
ck_%g.png
ck_%#g.png
ck_%.2g.png
ck_%G.png
ck_%c.png
ck_%%_%d.png
100%%_%d.png
ck_%5%_%d.png
ck_%d_%d.png
ck_%%.png
ck_%q.png
ck_%.png
ck_%*d.png
ck_%(x)d.png
ck_%255d.png
ck_%256d.png
ck_%.255d.png
ck_%.256d.png
ck_%999999999999d.png
ck_%.999999999999d.png
ck_%.0s.png
ck_{:0=12,}.png
ck_{:012,.2f}.png
ck_{:015_.1f}.png
ck_{:0=+8}.png
ck_{:_o}.png
ck_{:,d}.png
ck_{:_n}.png
ck_{0.imag}.png
ck_{0.denominator}.png
ck_{0.real.real}.png
ck_{0.foo}.png
ck_{0.}.png
ck_{!s:05}.png
ck_{!s:+}.png
ck_{!s:=5}.png
ck_{!s:,}.png
ck_{!s:#}.png
ck_{!s:d}.png
ck_{:,%}.png
ck_{:010,.1%}.png
ck_{:é^7}.png
ck_{:^+7}.png
ck_{:e<+5}.png
ck_{:#5x}.png
ck_{:#<8b}.png
ck_{:#^9o}.png
ck_{:+#x}.png
ck_{: 07}.png
ck_{:=7}.png
ck_{:>+9.2e}.png
ck_{:.}.png
ck_{.png
ck_{0!}.png
%d_{}.png
ck_%#.3o.png
ck_%-+6d.png
ck_% 05d.png
ck_%#5x.png
ck_%-#8x.png
ck_%+.2e.png
ck_%-9.3f|.png
ck_% g.png
ck_%lld.png
ck_%-5%.png
out.png'''.split('\n')

placeholder = re.compile(r'^.*(\{.*\}|%.*).*$')
brace = re.compile(r'^.*\{.*\}.*$')

def ref(f, v):
    if not placeholder.match(f):
        raise ValueError('no placeholder')
    if brace.match(f):
        return f.format(v)
    return f % v

def golit(s):
    out = '"'
    for ch in s:
        if ch == '"' or ch == '\\':
            out += '\\' + ch
        elif 32 <= ord(ch) < 127:
            out += ch
        else:
            out += ''.join('\\x%02x' % b for b in ch.encode('utf-8'))
    return out + '"'

for f in fmts:
    # Python allocates the width or precision it is given; the widest
    # probes are left to the test's own refusal cases.
    m = re.search(r'(\d+)', f)
    if any(len(n) > 6 for n in re.findall(r'\d+', f)):
        print('\t{%s, 0, "", "refused here: a width or precision over 255"},' % golit(f))
        continue
    if re.search(r'(\{[^}]*:[^}]*c\})|(%c)', f) or any(255 < int(n) for n in re.findall(r'[:.%](\d+)', f)):
        print('\t{%s, 0, "", "refused here: a width or precision over 255, or a character conversion"},' % golit(f))
        continue
    for v in (0, 7, 1234567):
        try:
            r = ref(f, v)
            print('\t{%s, %d, %s, ""},' % (golit(f), v, golit(r)))
        except Exception as e:
            print('\t{%s, %d, "", %s},' % (golit(f), v, golit(type(e).__name__ + ': ' + str(e))))

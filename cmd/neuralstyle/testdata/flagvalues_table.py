#!/usr/bin/python3
# Generates pythonInts and pythonFloats in ../flagvalues_test.go:
#   /usr/bin/python3 cmd/neuralstyle/testdata/flagvalues_table.py
# Prints the Go tables of cmd/neuralstyle/flagvalues_test.go: what
# Python's int() and float() (argparse's type=int, type=float) make of each
# argument.
ints = ['10', '010', '0x10', '0X10', '0b11', '0o7', '+5', ' 5 ', '-5', '- 5', '1_000', '1__0', '_1', '1_',
        '-_1', '', '  ', '\u0663', '5\n', '\t5\t', '1e3', '5.0', '00', '-0', '+-5', '--5',
        '9223372036854775807', '-9223372036854775808', '9223372036854775808', '99999999999999999999',
        '\uff11\uff12', '0_0', '5 5', '\x0b5', '\u20005', '\xa05', '\u30005', '\x1c5', '5\x00',
        '\U0001d7d7', '\u0e53\u0e52', '\u00b2', '\u2168', 'five', '0777', '1,000']
floats = ['1.5', '0', '-0', '010', '1e3', '1E-3', '.5', '5.', '+.5', '-.5e-2', '1_000.5', '1__0', '0x10', '  2.5 ',
          '', '1e400', '-1e400', '1e-400', '\u0661.\u0665', '5e', 'e5', '.', '+', '0x1p3', '1_e3', '1e_3', '1e3_0',
          '1.5\n', '\uff11.\uff15', '_1.0', '1.0_', '1._5', '1_.5', '3.4028235e38', '1.7976931348623157e308',
          '4.9e-324', '1,5', '1.5.2', '+-1', 'nan', 'NaN', '-nan', '+nan', 'inf', '-inf', '+inf', 'Infinity',
          '-INFINITY', 'infinit', 'nan(1)', 'in f', '١e٣']

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

print('var pythonInts = []struct {\n\targ  string\n\twant int64\n\terr  string\n}{')
for s in ints:
    try:
        v = int(s)
        if not -2**63 <= v < 2**63:
            print('\t{%s, 0, "refused here: out of range (Python: %d)"},' % (golit(s), v))
        else:
            print('\t{%s, %d, ""},' % (golit(s), v))
    except ValueError as e:
        print('\t{%s, 0, %s},' % (golit(s), golit(str(e))))
print('}\n')
print('var pythonFloats = []struct {\n\targ  string\n\twant float64\n\terr  string\n}{')
for s in floats:
    try:
        v = float(s)
        if v != v or v in (float('inf'), float('-inf')):
            print('\t{%s, 0, "refused here: not finite (Python: %r)"},' % (golit(s), v))
        else:
            lit = 'math.Copysign(0, -1)' if v == 0 and str(v).startswith('-') else repr(v)
            print('\t{%s, %s, ""},' % (golit(s), lit))
    except ValueError as e:
        print('\t{%s, 0, %s},' % (golit(s), golit(str(e))))
print('}')

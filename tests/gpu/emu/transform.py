"""transform.py IN.cu OUT.cpp — the mechanical rewrite that lets g++ compile a
CUDA source against the emulator (inc/): kernel bodies are left as they are.
Lines are kept (no newline added or removed), so __LINE__ and error messages
point at the .cu's own lines."""
import re, sys

src = open(sys.argv[1]).read()
n_lines = src.count('\n')

def keep_lines(f):
    """Pads a replacement with the newlines its match had, so lines stay put."""
    def g(m):
        r = f(m)
        return r + '\n' * (m.group(0).count('\n') - r.count('\n'))
    return g

def split_top(s):
    out, depth, cur = [], 0, ''
    for ch in s:
        if ch in '([{<': depth += 1
        elif ch in ')]}>': depth -= 1
        if ch == ',' and depth == 0:
            out.append(cur); cur = ''
        else:
            cur += ch
    out.append(cur)
    return [x.strip() for x in out]

# extern __shared__ T name[];  ->  the launch's dynamic shared memory
src = re.sub(r'extern\s+__shared__\s+(\w+)\s+(\w+)\s*\[\s*\]\s*;',
             r'\1 *\2 = (\1 *)emu_dyn_smem;', src)

# __shared__ T a[..], b[..];  ->  static T ...; emu_shared(a, sizeof a); ...
def shared(m):
    typ, decls = m.group(1), m.group(2)
    names = [re.match(r'\s*(\w+)', d).group(1) for d in split_top(decls)]
    return 'static %s %s; %s' % (typ, decls, ' '.join('emu_shared(%s, sizeof %s);' % (n, n) for n in names))
src = re.sub(r'(?<![\w/*] )__shared__\s+(\w+)\s+([^;]*?);', keep_lines(shared), src)

# __launch_bounds__(X) ... {  ->  checked at the top of the body
def lb(m):
    return '__launch_bounds__(%s)%s{ emu_launch_bounds(%s, __func__);' % (m.group(1), m.group(2), m.group(1))
src = re.sub(r'__launch_bounds__\(([^)]*)\)([^{]*?)\{', keep_lines(lb), src, flags=re.S)

# k<<<g, b, smem, stream>>>(args);  ->  emu_launch("k", __FILE__, __LINE__, k, g, b, smem, stream, args);
def launch(m):
    k, cfg, args = m.group(1), m.group(2), m.group(3)
    c = split_top(cfg)
    c += ['0', 'nullptr'][len(c) - 2:]
    return 'emu_launch("%s", __FILE__, __LINE__, %s, %s%s);' % (
        k, k, ', '.join(c), (', ' + args) if args.strip() else '')
src = re.sub(r'([\w:]+(?:<[^<>;]*>)?)\s*<<<(.*?)>>>\s*\((.*?)\)\s*;', keep_lines(launch), src, flags=re.S)

assert src.count('\n') == n_lines, 'line count changed'
assert '<<<' not in src and '__shared__' not in re.sub(r'/\*.*?\*/', '', src, flags=re.S), 'left over'
open(sys.argv[2], 'w').write('#line 1 "%s"\n' % sys.argv[1] + src)

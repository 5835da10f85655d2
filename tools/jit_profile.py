#!/usr/bin/env python3
"""Where QEMU's host time goes, by guest kernel function: `perf` samples of translated code named.

QEMU 7.2 gives `perf` no map of the code it translates (its -perfmap came in 8.1), so every sample in
translated code is an anonymous address. Its translation log does name them: run QEMU with
`-d out_asm -D LOG` (the host code of every translated block, each guest instruction's host code
headed `-- guest addr 0x...`), record the same run with `perf record`, and this maps each sample's
host address to the guest instruction whose host code holds it, then to the kernel symbol. Samples in
QEMU itself (page walks, TLB fills, helpers) keep their host symbol. A translated block's out-of-line
slow paths follow its last guest instruction and are counted there.

Usage:
  qemu-system-riscv64 ... -d out_asm -D run.oa      (under perf record -F 999 -o run.data)
  perf script -i run.data -F ip,sym,dso > run.txt
  tools/jit_profile.py run.oa run.txt build/kernel.elf [--ops N] [--top N] [--pcs FUNC[,FUNC]] [--nm NM]
Prints, per place (G: guest function, H: host symbol), samples, share of all samples and, with --ops,
samples per 10^6 ops; with --pcs, the guest instructions of those functions with the most samples.
  tools/jit_profile.py --self-test build/kernel.elf [--nm NM]
checks the mapping on a synthetic log and samples placed on two of the ELF's functions (make test).
Host-only tool; the skid of a sampled out-of-order core puts a sample a few host instructions after
the one that stalled, so a per-instruction figure names the neighbourhood of a cache miss, not the load.
"""
import bisect
import re
import sys
from collections import Counter

from elf_symbols import TextSymbols

GUEST = re.compile(r'^\s+-- guest addr 0x([0-9a-f]+)')
HOST = re.compile(r'^0x([0-9a-f]+):')


def read_translation_log(lines):
    """Sorted (host address, guest pc) pairs: each host instruction under the guest instruction it
    implements. The prologue check before a block's first guest instruction is that instruction's."""
    pairs, guest = [], None
    for line in lines:
        if line.startswith('OUT:'):
            guest = None
            continue
        m = GUEST.match(line)
        if m:
            guest = int(m.group(1), 16)
            continue
        m = HOST.match(line)
        if m and guest is not None:
            pairs.append((int(m.group(1), 16), guest))
    pairs.sort()
    return pairs


class Namer:
    def __init__(self, pairs, syms):
        self.hosts = [p[0] for p in pairs]
        self.guests = [p[1] for p in pairs]
        self.function = syms.name_of

    def guest_pc(self, host):
        i = bisect.bisect_right(self.hosts, host) - 1
        # a block's host code is a few KiB at most: further than that is code the log did not show
        return self.guests[i] if i >= 0 and host - self.hosts[i] < 4096 else None


def attribute(namer, sample_lines, pcs_of=()):
    """Counter of places and Counter of guest pcs inside the functions named in pcs_of."""
    places, pcs = Counter(), Counter()
    for line in sample_lines:
        f = line.split()
        if not f:
            continue
        try:
            ip = int(f[0], 16)
        except ValueError:
            continue
        rest = ' '.join(f[1:])
        dso = rest.rsplit('(', 1)[-1].rstrip(')') if '(' in rest else ''
        if 'perf-' in dso or dso.startswith('//anon') or dso == '[anon]':  # translated code
            pc = namer.guest_pc(ip)
            if pc is None:
                places['G:?'] += 1
                continue
            fn = namer.function(pc)
            places['G:' + fn] += 1
            if fn in pcs_of:
                pcs[pc] += 1
        else:
            sym = rest.split('(')[0].strip()
            places['H:' + (sym if sym != '[unknown]' else '?' + dso.split('/')[-1])] += 1
    return places, pcs


def report(places, pcs, ops, top):
    total = sum(places.values())
    print(f'# {total} samples' + (f', {ops} ops' if ops else ''))
    print(f'{"samples":>8} {"share":>7}' + (f' {"per 1e6 ops":>12}' if ops else '') + '  place')
    for place, n in places.most_common(top):
        print(f'{n:8d} {100.0 * n / total:6.1f}%' + (f' {n * 1e6 / ops:12.1f}' if ops else '') + f'  {place}')
    if pcs:
        print('# guest instructions with the most samples')
        for pc, n in pcs.most_common(top):
            print(f'{n:8d}  {pc:#x}')


def self_test(elf, nm):
    syms = TextSymbols(elf, nm)
    a, b = syms.address_of('vfree'), syms.address_of('vmalloc')
    if a is None or b is None:
        print('TAP version 13\n1..1\nnot ok 1 samples_named_by_guest_function # no vfree or vmalloc in the ELF')
        return 1
    base = 0x7f0000001000
    log = ['OUT: [size=64]', f'  -- guest addr {a:#018x} + tb prologue',
           f'{base:#x}:  8b 5d f0  movl -0x10(%rbp), %ebx', f'  -- guest addr {a + 4:#018x}',
           f'{base + 8:#x}:  48 c7  movq $0, 0x28(%rbp)',
           'OUT: [size=32]', f'  -- guest addr {b:#018x} + tb prologue', f'{base + 0x100:#x}:  90  nop']
    namer = Namer(read_translation_log(log), syms)
    samples = [f'{base + 2:x} [unknown] (/tmp/perf-1.map)', f'{base + 9:x} [unknown] (/tmp/perf-1.map)',
               f'{base + 0x100:x} [unknown] (/tmp/perf-1.map)', '55555555 tlb_set_page_full (/usr/bin/qemu)',
               f'{base + 0x100000:x} [unknown] (/tmp/perf-1.map)']
    places, pcs = attribute(namer, samples, ('vfree',))
    want = Counter({'G:vfree': 2, 'G:vmalloc': 1, 'H:tlb_set_page_full': 1, 'G:?': 1})
    ok = places == want and pcs == Counter({a: 1, a + 4: 1})
    print('TAP version 13\n1..1')
    print(f'# places {dict(places)}, pcs {dict((hex(k), v) for k, v in pcs.items())}')
    print(f'{"ok" if ok else "not ok"} 1 samples_named_by_guest_function')
    return 0 if ok else 1


def main(argv):
    opts, args = {}, []
    i = 0
    while i < len(argv):
        if argv[i] in ('--ops', '--top', '--pcs', '--nm'):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    nm = opts.get('--nm', 'riscv64-unknown-elf-nm')
    if args and args[0] == '--self-test' and len(args) == 2:
        return self_test(args[1], nm)
    if len(args) != 3:
        print(__doc__)
        return 2
    log, samples, elf = args
    with open(log, errors='replace') as f:
        pairs = read_translation_log(f)
    namer = Namer(pairs, TextSymbols(elf, nm))
    pcs_of = tuple(opts['--pcs'].split(',')) if '--pcs' in opts else ()
    with open(samples, errors='replace') as f:
        places, pcs = attribute(namer, f, pcs_of)
    report(places, pcs, float(opts['--ops']) if '--ops' in opts else 0, int(opts.get('--top', 30)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

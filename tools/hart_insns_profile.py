#!/usr/bin/env python3
"""Names the code behind a tools/hart_insns.c profile (profile=1): for each profiled call (a `hart_insns:
profile series=S kind=K vcpu=V work=N` line and its `hart_insns: block 0xADDR insns=N` lines), the
instructions summed by the kernel function each block starts in (from the ELF's symbols), firmware blocks
(physical addresses below the kernel's load address, OpenSBI) as one `sbi` entry, and the top entries.
The sums hold the whole window, polls included (the header's work excludes them).
Usage: hart_insns_profile.py KERNEL_ELF PLUGIN_OUTPUT [TOP (10)] [SERIES (all), e.g. 0,1] [NM]"""
import collections
import re
import sys

from elf_symbols import TextSymbols

KERNEL_BASE = 0x80200000  # where OpenSBI's fw_dynamic jumps: below it, the firmware


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    elf, path = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    series = set(sys.argv[4].split(",")) if len(sys.argv) > 4 and sys.argv[4] != "all" else None
    nm = sys.argv[5] if len(sys.argv) > 5 else "riscv64-unknown-elf-nm"
    syms = TextSymbols(elf, nm)
    header, sums = None, collections.Counter()

    def flush():
        if header is None:
            return
        total = sum(sums.values()) or 1
        print(header)
        for name, n in sums.most_common(top):
            print("  %8d %5.1f%% %s" % (n, 100.0 * n / total, name))

    with open(path) as f:
        for line in f:
            m = re.match(r"hart_insns: profile (.*)", line)
            if m:
                flush()
                s = re.match(r"series=(\d+)", m.group(1))
                wanted = series is None or (s and s.group(1) in series)
                header = "call with the most work: " + m.group(1) if wanted else None
                sums = collections.Counter()
                continue
            m = re.match(r"hart_insns: block 0x([0-9a-f]+) insns=(\d+)", line)
            if not m or header is None:
                continue
            a = int(m.group(1), 16)
            if a < KERNEL_BASE:
                name = "sbi (OpenSBI, M-mode)"
            else:
                name = syms.name_of(a)
            sums[name] += int(m.group(2))
    flush()


if __name__ == "__main__":
    main()

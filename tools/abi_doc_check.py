#!/usr/bin/env python3
"""Checks docs/abi.md against include/vmk/abi.h and include/vmk/errno.h, as KTAP cases:
  every_define_documented  each numeric #define of the headers has a table row `NAME` | value in the page
  no_stale_names           each `NAME` | value row of the page names a define of the headers
  struct_fields            each field of the ABI structs is named in the page
Exit 0 when all pass."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ktap  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFINE = re.compile(r"^#define\s+([A-Za-z_][A-Za-z0-9_]*)\s+\(?(-?(?:0x[0-9a-fA-F]+|\d+))(?:UL|U|L)?\)?(?:\s|$)")
SHIFT = re.compile(r"^#define\s+([A-Za-z_][A-Za-z0-9_]*)\s+\(1UL << (\d+)\)")
ROW = re.compile(r"^\|\s*`([A-Za-z_][A-Za-z0-9_]*)`\s*\|\s*(-?(?:0x[0-9a-fA-F]+|\d+))\s*\|")


def header_defines():
    out = {}
    for name in ("include/vmk/abi.h", "include/vmk/errno.h"):
        with open(os.path.join(ROOT, name)) as f:
            for line in f:
                m = SHIFT.match(line)
                if m:
                    out[m.group(1)] = 1 << int(m.group(2))
                    continue
                m = DEFINE.match(line)
                if m:
                    out[m.group(1)] = int(m.group(2), 0)
    return out


def doc_rows(text):
    return {m.group(1): int(m.group(2), 0) for m in (ROW.match(l) for l in text.splitlines()) if m}


def struct_fields():
    with open(os.path.join(ROOT, "include/vmk/abi.h")) as f:
        return re.findall(r"^\s*uint64_t\s+([a-z_]+);", f.read(), re.M)


def main():
    with open(os.path.join(ROOT, "docs/abi.md")) as f:
        text = f.read()
    defs, rows = header_defines(), doc_rows(text)
    missing = ["%s = %d in the headers: %s" % (n, v, "no row" if n not in rows else "the page says %d" % rows[n])
               for n, v in sorted(defs.items()) if rows.get(n) != v]
    stale = ["`%s` | %d in the page is no define of the headers" % (n, v) for n, v in sorted(rows.items())
             if n not in defs]
    fields = ["struct field %s is not in the page" % f for f in struct_fields() if "`%s`" % f not in text]
    return ktap.report([("every_define_documented", missing), ("no_stale_names", stale), ("struct_fields", fields)])


if __name__ == "__main__":
    sys.exit(main())

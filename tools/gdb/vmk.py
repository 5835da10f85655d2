"""gdb helpers for vmk, in the spirit of Linux's scripts/gdb: load with `source tools/gdb/vmk.py` (`make
debug` prints a gdb line that does) and use them while the kernel is stopped.

  vmk-vmallocinfo         the live vmalloc areas, in the kernel's own vmallocinfo format and order
  vmk-areas-of TASK       the areas charged to one task (TASK: tid or program name, "/" optional)
  vmk-pte ADDR [TASK]     the Sv39 walk for ADDR in the current address space (satp) or TASK's
  vmk-trace-ring          each hart's trace events not yet drained to the console
  vmk-tasks               the task table: tid, slot, state, hart, name, parent, quota and charge, handles, maps

Everything is read from kernel memory through the symbols of build/kernel.elf; nothing is written. The
constants below mirror the kernel headers named next to them (tests/gdb/run.sh fails when they drift)."""
import re
import struct

import gdb

# vm/vmalloc_types.h
VM_MAP, VM_MAP_RAM, VM_HUGE, VM_USER = 0x02, 0x04, 0x10, 0x40
# vm/layout.h
DMAP_BASE = 0xFFFFFFD800000000
# Sv39 (RISC-V privileged spec): PTE bits and the satp PPN field
PTE_BITS = "VRWXUGAD"
PTE_V, PTE_R, PTE_W, PTE_X = 1, 2, 4, 8
SATP_PPN_MASK = (1 << 44) - 1


def read_u64(addr):
    return struct.unpack("<Q", bytes(gdb.selected_inferior().read_memory(addr, 8)))[0]


def read_bytes(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def address_of(symbol):
    return int(gdb.parse_and_eval("(unsigned long)&%s" % symbol))


_static_addresses = None


def elf_static_address(name):
    """The address of a file-scope static from the ELF symbol table (gdb's minimal symbols)."""
    global _static_addresses
    if _static_addresses is None:
        _static_addresses = {}
        for line in gdb.execute("maint print msymbols", to_string=True).splitlines():
            m = re.match(r"\[\s*\d+\] [bBdD] (0x[0-9a-f]+) (\S+)", line)
            if m:
                _static_addresses.setdefault(m.group(2), []).append(int(m.group(1), 16))
    found = _static_addresses.get(name, [])
    if len(found) != 1:
        raise gdb.GdbError("%s: %d data symbols of that name" % (name, len(found)))
    return found[0]


def static_var(file, name):
    """A file-scope static. The kernel is built with LTO, whose debug info can keep a static's type but
    lose its location ("optimized out"); the ELF symbol still has the address, so it is read from there."""
    v = gdb.parse_and_eval("'%s'::%s" % (file, name))
    if not v.is_optimized_out:
        return v
    return gdb.Value(elf_static_address(name)).cast(v.type.pointer()).dereference()


class KernelSymbols:
    """The kernel's built-in symbol table (lib/ksyms.c), read once: callers print as the kernel prints them."""

    def __init__(self):
        self.entries = None

    def load(self):
        count = read_u64(address_of("ksyms_count"))
        raw = read_bytes(address_of("ksyms_table"), 16 * count)
        self.entries = [struct.unpack_from("<QII", raw, 16 * i) for i in range(count)]
        self.addrs = [e[0] for e in self.entries]
        self.names_base = address_of("ksyms_names")
        self.names = {}

    def name_at(self, offset):
        if offset not in self.names:
            raw = read_bytes(self.names_base + offset, 128)
            self.names[offset] = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        return self.names[offset]

    def format(self, pc):
        """Like ksym_format: "name+0xoff/0xlen", or "0x<pc>" outside every text symbol."""
        if self.entries is None:
            self.load()
        lo, hi = 0, len(self.addrs)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.addrs[mid] <= pc:
                lo = mid + 1
            else:
                hi = mid
        if lo == 0:
            return "0x%x" % pc
        addr, name, size = self.entries[lo - 1]
        if not size and lo < len(self.addrs):
            size = self.addrs[lo] - addr
        if pc - addr >= size:
            return "0x%x" % pc
        return "%s+0x%x/0x%x" % (self.name_at(name), pc - addr, size)


ksyms = KernelSymbols()


def live_areas():
    """Every area in the busy map: its stripes (vm/vmalloc_arena.h busy_stripes), each a chained hash
    (vm/va_busy.h) of links embedded first in struct vmap_area."""
    stripes = gdb.parse_and_eval("busy_stripes")
    area_ptr = gdb.lookup_type("struct vmap_area").pointer()
    out = []
    lo, hi = stripes.type.range()
    for s in range(lo, hi + 1):
        busy = stripes[s]["map"]
        buckets = busy["buckets"]
        for i in range(int(busy["nbuckets"])):
            link = buckets[i]
            while int(link):
                out.append(link.cast(area_ptr).dereference())
                link = link["next"]
    return sorted(out, key=lambda a: int(a["addr"]))


def area_row(a):
    """One line as vm/vmalloc_diag.c's print_row writes it."""
    addr, flags, pages = int(a["addr"]), int(a["flags"]), int(a["nr_pages"])
    size = int(a["va_start"]) + int(a["va_size"]) - addr
    kind = "vm_map_ram" if flags & VM_MAP_RAM else "vmap" if flags & VM_MAP else "vmalloc"
    node = max(int(a["node"]), 0)
    return "0x%016x-0x%016x %8d %s pages=%d %s%s%s N%d=%d" % (
        addr, addr + size, size, ksyms.format(int(a["caller"])), pages, kind, " huge" if flags & VM_HUGE else "",
        " user" if flags & VM_USER else "", node, pages)


def task_table():
    tasks = static_var("kernel/task.c", "tasks")
    lo, hi = tasks.type.range()
    return [tasks[i] for i in range(lo, hi + 1)]


def live_tasks():
    return [t for t in task_table() if int(t["state"]) != 0]


def find_task(spec):
    spec = spec.strip()
    tasks = live_tasks()
    if spec.isdigit():
        hits = [t for t in tasks if int(t["tid"]) == int(spec)]
    else:
        name = spec if spec.startswith("/") else "/" + spec
        hits = [t for t in tasks if t["name"].string() in (spec, name)]
    if not hits:
        raise gdb.GdbError("vmk: no live task matches %r" % spec)
    if len(hits) > 1:
        raise gdb.GdbError("vmk: %r is tasks %s: give a tid" % (spec, ", ".join(str(int(t["tid"])) for t in hits)))
    return hits[0]


def task_label(t):
    return "task %d (%s), slot %d" % (int(t["tid"]), t["name"].string(), int(t["slot"]))


class VmallocInfo(gdb.Command):
    """vmk-vmallocinfo: the live vmalloc areas in address order, as the kernel's vmallocinfo prints them."""

    def __init__(self):
        super().__init__("vmk-vmallocinfo", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        gdb.write("vmallocinfo: begin\n")
        for a in live_areas():
            gdb.write(area_row(a) + "\n")
        gdb.write("vmallocinfo: end\n")


class AreasOf(gdb.Command):
    """vmk-areas-of TASK: the vmalloc areas charged to TASK (a tid or a program name), with its quota."""

    def __init__(self):
        super().__init__("vmk-areas-of", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: vmk-areas-of TASK (a tid or a program name)")
        t = find_task(arg)
        slot = int(t["slot"])
        mine = [a for a in live_areas() if int(a["owner"]) == slot]
        owner_pages = gdb.parse_and_eval("arena")["owner_pages"]
        charged = int(owner_pages[slot])
        # The account also holds, outside the task's areas: the page tables of its shm mappings
        # (kernel/shm_mapping.c), its image (kernel/task.c), and the accounts of its children, which hang
        # under it (include/vmk/abi.h, QUOTAS).
        tables = sum(int(t["maps"][m]["table_pages"]) for m in range(array_len(t["maps"])) if int(t["maps"][m]["obj"]))
        below = sum(int(owner_pages[int(c["slot"])]) for c in live_tasks()
                    if int(c["parent"]) and int(c["parent"]["tid"]) == int(t["tid"]))
        gdb.write("%s: %d areas, %d pages charged (%d for page tables of its mappings, %d for its image, %d held "
                  "by its children) of a %d-page quota\n" % (task_label(t), len(mine), charged, tables,
                                                            int(t["image_pages"]), below, int(t["quota_pages"])))
        for a in mine:
            gdb.write(area_row(a) + "\n")


def walk(root_pa, va):
    """[(level, index, pte)] down to the leaf or the first invalid entry, and the physical address or None."""
    steps, table = [], root_pa
    for level in (2, 1, 0):
        index = (va >> (12 + 9 * level)) & 0x1FF
        pte = read_u64(DMAP_BASE + table + 8 * index)
        steps.append((level, index, pte))
        if not pte & PTE_V:
            return steps, None
        ppn = (pte >> 10) & SATP_PPN_MASK
        if pte & (PTE_R | PTE_W | PTE_X):
            return steps, (ppn << 12) + (va & ((1 << (12 + 9 * level)) - 1))
        table = ppn << 12
    return steps, None


def pte_flags(pte):
    return "".join(c if pte & (1 << i) else "-" for i, c in enumerate(PTE_BITS))


class Pte(gdb.Command):
    """vmk-pte ADDR [TASK]: walks the Sv39 tables for ADDR in the current address space (satp of the
    selected hart) or in TASK's (a tid or a program name); prints each level and the translation."""

    def __init__(self):
        super().__init__("vmk-pte", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        words = gdb.string_to_argv(arg)
        if not 1 <= len(words) <= 2:
            raise gdb.GdbError("usage: vmk-pte ADDR [TASK]")
        va = int(gdb.parse_and_eval(words[0])) & 0xFFFFFFFFFFFFFFFF
        if len(words) == 2:
            t = find_task(words[1])
            root, where = int(t["root_pa"]), task_label(t)
        else:
            satp = int(gdb.parse_and_eval("$satp")) & 0xFFFFFFFFFFFFFFFF
            root, where = (satp & SATP_PPN_MASK) << 12, "satp 0x%x" % satp
        gdb.write("vmk-pte 0x%x in %s, root 0x%x\n" % (va, where, root))
        steps, pa = walk(root, va)
        for level, index, pte in steps:
            gdb.write("  L%d[%3d] pte 0x%016x %s\n" % (level, index, pte, pte_flags(pte)))
        if pa is None:
            gdb.write("0x%x: not mapped\n" % va)
        else:
            level, _, pte = steps[-1]
            gdb.write("0x%x -> 0x%x (%s leaf) %s\n" % (va, pa, ("4 KiB", "2 MiB", "1 GiB")[level], pte_flags(pte)))


class TraceRing(gdb.Command):
    """vmk-trace-ring: the trace events each hart has formatted but not yet drained to the console."""

    def __init__(self):
        super().__init__("vmk-trace-ring", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        rings = static_var("lib/trace.c", "rings")
        default_size = int(static_var("lib/trace.c", "ring_size"))
        locals_ = gdb.parse_and_eval("hart_locals")
        lo, hi = rings.type.range()
        gdb.write("trace: next seq %d, mask 0x%x\n" % (int(static_var("lib/trace.c", "trace_seq")),
                                                       int(gdb.parse_and_eval("trace_mask"))))
        for i in range(lo, hi + 1):
            r = rings[i]
            head, tail = int(r["head"]), int(r["tail"])
            size = int(r["size"]) or default_size
            queued = (head - tail) & 0xFFFFFFFF
            dropped = int(r["dropped"]) - int(r["dropped_reported"])
            # An event the hart was formatting at the stop (lib/trace.c `writing`): numbered but in no ring
            # yet; it reaches the ring, then the console, once the hart runs on.
            writing = int(r["writing"])
            if writing == 0xFFFFFFFFFFFFFFFF:
                gdb.write("hart %d (index %d): an event being written, not yet numbered\n" % (
                    int(locals_[i]["hartid"]), i))
            elif writing:
                gdb.write("hart %d (index %d): event seq %d being written\n" % (int(locals_[i]["hartid"]), i,
                                                                              writing - 1))
            if not queued and not dropped:
                continue
            gdb.write("hart %d (index %d): %d bytes undrained, %d events dropped since the last report\n" % (
                int(locals_[i]["hartid"]), i, queued, dropped))
            base = int(r["buf"].address)
            data = bytearray()
            pos = tail
            while len(data) < queued:  # the ring wraps at `size`: read it in at most two pieces
                off = pos & (size - 1)
                n = min(queued - len(data), size - off)
                data += read_bytes(base + off, n)
                pos += n
            gdb.write(data.decode("ascii", "replace"))


class Tasks(gdb.Command):
    """vmk-tasks: every task slot in use, with its state, hart, parent, quota, charge, handles and maps."""

    def __init__(self):
        super().__init__("vmk-tasks", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        owner_pages = gdb.parse_and_eval("arena")["owner_pages"]
        gdb.write("%5s %4s %-8s %4s %-16s %6s %6s %7s %7s %4s\n" % (
            "tid", "slot", "state", "hart", "name", "parent", "quota", "charged", "handles", "maps"))
        for t in live_tasks():
            state = str(t["state"]).lower().replace("t_", "", 1)  # enum task_state, from the debug info
            parent = int(t["parent"]["tid"]) if int(t["parent"]) else 0
            handles = sum(1 for h in range(array_len(t["handles"])) if int(t["handles"][h]["obj"]))
            maps = sum(1 for m in range(array_len(t["maps"])) if int(t["maps"][m]["obj"]))
            on_hart = int(t["on_hart"])
            gdb.write("%5d %4d %-8s %4s %-16s %6s %6d %7d %7d %4d\n" % (
                int(t["tid"]), int(t["slot"]), state,
                str(on_hart) if on_hart >= 0 else "-", t["name"].string(), str(parent) if parent else "-",
                int(t["quota_pages"]), int(owner_pages[int(t["slot"])]), handles, maps))


def array_len(value):
    lo, hi = value.type.range()
    return hi - lo + 1


VmallocInfo()
AreasOf()
Pte()
TraceRing()
Tasks()

"""User call sites: which line of a user program caused each vmalloc area, for vmtrace's "by user call
site" section and the timeline's arguments.

An event the kernel wrote inside a system call carries `ucaller` (docs/trace.md): the return address the
runtime's wrapper was called from, or for malloc and friends the line that called them. The Symbolizer turns
(program, address) into "file:line function" with binutils' addr2line over build/user/<program> (the task's
name from its ev=spawn line); without the ELF or the tool the address is shown as it is. Sites counts, per
(program, ucaller): the areas created from that line, the bytes vrealloc grew at its request, the most
mapped bytes its areas held at once, and those still live at the end (leaks unless meant to outlive the log).
A `moved` vrealloc keeps the area's owner: the kernel traces the new area's alloc before the realloc line,
so that alloc is taken back from whoever made it and given to the old area's owner."""
import os
import shutil
import subprocess

PAGE = 4096
ADDR2LINE = ("riscv64-unknown-elf-addr2line", "riscv64-linux-gnu-addr2line", "llvm-addr2line")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Symbolizer:
    """(program name, user address) -> "file:line function", looked up in one addr2line run per ELF."""

    def __init__(self, elf_dir):
        self.elf_dir = elf_dir or None
        self.tool = next((t for t in ADDR2LINE if shutil.which(t)), None)
        self.wanted = {}  # program -> set of addresses
        self.known = {}   # (program, address) -> text
        self.note = None  # why some sites stay addresses, for the report

    def want(self, prog, addr, is_return):
        """Queues addr (a return address looks up the call before it) for `prog`."""
        self.wanted.setdefault(prog, set()).add(addr - 1 if is_return and addr else addr)

    def resolve(self):
        if not self.elf_dir:
            self.note = "not symbolized (no ELF directory given)"
            return
        if not self.tool:
            self.note = "not symbolized: no addr2line (install binutils for riscv64, gcc-riscv64-unknown-elf)"
            return
        missing = []
        for prog, addrs in sorted(self.wanted.items()):
            elf = os.path.join(self.elf_dir, os.path.basename(prog))
            if not prog or not os.path.isfile(elf):
                missing.append(prog or "?")
                continue
            addrs = sorted(a for a in addrs if a)
            try:
                out = subprocess.run([self.tool, "-f", "-C", "-e", elf] + ["0x%x" % a for a in addrs],
                                     capture_output=True, text=True, timeout=60).stdout.splitlines()
            except (OSError, subprocess.SubprocessError):
                missing.append(prog)
                continue
            if len(out) != 2 * len(addrs):
                missing.append(prog)
                continue
            for i, a in enumerate(addrs):
                fn, where = out[2 * i], out[2 * i + 1]
                if where.startswith("??"):
                    continue
                where = where.split(" (discriminator", 1)[0]
                path, _, line = where.rpartition(":")
                if os.path.isabs(path) and path.startswith(REPO + os.sep):
                    path = os.path.relpath(path, REPO)
                self.known[(prog, a)] = "%s:%s %s" % (path, line, fn)
        if missing:
            self.note = "no ELF in %s for: %s (addresses shown as they are)" % (self.elf_dir, ", ".join(missing))

    def name(self, prog, addr, is_return):
        key = (prog, addr - 1 if is_return and addr else addr)
        return self.known.get(key, "0x%x" % addr)


class Site:
    __slots__ = ("objects", "grown", "live", "peak", "events")  # peak: most mapped bytes its areas held at once

    def __init__(self):
        self.objects = self.grown = self.live = self.peak = self.events = 0


class Sites:
    """Per user call site figures, fed each event after the replay has applied it (see step)."""

    def __init__(self, replay):
        self.r = replay
        self.sites = {}   # (task, ucaller) -> Site
        self.owner = {}   # live area addr -> (site key, mapped bytes it holds)
        self.last_owner = {}  # addr of an area just freed -> its site key (for a `moved` vrealloc)
        self.syscalls = 0
        self.with_site = 0

    def site(self, key):
        return self.sites.setdefault(key, Site())

    def add_live(self, key, delta):
        s = self.site(key)
        s.live += delta
        s.peak = max(s.peak, s.live)

    def step(self, ev):
        key = None
        if "ucaller" in ev:
            self.with_site += 1
            key = (ev["task"], ev["ucaller"])
            self.site(key).events += 1
        kind = ev["ev"]
        if kind == "alloc":
            a = self.r.live.get(ev["addr"])
            if key is not None and a is not None and not a.borrowed:
                self.site(key).objects += 1
                # The peak before it, in case a `moved` realloc gives the area to its old owner: nothing
                # else of this site (this task, in this very call) can happen in between.
                self.owner[ev["addr"]] = [key, a.pages * PAGE, self.site(key).peak]
                self.add_live(key, a.pages * PAGE)
        elif kind == "free":
            own = self.owner.pop(ev["addr"], None)
            if own is not None:
                self.add_live(own[0], -own[1])
                self.last_owner[ev["addr"]] = own[0]
        elif kind == "realloc":
            if key is not None and ev["new_size"] > ev["old_size"]:
                self.site(key).grown += ev["new_size"] - ev["old_size"]
            if ev["mode"] == "moved":
                own = self.owner.get(ev["new"])
                first = self.last_owner.pop(ev["addr"], None)
                if own is not None and first is not None:
                    self.site(own[0]).objects -= 1  # the same object, moved: not a new one
                    if own[0] != first:
                        was = self.site(own[0])
                        self.add_live(own[0], -own[1])
                        was.peak = max(own[2], was.live)  # the new area never was this line's
                        own[0] = first
                        self.add_live(first, own[1])
            else:
                own = self.owner.get(ev["addr"])
                a = self.r.live.get(ev["addr"])
                if own is not None and a is not None:
                    self.add_live(own[0], a.pages * PAGE - own[1])
                    own[1] = a.pages * PAGE
        if len(self.last_owner) > 4096:  # only the latest frees can be a move's old area
            self.last_owner.clear()

    def rows(self, sym):
        """(program label, site text, Site, leaked areas, leaked bytes) per site, most bytes first."""
        leaks = {}
        for addr, (key, nbytes, _) in self.owner.items():
            n = leaks.setdefault(key, [0, 0])
            n[0] += 1
            n[1] += nbytes
        out = []
        for key, s in self.sites.items():
            if not s.objects and not s.grown and key not in leaks:
                continue  # a line that only mapped, shared or closed: nothing of its own to count
            task, addr = key
            prog = self.r.names.get(task, "?")
            n = leaks.get(key, [0, 0])
            out.append(("%d (%s)" % (task, prog), sym.name(prog, addr, True), s, n[0], n[1]))
        out.sort(key=lambda row: (-row[2].peak, -row[2].grown, row[0], row[1]))
        return out

    def queue(self, sym):
        for task, addr in self.sites:
            sym.want(self.r.names.get(task, "?"), addr, True)

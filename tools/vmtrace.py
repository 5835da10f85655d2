#!/usr/bin/python3
"""vmtrace: turns a vmk UART log holding "@T" allocation-trace lines (docs/trace.md) into a report (leaks by
caller and task, peak pages, fragmentation over time, purge and fence statistics, per-task usage,
anomalies), a picture of the arena over time, and a check of the replayed end state against the kernel's
own vmallocinfo listing in the same log.

  tools/vmtrace.py build/trace/uart.log                       report on stdout
  make run | tools/vmtrace.py -                               the same, live from stdin
  tools/vmtrace.py LOG -o report.txt --plot arena.png --colour task
  tools/vmtrace.py LOG --check-vmallocinfo                    exit 1 when replay and listing differ
  tools/vmtrace.py LOG --timeline trace.json                  also a Perfetto / chrome://tracing timeline

User call sites (the `ucaller` of events inside system calls) are named "file:line function" from the
programs' ELF files, build/user/<task name> by default (--elves DIR; --elves '' leaves addresses).

Exit status: 0 done (anomalies are reported, not fatal), 1 the vmallocinfo check failed, 2 bad usage or
unreadable input, 3 the picture could not be drawn (the report is still written)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmtrace_parse import read_log  # noqa: E402
from vmtrace_replay import Reorder, Replay, seq_gaps  # noqa: E402
from vmtrace_sites import Sites, Symbolizer  # noqa: E402
from vmtrace_timeline import Timeline  # noqa: E402

DEFAULT_ELVES = os.path.join(os.path.relpath(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build",
                             "user")
MAX_LISTED = 40  # per anomaly list: a log full of garbage still gives a readable report


def fn_of(caller):
    return caller.split("+", 1)[0]


def fmt_bytes(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return "%.1f %s" % (n / (1 << shift), unit)
    return "%d B" % n


class Report:
    def __init__(self):
        self.out = []

    def line(self, text=""):
        self.out.append(text)

    def table(self, header, rows):
        widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
        left = [isinstance(c, str) for c in rows[0]]  # text columns read left to right, numbers align right
        for r in [header] + rows:
            cells = [str(c).ljust(w) if l else str(c).rjust(w) for c, w, l in zip(r, widths, left)]
            self.line("  " + "  ".join(cells).rstrip())

    def listing(self, items, total=None):
        """The first MAX_LISTED items; total counts items a capped list did not keep."""
        total = len(items) if total is None else total
        for text in items[:MAX_LISTED]:
            self.line("  " + text)
        if total > MAX_LISTED:
            self.line("  ... and %d more" % (total - MAX_LISTED))


def task_label(r, tid):
    return "%d (%s)" % (tid, r.names.get(tid, "?"))


def seconds(log, r, t):
    return (t - (r.first_t or 0)) / (log.timebase or 10000000)


def write_sites(rep, r, sites, sym):
    rep.line("by user call site (areas created, bytes vrealloc grew, most mapped at once, still live at the end;")
    rep.line("per program line, from the ucaller of events inside system calls):")
    rows = [[task, where, s.objects, s.grown, s.peak, leaked, nbytes]
            for task, where, s, leaked, nbytes in sites.rows(sym)]
    if rows:
        rep.table(["task", "site", "objects", "grown", "peak", "leaks", "leaked bytes"], rows[:MAX_LISTED])
        if len(rows) > MAX_LISTED:
            rep.line("  ... and %d more" % (len(rows) - MAX_LISTED))
        if sym.note:
            rep.line("  sites %s" % sym.note)
    elif not sites.with_site:
        rep.line("  none: no event carries ucaller (a log from a kernel before it, or no user program traced)")
    else:
        rep.line("  none: system calls made no vmalloc area")
    rep.line()


def write_report(rep, log, r, source, check, sites=None, sym=None):
    rep.line("vmtrace report: %s" % source)
    rep.line("lines: %d, trace lines: %d, events: %d, seq %s, harts: %s" % (
        log.lines, log.trace_lines, r.steps,
        "%d..%d" % (r.min_seq, r.max_seq) if r.steps else "-",
        ",".join(str(h) for h in sorted(r.harts)) or "-"))
    if r.last is not None:
        rep.line("duration: %.6f s at %d Hz%s" % (seconds(log, r, r.last["t"]), log.timebase or 10000000,
                                                  "" if log.timebase else " (assumed: no timebase line)"))
    if r.region:
        rep.line("region: 0x%x-0x%x (%s), lazy_max_pages=%s" % (r.region[0], r.region[1],
                 fmt_bytes(r.region[1] - r.region[0]), r.lazy_max_pages if r.lazy_max_pages is not None else "?"))
    rep.line("events: " + ", ".join("%s=%d" % kv for kv in sorted(r.counts.items())))
    if r.realloc_modes:
        rep.line("vrealloc: " + ", ".join("%s=%d" % kv for kv in sorted(r.realloc_modes.items())))
    rep.line()

    pending = list(r.pending.values())
    rep.line("pages: live=%d peak=%d%s; vmap/vm_map_ram pages mapped=%d" % (
        r.pages, r.peak[0], " (seq %d, %.6f s)" % (r.peak[1], seconds(log, r, r.peak[2])) if r.peak[1] is not None
        else "", r.borrowed))
    rep.line("areas at end: live=%d, freed awaiting purge=%d (%d pages of range)" % (
        len(r.live), len(pending), sum(a.va_size for a in pending) // 4096))
    rep.line()

    rep.line("live areas at end by caller and task (leaks unless meant to outlive the log):")
    groups = {}
    for a in r.live.values():
        g = groups.setdefault((a.caller, a.task), [0, 0, 0])
        g[0], g[1], g[2] = g[0] + 1, g[1] + a.pages, g[2] + a.size
    rows = [[c, task_label(r, t), n, p, b] for (c, t), (n, p, b) in sorted(groups.items(), key=lambda kv: (
        -kv[1][1], kv[0][0], kv[0][1]))]
    if rows:
        rep.table(["caller", "task", "areas", "pages", "bytes"], rows)
    else:
        rep.line("  none")
    rep.line()

    if sites is not None:
        write_sites(rep, r, sites, sym)

    rep.line("areas resized by vrealloc (an shm object's resizes, a user heap's growth and shrinking):")
    rows = [["0x%x" % a.addr, fn_of(a.caller), task_label(r, a.task), g, s, "%s..%s" % (fmt_bytes(lo), fmt_bytes(hi)),
             "moved to 0x%x" % to if to is not None else "in place"]
            for a, (g, s, lo, hi, to) in sorted(r.resized.items(), key=lambda kv: (kv[0].seq, kv[0].addr))]
    if rows:
        rep.table(["area", "caller", "task", "grows", "shrinks", "sizes", "where"], rows[:MAX_LISTED])
        if len(rows) > MAX_LISTED:
            rep.line("  ... and %d more" % (len(rows) - MAX_LISTED))
    else:
        rep.line("  none")
    rep.line()

    rep.line("fragmentation (free space of the region; 1 - largest free extent / total free):")
    if r.frag:
        last = r.frag[-1]
        worst = max(r.frag, key=lambda f: (f[3], f[2]))
        most = max(r.frag, key=lambda f: (f[2], f[3]))
        rep.line("  samples=%d (every %d events)" % (len(r.frag), r.sample_every))
        rep.line("  at end: free extents=%d fragmentation=%.9f" % (last[2], last[3]))
        rep.line("  most extents: %d at seq %d; worst fragmentation: %.9f at seq %d" % (most[2], most[1], worst[3],
                                                                                       worst[1]))
    else:
        rep.line("  no allocation events")
    rep.line()

    p = r.purges
    rep.line("purges: %d" % p.count + (" (%d released exactly as traced, %d guessed: the log has no ev=lazy)" % (
        r.exact_purges, r.guessed_purges) if r.guessed_purges else ""))
    if p.count:
        rep.line("  areas=%d pages=%d (%.1f areas, %.1f pages per purge), largest span %s" % (
            p.areas, p.pages, p.areas / p.count, p.pages / p.count, fmt_bytes(p.span)))
        rep.line("  full flushes=%d, per-page flushes=%d, local fences=%d, remote fences=%d" % (
            p.full, p.count - p.full, p.local, p.remote) + (" (%s)" % ", ".join(
                "by %s %d" % kv for kv in sorted(p.by_mech.items())) if p.by_mech else ""))
        rep.line("  by caller: " + ", ".join("%s=%d" % kv for kv in sorted(p.by_caller.items())))
    if r.early_release:
        rep.line("  ranges reused before their purge's line (SMP ordering, expected): %d" % r.early_release)
    if r.untraced_purged:
        rep.line("  purged areas the trace never showed (class off then, or untraced kinds such as vm_map_ram blocks): %d"
                 % r.untraced_purged)
    rep.line()

    rep.line("per-task usage (pages are vmalloc pages charged to the allocating task):")
    rows = [[task_label(r, t), u.allocs, u.frees, u.areas, u.pages, u.peak, u.bytes]
            for t, u in sorted(r.tasks.items())]
    if rows:
        rep.table(["task", "allocs", "frees", "live", "pages", "peak", "bytes"], rows)
    else:
        rep.line("  none")
    rep.line()

    if r.failures:
        rep.line("allocation failures by reason:")
        rep.listing(["%d x %s" % (n, why) for why, n in sorted(r.failures.items())])
    if r.shm:
        rep.line("shm operations:")
        rep.listing(["%s %s: %d" % (op, res, n) for (op, res), n in sorted(r.shm.items())])
    if r.faults or r.kills:
        rep.line("faults and kills:")
        rep.listing(["seq %d task %d fault at 0x%x: %s" % (e["seq"], e["task"], e["addr"], e["what"]) for e in r.faults]
                    + [("seq %d task %d killed by task %d (SYS_kill)" % (e["seq"], e["tid"], e["by"]) if "by" in e else
                        "seq %d task %d killed at 0x%x (pc 0x%x): %s" % (e["seq"], e["tid"], e["addr"], e["pc"], e["why"]))
                       for e in r.kills], r.faults.total + r.kills.total)
    if r.marks:
        rep.line("marks:")
        rep.listing(["seq %d %.6f s task %d id=%d %s" % (e["seq"], seconds(log, r, e["t"]), e["task"], e["id"],
                                                        e["label"]) for e in r.marks], r.marks.total)
    if r.failures or r.shm or r.faults or r.kills or r.marks:
        rep.line()

    anomalies = []
    total_dropped = sum(d["count"] for d in log.drops)
    for d in log.drops:
        rng = " (seq %d..%d)" % (d["first_seq"], d["last_seq"]) if "first_seq" in d else ""
        anomalies.append("line %d: hart %d dropped %d events%s" % (d["line"], d["hart"], d["count"], rng))
    for lo, hi in seq_gaps(r.gaps, log.drops):
        anomalies.append("seq %d..%d: %d events missing and no drop marker says so (log cut short or a "
                         "ring never drained?)" % (lo, hi, hi - lo + 1))
    anomalies += ["line %d: malformed: %s%s" % (n, why, (": " + text) if text else "") for n, why, text in log.problems]
    if log.problem_count > len(log.problems):
        anomalies.append("... %d more malformed lines not kept" % (log.problem_count - len(log.problems)))
    anomalies += ["line %d (seq %d): %s" % (line, seq, text) for seq, line, text in r.anomalies]
    if r.anomalies.total > len(r.anomalies):
        anomalies.append("... %d more replay anomalies not kept" % (r.anomalies.total - len(r.anomalies)))
    anomalies += ["line %d: %s" % w for w in log.kernel_warnings]
    unkept = (log.problem_count - len(log.problems)) + (r.anomalies.total - len(r.anomalies))
    # Each "not kept" line stands for the anomalies it counts.
    count = len(anomalies) + unkept - (log.problem_count > len(log.problems)) - (r.anomalies.total > len(r.anomalies))
    rep.line("anomalies: %d (events dropped: %d, malformed lines: %d, '@T ' inside console lines, ignored: %d)" % (
        count, total_dropped, log.problem_count, log.interleaved))
    rep.listing(anomalies)
    if check is not None:
        rep.line()
        rep.line("vmallocinfo check: %s" % check[0])
        rep.listing(check[1])


def count_by(items, key):
    out = {}
    for i in items:
        out[key(i)] = out.get(key(i), 0) + 1
    return out


class Tap:
    """What Reorder feeds, in sequence order: the replay, then the views that read its state after each
    event (call sites, the timeline)."""

    def __init__(self, replay, *views):
        self.replay, self.views = replay, [v for v in views if v is not None]

    def step(self, ev):
        self.replay.step(ev)
        if ev is self.replay.last:  # applied (a duplicate sequence number is not)
            for v in self.views:
                v.step(ev)


class Snapshot:
    """The replay's live areas when a vmallocinfo listing began: the power-off path drains every ring
    before listing, so the events above the listing are all the ones that happened before it. The
    listing's own buffer (allocated by vm_dump_areas just before "begin", its event printed before or
    after it as the rings drain) is left out of the listing by the kernel, and so of the snapshot."""

    def __init__(self):
        self.at = {}  # listing's begin line -> {addr: (end, pages, caller)}

    def take(self, replay, reorder, line):
        reorder.flush()
        self.at[line] = {a.addr: (a.end, a.pages, a.caller) for a in replay.live.values()
                         if not a.in_block and not str(a.caller).startswith("vm_dump_areas+")}
        for old in sorted(self.at)[:-2]:
            del self.at[old]  # the last complete listing is one of the last two begun


def check_vmallocinfo(log, snap):
    """(verdict, details, ok): the replay up to the last complete listing against that listing."""
    dumps = [d for d in log.dumps if d[1] is not None]
    if not dumps:
        return "FAIL: no complete vmallocinfo listing in the log", [], False
    begin, _, rows = dumps[-1]

    class Live:
        def __init__(self, addr, v):
            self.addr, (self.end, self.pages, self.caller) = addr, v

    traced = {addr: Live(addr, v) for addr, v in snap.at.get(begin, {}).items()}
    listed = {row["start"]: row for row in rows}
    details = []
    for addr in sorted(set(traced) | set(listed)):
        a, row = traced.get(addr), listed.get(addr)
        if row is None:
            details.append("0x%x-0x%x %s pages=%d: live in the replay, not in vmallocinfo" % (
                a.addr, a.end, a.caller, a.pages))
        elif a is None:
            details.append("0x%x-0x%x %s pages=%d %s: in vmallocinfo (line %d), not live in the replay" % (
                row["start"], row["end"], row["caller"], row["pages"], row["kind"], row["line"]))
        else:
            diffs = [name for name, x, y in (("end", a.end, row["end"]), ("pages", a.pages, row["pages"]),
                                             ("caller", a.caller, row["caller"])) if x != y]
            if diffs:
                details.append("0x%x: %s differ: replay end=0x%x pages=%d caller=%s, vmallocinfo end=0x%x pages=%d "
                               "caller=%s" % (addr, "/".join(diffs), a.end, a.pages, a.caller, row["end"],
                                              row["pages"], row["caller"]))
    dropped = sum(d["count"] for d in log.drops if d["line"] < begin)
    if dropped:
        details.append("note: %d events were dropped before the listing, so the replay is incomplete" % dropped)
    ok = not any(not d.startswith("note:") for d in details)
    verdict = "%s: %d areas listed at line %d, %d live in the replay%s" % (
        "ok" if ok else "MISMATCH", len(listed), begin, len(traced),
        "" if ok else ", %d differences" % sum(1 for d in details if not d.startswith("note:")))
    return verdict, details, ok


def main(argv):
    ap = argparse.ArgumentParser(description="Replay a vmk allocation trace (docs/trace.md).")
    ap.add_argument("log", help="UART log file, or - for stdin")
    ap.add_argument("-o", "--output", help="write the report here instead of stdout")
    ap.add_argument("--plot", help="draw the arena over time to this .png or .svg file")
    ap.add_argument("--colour", "--color", choices=("caller", "task"), default="caller",
                    help="colour areas in the picture by caller function or by task (default caller)")
    ap.add_argument("--check-vmallocinfo", action="store_true",
                    help="compare the replay with the log's vmallocinfo listing; exit 1 if they differ")
    ap.add_argument("--samples", type=int, default=2000, help="fragmentation samples over the log (default 2000)")
    ap.add_argument("--timeline", help="write a Chrome/Perfetto trace-event JSON timeline to this file")
    ap.add_argument("--elves", default=DEFAULT_ELVES,
                    help="directory of the user programs' ELF files, for naming call sites (default %(default)s; "
                    "'' for none)")
    args = ap.parse_args(argv)
    if args.plot and os.path.splitext(args.plot)[1].lower() not in (".png", ".svg"):
        print("vmtrace: --plot wants a .png or .svg file name, not %r" % args.plot, file=sys.stderr)
        return 2
    r = Replay(samples=max(1, args.samples))
    sites = Sites(r)
    timeline = Timeline(r, None) if args.timeline else None
    reorder = Reorder(Tap(r, sites, timeline))
    snap = Snapshot()
    take = lambda line: snap.take(r, reorder, line)  # noqa: E731
    try:
        if args.log == "-":
            log = read_log(sys.stdin.buffer, reorder.push, take)
        else:
            with open(args.log, "rb") as f:
                log = read_log(f, reorder.push, take)
    except OSError as e:
        print("vmtrace: cannot read %s: %s" % (args.log, e.strerror), file=sys.stderr)
        return 2
    reorder.flush()
    r.finish()
    sym = Symbolizer(args.elves)
    sites.queue(sym)
    if timeline:
        timeline.queue(sym)
    sym.resolve()
    check = check_vmallocinfo(log, snap) if args.check_vmallocinfo or log.dumps else None
    rep = Report()
    write_report(rep, log, r, "stdin" if args.log == "-" else os.path.basename(args.log), check, sites, sym)
    text = "\n".join(rep.out) + "\n"
    if args.output:
        try:
            with open(args.output, "w") as f:
                f.write(text)
        except OSError as e:
            print("vmtrace: cannot write %s: %s" % (args.output, e.strerror), file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    status = 1 if args.check_vmallocinfo and not check[2] else 0
    if timeline:
        timeline.timebase = log.timebase or timeline.timebase
        try:
            timeline.write(args.timeline, sym)
        except OSError as e:
            print("vmtrace: cannot write %s: %s" % (args.timeline, e.strerror), file=sys.stderr)
            return 2
    if args.plot:
        try:
            import vmtrace_plot
            vmtrace_plot.draw(r, log, args.plot, args.colour)
        except ImportError as e:
            print("vmtrace: cannot draw (%s): install python3-matplotlib" % e, file=sys.stderr)
            return 3
        except OSError as e:
            print("vmtrace: cannot write %s: %s" % (args.plot, e.strerror), file=sys.stderr)
            return 3
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

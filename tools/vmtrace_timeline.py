"""The timeline: a trace as Chrome/Perfetto trace-event JSON (the "JSON Array/Object Format" that
ui.perfetto.dev and chrome://tracing open), written by `tools/vmtrace.py --timeline out.json`.

Layout, fixed so that tests can check it against the report:
  * process 1 "harts": a thread track per hart. Purges are complete ("X") slices on the hart that ran them,
    from the first ev=lazy line of that purge id (written where the purge takes its list) to its ev=purge
    line; the kernel's own events (task 0) are instants on the hart that wrote them.
  * process 2 "tasks": a thread track per task, named from ev=spawn. System calls are "X" slices from the
    call's entry (t - sys_dt) to its last traced event; every event a task caused is an instant ("i",
    thread scope) on its track, named "<ev> <fn|op|mode>", with all its fields as args, plus the user call
    site ("site": "programs/hello.c:18 main") when it carries ucaller and the program's ELF is at hand.
  * process 3 "vmalloc": counters ("C") "live pages" (after each allocation, free and resize), "pages
    awaiting purge" (range of freed areas not yet purged, after each free and purge) and "free extents"
    (the replay's fragmentation samples).
Every event of the report's "events:" line is exactly one instant; every purge exactly one slice.
Timestamps are microseconds from the first event, from the log's timebase."""
import json

PAGE = 4096
PID_HARTS, PID_TASKS, PID_VMALLOC = 1, 2, 3


def label(ev):
    kind = ev["ev"]
    detail = ev.get("fn") or ev.get("op") or ev.get("mode")
    return "%s %s" % (kind, detail) if isinstance(detail, str) else kind


class Timeline:
    def __init__(self, replay, timebase):
        self.r = replay
        self.timebase = timebase or 10000000
        self.instants = []      # (ts ticks, pid, tid, event)
        self.counters = []      # (ts ticks, name, value)
        self.syscalls = {}      # (task, t0) -> [name, t0, last t, upc, ucaller]
        self.purge_start = {}   # purge id -> (first lazy t, hart)
        self.purges = []        # (t0, t1, hart, event)
        self.harts, self.tasks = set(), set()
        self.last_pages = self.last_pending = None

    def step(self, ev):
        """One event, after the replay has applied it (its counters are the state after the event)."""
        kind, t = ev["ev"], ev["t"]
        self.harts.add(ev["hart"])
        if ev["task"]:
            self.tasks.add(ev["task"])
            self.instants.append((t, PID_TASKS, ev["task"], ev))
        else:
            self.instants.append((t, PID_HARTS, ev["hart"], ev))
        if "sys" in ev and ev["task"]:
            t0 = t - ev.get("sys_dt", 0)
            rec = self.syscalls.setdefault((ev["task"], t0), [ev["sys"], t0, t, ev.get("upc"), ev.get("ucaller")])
            rec[2] = max(rec[2], t)
        if kind == "lazy" and ev["purge"] not in self.purge_start:
            self.purge_start[ev["purge"]] = (t, ev["hart"])
        if kind == "purge":
            start = self.purge_start.pop(ev.get("id"), None)
            t0 = start[0] if start and start[1] == ev["hart"] and start[0] <= t else t
            self.purges.append((t0, t, ev["hart"], ev))
        if kind in ("alloc", "free", "realloc") and self.r.pages != self.last_pages:
            self.last_pages = self.r.pages
            self.counters.append((t, "live pages", self.r.pages))
        if kind in ("free", "purge", "alloc") and self.r.pending_range != self.last_pending:
            self.last_pending = self.r.pending_range
            self.counters.append((t, "pages awaiting purge", self.r.pending_range // PAGE))

    def us(self, t):
        return round((t - (self.r.first_t or 0)) * 1e6 / self.timebase, 3)

    def write(self, path, sym):
        out = []
        meta = lambda pid, tid, what, name: out.append(  # noqa: E731
            {"ph": "M", "pid": pid, "tid": tid, "name": what, "args": {"name": name}})
        meta(PID_HARTS, 0, "process_name", "harts")
        meta(PID_TASKS, 0, "process_name", "tasks")
        meta(PID_VMALLOC, 0, "process_name", "vmalloc")
        for h in sorted(self.harts):
            meta(PID_HARTS, h, "thread_name", "hart %d" % h)
        for tid in sorted(self.tasks):
            meta(PID_TASKS, tid, "thread_name", "%d %s" % (tid, self.r.names.get(tid, "?")))
        for (task, _), (name, t0, t1, upc, ucaller) in sorted(self.syscalls.items()):
            args = {}
            prog = self.r.names.get(task, "?")
            if upc is not None:
                args["upc"] = "0x%x" % upc
            if ucaller is not None:
                args["ucaller"] = "0x%x" % ucaller
                args["site"] = sym.name(prog, ucaller, True)
            out.append({"ph": "X", "cat": "syscall", "name": name, "pid": PID_TASKS, "tid": task,
                        "ts": self.us(t0), "dur": round(self.us(t1) - self.us(t0), 3), "args": args})
        for t0, t1, hart, ev in self.purges:
            out.append({"ph": "X", "cat": "purge", "name": "purge", "pid": PID_HARTS, "tid": hart, "ts": self.us(t0),
                        "dur": round(self.us(t1) - self.us(t0), 3), "args": self.args(ev, sym)})
        for t, pid, tid, ev in self.instants:
            out.append({"ph": "i", "s": "t", "cat": ev["ev"], "name": label(ev), "pid": pid, "tid": tid,
                        "ts": self.us(t), "args": self.args(ev, sym)})
        for t, name, value in self.counters:
            out.append({"ph": "C", "name": name, "pid": PID_VMALLOC, "tid": 0, "ts": self.us(t),
                        "args": {name: value}})
        for t, _, n, _, _ in self.r.frag:
            out.append({"ph": "C", "name": "free extents", "pid": PID_VMALLOC, "tid": 0, "ts": self.us(t),
                        "args": {"free extents": n}})
        with open(path, "w") as f:
            json.dump({"traceEvents": out, "displayTimeUnit": "ns",
                       "otherData": {"source": "vmk allocation trace (docs/trace.md)", "timebase_hz": self.timebase}},
                      f, separators=(",", ":"))
            f.write("\n")

    def args(self, ev, sym):
        a = {}
        for k, v in ev.items():
            if k in ("line",):
                continue
            a[k] = "0x%x" % v if k in ("addr", "new", "start", "end", "handle", "block", "upc", "ucaller", "pc") \
                and isinstance(v, int) else v
        if "ucaller" in ev:
            a["site"] = sym.name(self.r.names.get(ev["task"], "?"), ev["ucaller"], True)
        return a

    def queue(self, sym):
        for _, _, _, ev in self.instants:
            if "ucaller" in ev:
                sym.want(self.r.names.get(ev["task"], "?"), ev["ucaller"], True)

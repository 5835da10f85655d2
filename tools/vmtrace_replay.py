"""Replaying trace events into a model of the vmalloc region.

The model, stated once because every figure depends on it:
  * The region is [start, end) from ev=region (64 GiB at 0xffffffc000000000 when the log lacks one).
  * An allocation occupies [addr, addr + va_size): va_size is the alloc's own field when present, else its
    mapped pages plus one guard page (every traced allocation has a guard; vm_map_ram blocks, fn=vmap_block,
    have none and are 2 MiB). The vmallocinfo dump prints the same end, guard included, like Linux.
  * A free (vfree, vfree_atomic, vunmap, vm_unmap_ram) makes the area dead but its range stays occupied:
    the kernel only reuses a range after a purge has flushed every TLB.
  * Every parked range is named by an ev=lazy line with the id of the purge that will release it (the
    kernel writes it under the arena lock, where the purge takes its list), and a purge with `id` releases
    exactly those: nothing is guessed. Logs from kernels without ev=lazy fall back on a guess, counted
    as such: a purge releases the oldest pending ranges inside its [start, end), at most `areas` of them.
    An allocation overlapping a pending range proves that range was purged already (on SMP another hart
    can reuse it before the purge's own line is emitted), so it is released then; that is not an anomaly.
  * Pages are the mapped pages: alloc adds `pages`, a shrinking vrealloc removes freed_pages, an in-place
    grow backs up to ceil(new_size / 4 KiB), a free removes what the area still has. vmap and vm_map_ram
    pages belong to their caller and are counted apart from vmalloc's.
Events are replayed in sequence-number order: harts drain their own rings, so the log is not in order.
Reorder puts them back in order as they are read, holding at most a window of them (a ring holds a few
hundred lines, so a log is never that far out of order), so time is linear in the log and memory bounded
by the window and the areas live at once; finished areas are kept as a few numbers each for the picture."""
import array
import bisect
import heapq

PAGE = 4096
SAMPLE_WORK = 8  # occupied ranges a fragmentation sample may walk, per event replayed
DEFAULT_REGION = (0xFFFFFFC000000000, 0xFFFFFFD000000000)
BORROWED_PAGES = ("vmap", "vm_map_ram", "vmap_block")  # pages owned by the caller, not by vmalloc


def live_key(addr, in_block):
    """A vm_map_ram request inside a block may start where its block starts: both are live at once."""
    return ("in_block", addr) if in_block else addr


class Area:
    __slots__ = ("addr", "va_size", "pages", "size", "fn", "caller", "task", "t_alloc", "seq", "t_free",
                 "seq_free", "t_purge", "in_block", "purge_id")

    def __init__(self, ev, va_size, in_block):
        self.addr, self.va_size, self.pages, self.size = ev["addr"], va_size, ev["pages"], ev["size"]
        self.fn, self.caller, self.task = ev["fn"], ev["caller"], ev["task"]
        self.t_alloc, self.seq = ev["t"], ev["seq"]
        self.t_free = self.seq_free = self.t_purge = self.purge_id = None
        self.in_block = in_block  # a vm_map_ram request inside a block: no range of its own

    @property
    def end(self):
        return self.addr + self.va_size

    @property
    def borrowed(self):
        return self.fn in BORROWED_PAGES


class Occupancy:
    """Occupied ranges, sorted by start (two parallel lists): the complement is the free space the
    fragmentation figures use."""

    def __init__(self, region):
        self.region = region
        self.starts, self.ends = [], []

    def add(self, start, end):
        i = bisect.bisect_left(self.starts, start)
        if i < len(self.starts) and self.starts[i] == start:
            self.ends[i] = end
            return
        self.starts.insert(i, start)
        self.ends.insert(i, end)

    def remove(self, start):
        i = bisect.bisect_left(self.starts, start)
        if i < len(self.starts) and self.starts[i] == start:
            del self.starts[i]
            del self.ends[i]

    def overlapping(self, start, end):
        i = bisect.bisect_left(self.starts, end)
        out = []
        while i > 0:
            i -= 1
            if self.ends[i] <= start:
                break  # ranges never overlap each other, so earlier ones end earlier still
            out.append(self.starts[i])
        return out

    def free_extents(self):
        """(number of free extents, largest, total) over the region."""
        count = largest = total = 0
        cursor = self.region[0]
        for s, e in zip(self.starts, self.ends):
            if s > cursor:
                gap = s - cursor
                count += 1
                total += gap
                if gap > largest:
                    largest = gap
            if e > cursor:
                cursor = e
        if self.region[1] > cursor:
            gap = self.region[1] - cursor
            count, total, largest = count + 1, total + gap, max(largest, gap)
        return count, largest, total


class Kept(list):
    """A list that keeps its first `cap` items and counts all of them (`total`): a hostile log cannot
    make the report's lists grow without bound."""

    def __init__(self, cap):
        super().__init__()
        self.cap, self.total = cap, 0

    def append(self, item):
        self.total += 1
        if len(self) < self.cap:
            super().append(item)


class PurgeStats:
    """What the report says about purges, summed as they come (times kept compact for the picture)."""

    def __init__(self):
        self.count = self.areas = self.pages = self.span = self.full = self.local = self.remote = 0
        self.by_caller = {}
        self.by_mech = {}  # remote fences by mechanism (sbi, ipi), when the log names it
        self.times = array.array("d")

    def add(self, ev):
        self.count += 1
        self.areas += ev["areas"]
        self.pages += ev["pages"]
        self.span = max(self.span, ev["end"] - ev["start"])
        self.full += 1 if ev["full"] else 0
        self.local += ev.get("local_fences", 1)
        remote = ev["remote"]
        fences = ev.get("remote_fences")
        if fences is None:  # logs without the count: a named mechanism or a 1 means one fence
            fences = 0 if remote in (0, "none") else 1
        self.remote += fences
        if isinstance(remote, str) and fences:
            self.by_mech[remote] = self.by_mech.get(remote, 0) + fences
        fn = ev["caller"].split("+", 1)[0]
        self.by_caller[fn] = self.by_caller.get(fn, 0) + 1
        self.times.append(ev["t"])


class TaskUse:
    __slots__ = ("allocs", "frees", "areas", "pages", "peak", "bytes")

    def __init__(self):
        self.allocs = self.frees = self.areas = self.pages = self.peak = self.bytes = 0


class Replay:
    def __init__(self, samples=2000):
        self.region = None
        self.lazy_max_pages = None
        self.occ = None
        self.live = {}            # addr -> Area
        self.pending = {}         # addr -> Area freed, range not yet purged; in free order
        self.pending_range = 0    # bytes of range those hold (guards included): what a purge would free
        self.by_purge = {}        # purge id -> {addr: Area} parked for it (ev=lazy)
        self.purged_ids = set()
        self.exact_purges = self.guessed_purges = 0
        self.callers = {}         # caller string -> index, for the finished areas' records
        self.boxes = array.array("d")  # per finished area: BOX_FIELDS numbers (see finish_area)
        self.freed = {}           # addr -> seq of its last free, for telling a double free from a stray one
        self.anomalies = Kept(10000)  # (seq, line, text)
        self.pages = self.borrowed = 0
        self.peak = (0, None, None)  # pages, seq, t
        self.tasks = {}
        self.names = {0: "kernel"}
        self.counts = {}
        self.realloc_modes = {}
        self.resized = {}         # Area -> [grows in place, shrinks, smallest size, largest size, moved to]
        self.last_freed = {}      # address -> the Area freed there last (a move's old area)
        self.failures = {}
        self.shm = {}
        self.faults, self.kills, self.marks = Kept(1000), Kept(1000), Kept(1000)
        self.purges = PurgeStats()
        self.early_release = 0    # ranges reused before their purge's line: see the model above
        self.untraced_purged = 0  # areas a purge freed that the trace never showed (e.g. untraced kinds)
        self.frag = []            # (t, seq, extents, 1 - largest/total, live pages)
        self.sample_every = 1
        self.samples = samples
        self.first_t = None
        self.last = None
        self.steps = 0
        self.prev_seq = None
        self.min_seq = self.max_seq = None
        self.harts = set()
        self.gaps = []            # (first, last) sequence numbers never seen between two seen ones

    def note(self, ev, text):
        self.anomalies.append((ev["seq"], ev["line"], text))

    def task(self, tid):
        return self.tasks.setdefault(tid, TaskUse())

    def ensure_region(self, ev=None):
        if self.region is None:
            self.region = DEFAULT_REGION
            self.occ = Occupancy(self.region)
            if ev is not None:
                self.anomalies.append((ev["seq"], ev["line"], "no ev=region before the first allocation: "
                                       "assuming the 64 GiB region at 0x%x" % DEFAULT_REGION[0]))

    def run(self, events):
        """Replays a list of events (any order)."""
        for ev in sorted(events, key=lambda e: (e["seq"], e["line"])):
            self.step(ev)
        return self.finish()

    def step(self, ev):
        """One event, in sequence order (Reorder sees to that)."""
        seq = ev["seq"]
        self.steps += 1  # every event read, a duplicate included
        if self.prev_seq is not None and seq <= self.prev_seq:
            if seq == self.prev_seq:
                self.note(ev, "sequence number %d appears twice: the second line was ignored" % seq)
                return
            self.note(ev, "sequence number %d arrived after %d, further out of order than any ring holds"
                      % (seq, self.prev_seq))
        elif self.prev_seq is not None and seq > self.prev_seq + 1:
            self.gaps.append((self.prev_seq + 1, seq - 1))
        if self.prev_seq is None or seq > self.prev_seq:
            self.prev_seq = seq
        self.min_seq = seq if self.min_seq is None else min(self.min_seq, seq)
        self.max_seq = seq if self.max_seq is None else max(self.max_seq, seq)
        self.harts.add(ev["hart"])
        if self.first_t is None:
            self.first_t = ev["t"]
        self.last = ev
        self.counts[ev["ev"]] = self.counts.get(ev["ev"], 0) + 1
        getattr(self, "on_" + ev["ev"])(ev)
        if self.occ is not None and ev["ev"] in ("alloc", "free", "purge", "region"):
            self.sampled += 1
            # A sample walks every occupied range: its cost is bounded to SAMPLE_WORK per event replayed,
            # so a log with many areas live at once gets fewer samples, never quadratic time.
            if self.sampled % self.sample_every == 0 and \
                    self.sample_work + len(self.occ.starts) <= SAMPLE_WORK * self.steps + 10000:
                self.sample_work += len(self.occ.starts)
                self.sample(ev)
                if len(self.frag) >= 2 * self.samples:  # keep it bounded: every other sample, twice the step
                    self.frag = self.frag[1::2]
                    self.sample_every *= 2
            else:
                self.unsampled = ev

    sampled = 0
    sample_work = 0
    unsampled = None

    def finish(self):
        """After the last event: the end state is always sampled."""
        if self.unsampled is not None and self.occ is not None and (not self.frag or
                                                                    self.frag[-1][1] < self.unsampled["seq"]):
            self.sample(self.unsampled)
            self.unsampled = None
        return self

    BOX_FIELDS = 8  # t_alloc, t_free, t_purge, addr, va_size, pages, caller index, task

    def finish_area(self, area):
        """An area whose range is free again: kept as numbers for the picture, the object let go."""
        if area.in_block:
            return
        c = self.callers.setdefault(area.caller, len(self.callers))
        self.boxes.extend((area.t_alloc, area.t_free, area.t_purge, float(area.addr), area.va_size, area.pages,
                           c, area.task))

    def release(self, area, t):
        """A pending range made reusable by a purge at time t."""
        area.t_purge = t
        if self.pending.pop(area.addr, None) is not None:
            self.pending_range -= area.va_size
        if area.purge_id is not None:
            self.by_purge.get(area.purge_id, {}).pop(area.addr, None)
        self.occ.remove(area.addr)
        self.finish_area(area)

    def sample(self, ev):
        n, largest, total = self.occ.free_extents()
        self.frag.append((ev["t"], ev["seq"], n, 1.0 - largest / total if total else 0.0, self.pages))

    def on_region(self, ev):
        if ev["end"] <= ev["start"]:
            self.note(ev, "region end 0x%x is not above its start 0x%x: ignored" % (ev["end"], ev["start"]))
            return
        if self.region is not None and self.live:
            self.note(ev, "a second ev=region with areas live: the log may hold two boots")
        self.region = (ev["start"], ev["end"])
        self.lazy_max_pages = ev["lazy_max_pages"]
        self.occ = Occupancy(self.region)
        for a in list(self.live.values()) + list(self.pending.values()):
            if not a.in_block:
                self.occ.add(a.addr, a.end)

    def account(self, area, delta):
        if area.borrowed:
            self.borrowed += delta
            return
        self.pages += delta
        use = self.task(area.task)
        use.pages += delta
        use.peak = max(use.peak, use.pages)
        if self.pages > self.peak[0]:
            self.peak = (self.pages, self.last["seq"], self.last["t"])

    def on_alloc(self, ev):
        self.ensure_region(ev)
        in_block = ev["fn"] == "vm_map_ram" and ev.get("block", 0) != 0
        if ev["fn"] == "vmap_block":
            va_size = ev.get("va_size", ev["size"])
        else:
            va_size = ev.get("va_size", ev["pages"] * PAGE + PAGE)
        if ev["addr"] % PAGE or va_size <= 0:
            self.note(ev, "alloc at 0x%x of %d bytes is not page-aligned or empty: ignored" % (ev["addr"], va_size))
            return
        area = Area(ev, va_size, in_block)
        k = live_key(ev["addr"], in_block)
        if k in self.live:
            old = self.live.pop(k)
            self.note(ev, "alloc at 0x%x which is already live (from %s, seq %d): a free is missing"
                      % (ev["addr"], old.caller, old.seq))
            self.drop_area(old)
        if not in_block:
            lo, hi = self.region
            if ev["addr"] < lo or area.end > hi:
                self.note(ev, "alloc 0x%x-0x%x lies outside the region" % (ev["addr"], area.end))
            for s in self.occ.overlapping(area.addr, area.end):
                self.resolve_overlap(ev, s)
            self.occ.add(area.addr, area.end)
        self.live[k] = area
        self.freed.pop(k, None)
        use = self.task(area.task)
        use.allocs += 1
        use.areas += 1
        use.bytes += area.size
        self.account(area, area.pages)

    def resolve_overlap(self, ev, start):
        a = self.pending.get(start)
        if a is not None and not a.in_block:
            self.release(a, ev["t"])
            self.early_release += 1
            return
        other = self.live.get(start)
        self.note(ev, "alloc 0x%x overlaps live area 0x%x (%s, seq %s): a free was missed"
                  % (ev["addr"], start, other.caller if other else "?", other.seq if other else "?"))
        if other:
            del self.live[start]
            self.drop_area(other)
        self.occ.remove(start)

    def drop_area(self, area):
        """Forgets a live area the trace lost track of, without counting a free."""
        use = self.task(area.task)
        use.areas -= 1
        self.account(area, -area.pages)
        area.t_free = area.t_purge = self.last["t"]
        if not area.in_block:
            self.occ.remove(area.addr)
            self.finish_area(area)

    def on_free(self, ev):
        self.ensure_region(ev)
        k = live_key(ev["addr"], True)
        if ev["fn"] != "vm_unmap_ram" or k not in self.live:
            k = ev["addr"]
        area = self.live.pop(k, None)
        if area is None:
            if k in self.freed:
                self.note(ev, "double free: %s(0x%x) by %s, already freed at seq %d"
                          % (ev["fn"], ev["addr"], ev["caller"], self.freed[k]))
            else:
                self.note(ev, "free of unknown address: %s(0x%x) by %s (alloc dropped or traced before "
                          "tracing was on?)" % (ev["fn"], ev["addr"], ev["caller"]))
            return
        if ev["pages"] != area.pages:
            self.note(ev, "free of 0x%x says pages=%d, the replay has %d" % (ev["addr"], ev["pages"], area.pages))
        area.t_free, area.seq_free = ev["t"], ev["seq"]
        self.freed[k] = ev["seq"]
        self.last_freed[k] = area  # a vrealloc move's line comes after its old area's free
        use = self.task(area.task)
        use.frees += 1
        use.areas -= 1
        self.account(area, -area.pages)
        if area.in_block:
            area.t_purge = ev["t"]  # its range is the block's, which has its own free
        else:
            old = self.pending.pop(area.addr, None)
            if old is not None:  # freed twice before a purge: the kernel refused the second; keep the first
                self.pending[old.addr] = old
            else:
                self.pending[area.addr] = area
                self.pending_range += area.va_size

    def on_lazy(self, ev):
        """A freed range parked for purge number `purge`."""
        area = self.pending.get(ev["addr"])
        if area is None:
            return  # its free was not traced (class off then): the purge counts it as untraced
        if area.purge_id is not None:
            self.by_purge.get(area.purge_id, {}).pop(area.addr, None)  # parked again for a later purge
        area.purge_id = ev["purge"]
        if ev["purge"] in self.purged_ids:
            self.release(area, ev["t"])  # that purge's line came first (SMP ordering)
        else:
            self.by_purge.setdefault(ev["purge"], {})[area.addr] = area

    def on_purge(self, ev):
        self.ensure_region(ev)
        released = 0
        if "id" in ev:
            self.exact_purges += 1
            self.purged_ids.add(ev["id"])
            for a in list(self.by_purge.pop(ev["id"], {}).values()):
                self.release(a, ev["t"])
                released += 1
        else:
            self.guessed_purges += 1
            for a in list(self.pending.values()):
                if released == ev["areas"]:
                    break
                if a.purge_id is None and a.addr >= ev["start"] and a.end <= ev["end"]:
                    self.release(a, ev["t"])
                    released += 1
        self.untraced_purged += max(0, ev["areas"] - released)
        self.purges.add(ev)

    def resize_record(self, area, ev):
        return self.resized.setdefault(area, [0, 0, ev["old_size"], ev["old_size"], None])

    def on_realloc(self, ev):
        mode = ev["mode"]
        self.realloc_modes[mode] = self.realloc_modes.get(mode, 0) + 1
        if mode == "moved":
            # The kernel traces the new area's alloc, then the old area's free, then this line: the old
            # area is usually freed by now.
            old = self.live.get(ev["addr"]) or self.last_freed.get(ev["addr"])
            if old is not None:
                self.resize_record(old, ev)[4] = ev["new"]
            return  # the kernel traces the new area's alloc and the old one's free itself
        area = self.live.get(ev["addr"])
        if area is None:
            self.note(ev, "vrealloc(0x%x) %s of an unknown area" % (ev["addr"], mode))
            return
        if mode == "shrunk":
            pages = area.pages - ev["freed_pages"]
        elif mode == "inplace":
            pages = max(area.pages, -(-ev["new_size"] // PAGE))
        else:
            self.note(ev, "vrealloc mode '%s' is unknown" % mode)
            return
        if isinstance(ev.get("pages"), int):
            pages = ev["pages"]
        if pages < 0 or pages * PAGE + PAGE > area.va_size and not area.fn.endswith("huge"):
            self.note(ev, "vrealloc(0x%x) leaves %d pages in a %d-byte range" % (ev["addr"], pages, area.va_size))
            return
        self.account(area, pages - area.pages)
        area.pages = pages
        area.size = ev["new_size"]
        rec = self.resize_record(area, ev)
        rec[0 if mode == "inplace" else 1] += 1
        rec[2], rec[3] = min(rec[2], area.size), max(rec[3], area.size)

    def on_fail(self, ev):
        self.failures[ev["reason"]] = self.failures.get(ev["reason"], 0) + 1

    def on_fault(self, ev):
        self.faults.append(ev)

    def on_kill(self, ev):
        self.kills.append(ev)

    def on_spawn(self, ev):
        self.names[ev["tid"]] = ev["name"]

    def on_shm(self, ev):
        key = (ev["op"], "ok" if ev["result"] >= 0 else "error %d" % ev["result"])
        self.shm[key] = self.shm.get(key, 0) + 1

    def on_mark(self, ev):
        self.marks.append(ev)


class Reorder:
    """Puts events back in sequence order as they are read: a heap of at most `window` events; the
    smallest goes to the replay whenever the heap is full, and all of it at flush()."""

    def __init__(self, replay, window=50000):
        self.replay, self.window, self.heap = replay, window, []

    def push(self, ev):
        heapq.heappush(self.heap, (ev["seq"], ev["line"], ev))
        if len(self.heap) > self.window:
            self.replay.step(heapq.heappop(self.heap)[2])

    def flush(self):
        while self.heap:
            self.replay.step(heapq.heappop(self.heap)[2])


def seq_gaps(gaps, drops):
    """Runs (first, last) of sequence numbers never seen that no drop marker accounts for, from the gaps a
    replay met (in order) and the log's drop markers. Markers from kernels without first_seq/last_seq
    only say how many: that many missing numbers count as explained. One sweep over both, sorted."""
    covered = []  # the markers' ranges merged into disjoint runs, so one pointer sweeps them
    for f, l in sorted((d["first_seq"], d["last_seq"]) for d in drops if "first_seq" in d and "last_seq" in d):
        if covered and f <= covered[-1][1] + 1:
            covered[-1][1] = max(covered[-1][1], l)
        else:
            covered.append([f, l])
    uncounted = sum(d["count"] for d in drops if "first_seq" not in d)
    out = []
    i = 0
    for lo, hi in sorted(gaps):
        while i < len(covered) and covered[i][1] < lo:
            i += 1  # runs wholly before this gap can cover no later one either
        while lo <= hi and i < len(covered) and covered[i][0] <= hi:
            f, l = covered[i]
            if f > lo:
                out.append([lo, f - 1])
            lo = max(lo, l + 1)
            if l <= hi:
                i += 1
        if lo <= hi:
            out.append([lo, hi])
    result = []
    for lo, hi in out:
        take = min(uncounted, hi - lo + 1)
        uncounted -= take
        if lo + take <= hi:
            result.append((lo + take, hi))
    return result

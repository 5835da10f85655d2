#!/usr/bin/python3
"""Checks the gdb helpers' output (tests/gdb/session.py's JSON) against what the kernel itself printed
for the same halted state in the console log, and prints KTAP lines. Usage: check.py RESULT.json UART.log"""
import json
import re
import sys

ROW = re.compile(r"^0x([0-9a-f]{16})-0x([0-9a-f]{16}) +(\d+) (\S+) pages=(\d+) (vmalloc|vmap|vm_map_ram)"
                 r"( huge)?( user)? N\d+=\d+$")


class Ktap:
    def __init__(self):
        self.n = self.failed = 0

    def result(self, name, ok, why=""):
        self.n += 1
        if ok:
            print("ok %d %s" % (self.n, name))
        else:
            self.failed += 1
            print("not ok %d %s # %s" % (self.n, name, why.replace("\n", " | ")[:300]))

    def skip(self, name, why):
        """A case that could not be checked this run: reported, and counted apart from the passes."""
        self.n += 1
        print("ok %d %s # SKIP %s" % (self.n, name, why))

    def plan(self):
        """The plan, printed last: the test runner fails a report that ends without it or disagrees."""
        print("1..%d" % self.n)


def block(text, begin="vmallocinfo: begin", end="vmallocinfo: end"):
    """Lines between the first begin/end pair in text, or None. Trace events ("@T ...") drained by the
    timer tick may land between the listing's lines: they are not part of it."""
    lines = text.splitlines()
    try:
        b = lines.index(begin)
        e = lines.index(end, b)
    except ValueError:
        return None
    return [line for line in lines[b + 1:e] if not line.startswith("@T ")]


def translation(text):
    """(va, pa, flags) from vmk-pte's last line, or None."""
    m = re.search(r"^0x([0-9a-f]+) -> 0x([0-9a-f]+) \(4 KiB leaf\) (\S+)$", text or "", re.M)
    return (int(m.group(1), 16), int(m.group(2), 16), m.group(3)) if m else None


def main(json_path, uart_path):
    k = Ktap()
    res = json.load(open(json_path))
    uart = open(uart_path, "rb").read().decode("ascii", "replace").replace("\r", "")
    out = res.get("outputs", {})
    print("TAP version 13")
    k.result("constants_match_headers", not res.get("drift"), "; ".join(res.get("drift", [])))
    k.result("stopped_in_vm_dump_areas", res.get("stopped") and "state" in res,
             "no stop, or /gdb_state's line missing at the stop")
    if not res.get("stopped") or "state" not in res:
        k.plan()
        return 1
    st = res["state"]
    at_stop = res["uart_at_stop"].replace("\r", "")

    # The kernel's own listing is the first one printed after the stop (vm_dump_areas itself).
    kernel = block(uart[len(at_stop):]) if uart.startswith(at_stop) else block(uart[uart.find("gdb_state: tid="):])
    helper = block(out.get("vmallocinfo", ""))
    k.result("vmallocinfo_matches_kernel_listing", kernel is not None and helper == kernel and len(kernel) >= 5,
             "kernel %r, helper %r" % (kernel, helper))
    rows = [ROW.match(line) for line in (kernel or [])]
    k.result("listing_rows_parse", kernel and all(rows), "unparsed rows in %r" % kernel)
    user_rows = sorted(r.group(0) for r in rows if r and r.group(8))

    # vmk-tasks: the two /gdb_state tasks, the parent running (it is in the syscall), the child its child.
    tasks = {}
    for line in out.get("tasks", "").splitlines()[1:]:
        f = line.split()
        if len(f) == 10:
            tasks[int(f[0])] = f
    p, c = tasks.get(st["tid"]), tasks.get(st["child"])
    k.result("tasks_lists_both", p and c and p[4] == c[4] == "gdb_state" and p[2] == "running"
             and c[5] == str(st["tid"])
             and p[8] == "2" and p[9] == "2" and c[8] == "2" and c[9] == "2", "vmk-tasks: %r" % out.get("tasks"))

    # vmk-areas-of: each task's rows are kernel rows; together they are exactly the user areas; the charge
    # vmk-tasks shows equals the pages of those rows.
    areas = {}
    for key, tid in (("areas_parent", st["tid"]), ("areas_child", st["child"])):
        lines = out.get(key, "").splitlines()
        head = re.match(r"task %d \(gdb_state\), slot \d+: (\d+) areas, (\d+) pages charged \((\d+) for page tables "
                        r"of its mappings, (\d+) for its image, (\d+) held by its children\)" % tid,
                        lines[0] if lines else "")
        areas[tid] = (head, lines[1:])
    both = sorted(areas[st["tid"]][1] + areas[st["child"]][1])
    k.result("areas_of_partition_user_areas", both == user_rows, "areas-of %r, user rows %r" % (both, user_rows))
    pages = lambda lines: sum(int(ROW.match(line).group(5)) for line in lines if ROW.match(line))
    # The charge is the areas' pages plus the page tables of the task's mappings, its image and its
    # children's accounts (include/vmk/abi.h, QUOTAS): the parent's holds the child's whole account.
    outside = lambda h: int(h.group(3)) + int(h.group(4)) + int(h.group(5))
    ok = all(h and int(h.group(1)) == len(lines) and int(h.group(2)) - outside(h) == pages(lines)
             and int(h.group(4)) > 0 for h, lines in areas.values())
    hp, hc = areas[st["tid"]][0], areas[st["child"]][0]
    ok = ok and p and c and int(p[7]) == int(hp.group(2)) and int(c[7]) == int(hc.group(2)) \
        and int(hp.group(5)) == int(hc.group(2))
    k.result("areas_of_charge_matches", ok, "%r / tasks %r" % ({t: v[1] for t, v in areas.items()}, out.get("tasks")))
    heap_pages = st["heap_size"] // 4096
    k.result("areas_of_shows_heap_and_objects",
             any("pages=%d vmalloc user" % heap_pages in line for line in areas[st["tid"]][1])
             and any("pages=3 vmalloc user" in line for line in areas[st["tid"]][1])
             and any("pages=5 vmalloc user" in line for line in areas[st["child"]][1]),
             "heap %d pages; %r" % (heap_pages, {t: v[1] for t, v in areas.items()}))
    errs = res.get("errors", {})
    k.result("areas_of_bad_task_is_an_error", "give a tid" in errs.get("areas_by_name", "")
             and "no live task" in errs.get("areas_missing", ""), "errors %r" % errs)

    # vmk-pte: the shared object's page, through the parent's satp, the child's tables and the kernel's
    # own mapping of the area the listing shows, is one physical page; user mappings have U, the kernel's not.
    cur, chi = translation(out.get("pte_current")), translation(out.get("pte_child"))
    ker = translation(out.get("pte_kernel"))
    k.result("pte_same_page_three_ways", cur and chi and ker and cur[1] == chi[1] == ker[1] and cur[0] == st["obj"]
             and "U" in cur[2] and "U" in chi[2] and "U" not in ker[2] and "W" in cur[2],
             "current %r child %r kernel %r" % (cur, chi, ker))
    heap = translation(out.get("pte_heap"))
    k.result("pte_heap_and_unmapped", heap and heap[0] == st["heap"] and "U" in heap[2]
             and "not mapped" in out.get("pte_unmapped", ""), "heap %r, unmapped %r" % (heap, out.get("pte_unmapped")))

    # vmk-trace-ring: what was on the console at the stop plus what the helper found undrained accounts for
    # every event before the stop, and each undrained line reaches the console later, unchanged.
    ring = out.get("trace_ring", "")
    m = re.match(r"trace: next seq (\d+)", ring)
    ring_lines = [line for line in ring.splitlines() if line.startswith("@T ")]
    seen = {int(s) for s in re.findall(r"^@T seq=(\d+) ", at_stop, re.M)}
    seen |= {int(re.match(r"@T seq=(\d+)", line).group(1)) for line in ring_lines}
    # Events another hart was formatting at the stop are numbered but in no ring yet: they count when
    # their line reaches the console later.
    in_flight = [int(s) for s in re.findall(r"event seq (\d+) being written", ring)]
    all_lines = uart.splitlines()
    seen |= {s for s in in_flight if any(line.startswith("@T seq=%d " % s) for line in all_lines)}
    missing = sorted(set(range(int(m.group(1)))) - seen) if m else None
    # Each undrained line reaches the console unchanged, once. Compared on the whole log, not only after
    # the stop: another hart may have been halfway through draining it when the stop came (some or all
    # of its bytes already written, the ring's tail not yet moved past it).
    counts = {}
    for line in all_lines:
        counts[line] = counts.get(line, 0) + 1
    k.result("trace_ring_accounts_for_every_event", m and not missing and all(counts.get(line) == 1 for line in ring_lines)
             and "ev=drop" not in uart, "missing seqs %r; ring %r" % (missing, ring[:300]))
    # Rings drain only from the scheduler loop, so the mark /gdb_state made just before asking for the
    # listing is still queued, unless a timer tick preempted it in between (then it is on the console).
    mark = [line for line in ring_lines if 'ev=mark id=42 label="gdb_state-ready"' in line]
    if not mark and 'label="gdb_state-ready"' in at_stop:
        k.skip("trace_ring_holds_the_last_mark", "the mark was drained before the stop (a tick preempted "
               "/gdb_state between two syscalls): nothing left in the ring to read")
    else:
        k.result("trace_ring_holds_the_last_mark", len(mark) == 1, "ring %r" % ring[:300])
    k.result("gdb_state_finished", "init exited with status 0" in uart, "the boot did not end cleanly")
    k.plan()
    return 1 if k.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

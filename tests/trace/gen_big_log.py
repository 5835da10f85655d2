#!/usr/bin/env python3
"""Writes a synthetic vmk trace log of about MB megabytes for measuring tools/vmtrace.py's time and memory
(a benchmark, not a pass/fail test): two harts draining their rings out of sequence order, mixed-size
allocations and frees with guard pages, resizes, lazy parking and purges naming their id, shm syscalls,
marks, and (with --drops) one drop marker per 100 events, with the dropped sequence numbers missing.
Ends with a vmallocinfo listing of what is still live.

  tests/trace/gen_big_log.py 200 --drops > big.log
  /usr/bin/time -v tools/vmtrace.py big.log --plot big.png -o /dev/null"""
import argparse
import random
import sys

REGION = 0xFFFFFFC000000000
PAGE = 4096


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("megabytes", type=float)
    ap.add_argument("--drops", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    out = sys.stdout
    limit = int(args.megabytes * 1e6)
    written = 0
    seq = 0
    t = 1000
    rings = {0: [], 1: []}  # per-hart lines not yet drained: drained in bursts, so the log is out of order
    live = {}               # addr -> (pages, va_size, caller)
    free_ranges = []        # ranges freed and purged, reusable
    pending = []            # (addr, va_size) parked for the next purge
    purge_id = 0
    top = REGION
    drops = {0: [], 1: []}  # per hart: sequence numbers lost since its last drain

    def emit(hart, body):
        nonlocal seq, t
        t += rnd.randrange(50, 500)
        line = "@T seq=%d hart=%d t=%d task=%d %s" % (seq, hart, t, 65 + hart, body)
        seq += 1
        if args.drops and seq % 100 == 0:  # this one is lost; the hart's next drain says so
            drops[hart].append(seq - 1)
            return
        rings[hart].append(line)

    def drain(hart):
        nonlocal written
        for line in rings[hart]:
            out.write(line + "\n")
            written += len(line) + 1
        rings[hart] = []
        mine = drops[hart]
        if mine:
            line = "@T hart=%d ev=drop count=%d total=%d first_seq=%d last_seq=%d" % (
                hart, len(mine), len(mine), mine[0], mine[-1])
            out.write(line + "\n")
            written += len(line) + 1
            drops[hart] = []

    out.write("vmk: synthetic log\nharts: 2 online, timebase 10000000 Hz\n")
    emit(0, "ev=region start=0x%x end=0x%x lazy_max_pages=16384 caller=vmalloc_init+0x10/0x100" %
         (REGION, REGION + (64 << 30)))
    callers = ["shm_create+0x%x/0x200" % i for i in range(0, 64, 8)] + ["task_spawn+0x20e/0x670"]
    while written < limit:
        hart = rnd.randrange(2)
        r = rnd.random()
        if r < 0.45 or not live:
            pages = rnd.choice([1, 1, 2, 3, 4, 8, 16, 64, 300])
            va_size = (pages + 1) * PAGE
            addr = None
            for i, (s, size) in enumerate(free_ranges[:8]):  # first fit among the lowest few: cheap
                if size >= va_size:
                    addr = s
                    free_ranges[i] = (s + va_size, size - va_size)
                    break
            if addr is None:
                addr, top = top, top + va_size
            caller = rnd.choice(callers)
            live[addr] = (pages, va_size, caller)
            emit(hart, "ev=alloc fn=vmalloc addr=0x%x size=%d pages=%d node=-1 va_size=%d caller=%s" %
                 (addr, pages * PAGE, pages, va_size, caller))
        elif r < 0.85:
            addr = next(iter(live))  # oldest first: areas live a while, so the arena fragments
            pages, va_size, caller = live.pop(addr)
            emit(hart, "ev=free fn=vfree addr=0x%x size=%d pages=%d caller=%s" % (addr, pages * PAGE, pages, caller))
            emit(hart, "ev=lazy addr=0x%x purge=%d caller=area_retire+0x40/0x100" % (addr, purge_id))
            pending.append((addr, va_size))
        elif r < 0.90:
            addr = next(reversed(live))
            pages, va_size, caller = live[addr]
            if pages > 1:
                keep = pages // 2
                live[addr] = (keep, va_size, caller)
                emit(hart, "ev=realloc addr=0x%x new=0x%x old_size=%d new_size=%d mode=shrunk freed_pages=%d "
                     "pages=%d caller=%s" % (addr, addr, pages * PAGE, keep * PAGE, pages - keep, keep, caller))
        elif r < 0.93 and pending:
            lo = min(a for a, _ in pending)
            hi = max(a + s for a, s in pending)
            emit(hart, "ev=purge areas=%d pages=%d start=0x%x end=0x%x full=1 remote=sbi local_fences=1 "
                 "remote_fences=1 id=%d caller=vm_purge+0x10/0x100" %
                 (len(pending), sum(s // PAGE - 1 for _, s in pending), lo, hi, purge_id))
            free_ranges.extend(pending)
            free_ranges.sort()
            free_ranges = [r for r in free_ranges if r[1] > PAGE][:4096]
            pending = []
            purge_id += 1
        elif r < 0.99:
            emit(hart, "ev=shm op=map result=0 handle=0x%x addr=0x%x caller=syscall_dispatch+0x34/0x40" %
                 (rnd.randrange(1 << 30), 0x1000000000 + rnd.randrange(1 << 20) * PAGE))
        else:
            emit(hart, 'ev=mark id=%d label="phase %d" caller=syscall_dispatch+0x34/0x40' % (seq, seq))
        if len(rings[hart]) >= rnd.randrange(20, 120):
            drain(hart)
    drain(0)
    drain(1)
    out.write("vmallocinfo: begin\n")
    for addr in sorted(live):
        pages, va_size, caller = live[addr]
        out.write("0x%016x-0x%016x %8d %s pages=%d vmalloc N0=%d\n" % (addr, addr + va_size, va_size, caller,
                                                                       pages, pages))
    out.write("vmallocinfo: end\n")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Checks a timeline written by `tools/vmtrace.py --timeline` against the trace-event format's rules and
against the report written from the same log:

  check_timeline.py TIMELINE.json REPORT.txt [--site TEXT]

Format (the Chrome trace-event "JSON Object Format" that Perfetto and chrome://tracing load): an object
whose traceEvents is a list; every event has a known phase and the fields that phase needs with the right
types (pid/tid integers, ts a number >= 0, X a dur >= 0, i a scope, C numeric args, M a name argument);
complete slices on one track (pid, tid) nest or are disjoint, never overlap partly; every track used is
named. Counts: one instant per event of the report's "events:" line, kind by kind; one purge slice per
purge of its "purges:" line; a counter series for live pages. --site: some instant's and some syscall
slice's "site" argument contains TEXT (e.g. programs/hello.c:). Prints what is wrong; exits 1 if anything."""
import json
import re
import sys

PHASES = {"M", "X", "i", "C"}


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check(events, report, site):
    bad = []
    named = set()
    used = set()
    slices = {}
    instants = {}
    purges = 0
    syscalls = []
    counters = set()
    for n, e in enumerate(events):
        where = "event %d %r" % (n, str(e)[:120])
        if not isinstance(e, dict) or e.get("ph") not in PHASES:
            bad.append("%s: not an object with a known ph" % where)
            continue
        if not isinstance(e.get("name"), str) or not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            bad.append("%s: name, pid or tid missing or of the wrong type" % where)
            continue
        if "args" in e and not isinstance(e["args"], dict):
            bad.append("%s: args is not an object" % where)
            continue
        ph = e["ph"]
        if ph == "M":
            if e["name"] not in ("process_name", "thread_name") or not isinstance(e.get("args", {}).get("name"), str):
                bad.append("%s: metadata without a name argument" % where)
            elif e["name"] == "thread_name":
                named.add((e["pid"], e["tid"]))
            continue
        if not number(e.get("ts")) or e["ts"] < 0:
            bad.append("%s: ts missing or negative" % where)
            continue
        if ph == "X":
            if not number(e.get("dur")) or e["dur"] < 0:
                bad.append("%s: complete event without a dur >= 0" % where)
                continue
            slices.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"], e["name"]))
            used.add((e["pid"], e["tid"]))
            if e.get("cat") == "purge":
                purges += 1
            elif e.get("cat") == "syscall":
                syscalls.append(e)
        elif ph == "i":
            if e.get("s") not in ("t", "p", "g"):
                bad.append("%s: instant without a scope" % where)
                continue
            instants[e.get("cat")] = instants.get(e.get("cat"), 0) + 1
            used.add((e["pid"], e["tid"]))
        elif ph == "C":
            if not e.get("args") or not all(number(v) for v in e["args"].values()):
                bad.append("%s: counter without numeric args" % where)
                continue
            counters.add(e["name"])
    for track, s in slices.items():
        stack = []
        for start, end, name in sorted(s, key=lambda x: (x[0], -x[1])):
            while stack and stack[-1][1] <= start:
                stack.pop()
            if stack and end > stack[-1][1]:
                bad.append("track %r: slice %s [%s, %s] overlaps %s [%s, %s] without nesting" % (
                    track, name, start, end, stack[-1][2], stack[-1][0], stack[-1][1]))
                break
            stack.append((start, end, name))
    for track in sorted(used - named):
        bad.append("track %r has events but no thread_name" % (track,))

    m = re.search(r"^events: (.*)$", report, re.M)
    want = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))) if m else None
    if want is None:
        bad.append("the report has no events: line")
    elif want != instants:
        bad.append("instants per kind %r, the report's events %r" % (instants, want))
    m = re.search(r"^purges: (\d+)", report, re.M)
    if not m or int(m.group(1)) != purges:
        bad.append("%d purge slices, the report says %s" % (purges, m.group(1) if m else "nothing"))
    if "live pages" not in counters:
        bad.append("no live pages counter")
    if site is not None:
        inst = [e for e in events if isinstance(e, dict) and e.get("ph") == "i" and site in str(e.get("args", {}).get("site"))]
        sc = [e for e in syscalls if site in str(e.get("args", {}).get("site"))]
        if not inst or not sc:
            bad.append("no instant (%d) or syscall slice (%d) names a site containing %r" % (len(inst), len(sc), site))
    return bad, "%d events: %d instants, %d slices (%d purges, %d syscalls), counters %s" % (
        len(events), sum(instants.values()), sum(len(s) for s in slices.values()), purges, len(syscalls),
        ", ".join(sorted(counters)))


def main(argv):
    site = None
    if len(argv) == 4 and argv[2] == "--site":
        site = argv[3]
        argv = argv[:2]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(argv[0]) as f:
            doc = json.load(f)
        with open(argv[1]) as f:
            report = f.read()
    except (OSError, ValueError) as e:
        print("cannot read: %s" % e)
        return 1
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        print("not a trace-event JSON object with a traceEvents list")
        return 1
    bad, summary = check(doc["traceEvents"], report, site)
    print(summary)
    for b in bad[:40]:
        print("  " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

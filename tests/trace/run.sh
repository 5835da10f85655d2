#!/usr/bin/env bash
# Tests of tools/vmtrace.py on recorded logs (fixtures/: a real demo boot, a real drop flood from the
# `trace` suite, a real boot of programs/hello with its growing heap, hand-made replay/mismatch/malformed
# logs) against reviewed outputs (expected/), plus the
# pictures (a box per area), the timeline JSON (tests/trace/check_timeline.py: format rules, nesting,
# counts equal to the report's), stdin, hostile bytes and bad usage. Optional $1: the log of a live boot
# with `trace=all vmallocinfo`, replayed and checked against its own vmallocinfo listing, its timeline
# checked, and no event naming the trap handler. Optional $2: a live `trace=all` boot of /hello, whose
# call sites must be named as lines of programs/hello.c through build/user/hello. Optional $3: a live
# `trace=all vmallocinfo` boot of /t_hostile forge, whose forged lines the tool must not take in.
# Prints KTAP "ok N name" / "not ok N name" lines; exits 0 when all pass. UPDATE=1 rewrites expected/.
set -u
cd "$(dirname "$0")/../.."
T=tests/trace
TOOL=tools/vmtrace.py
OUT=${BUILD:-build}/trace-tests
mkdir -p "$OUT"
n=0
failed=0
result() { # name status(0 = pass) [why]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1${3:+ # $3}"
		failed=$((failed + 1))
	fi
}

# Report of a fixture equals its reviewed output, and the tool exits with the status expected.
report_case() { # name fixture want_status [tool args...]
	local name=$1 fx=$T/fixtures/$2 want=$3
	shift 3
	"$TOOL" "$fx" "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err"
	local rc=$?
	# Judged against the reviewed file as it was: UPDATE=1 writes the new one only after the diff, so the
	# run that rewrites it still shows (and fails on) every difference.
	if [ $rc -ne "$want" ]; then
		result "$name" 1 "exit $rc, expected $want: $(head -c 200 "$OUT/$name.err")"
	elif ! diff -u "$T/expected/$name.txt" "$OUT/$name.txt" >"$OUT/$name.diff"; then
		result "$name" 1 "report differs from expected/$name.txt (see $OUT/$name.diff)"
	else
		result "$name" 0
	fi
	[ "${UPDATE:-0}" = 1 ] && cp "$OUT/$name.txt" "$T/expected/$name.txt"
}

no_traceback() { ! grep -q Traceback "$1"; }

echo "TAP version 13"
report_case demo_report demo.log 0
report_case demo_check demo.log 0 --check-vmallocinfo
report_case flood_drops flood.log 0
report_case replay_model replay.log 0 --check-vmallocinfo
report_case mismatch_fails mismatch.log 1 --check-vmallocinfo
report_case malformed_lines malformed.log 0
report_case malformed_check_without_listing malformed.log 1 --check-vmallocinfo
# programs/hello under `make trace INIT=/hello`: its heap grows and shrinks as one area resized in place.
report_case heap_report heap.log 0 --check-vmallocinfo
# The same program on a kernel whose events carry sys/upc/ucaller: call sites as addresses (no ELF).
report_case hello_calls_report hello_calls.log 0 --check-vmallocinfo --elves ''

# Timelines: well formed, slices nested per track, one instant per event and one slice per purge of the
# report written from the same log. And the checker itself fails on a timeline that breaks those rules.
timeline_case() { # name fixture [check args...]
	local name=$1 fx=$T/fixtures/$2
	shift 2
	"$TOOL" "$fx" --elves '' -o "$OUT/$name.txt" --timeline "$OUT/$name.json" 2>"$OUT/$name.err" &&
		tests/trace/check_timeline.py "$OUT/$name.json" "$OUT/$name.txt" "$@" >"$OUT/$name.check" 2>&1
	result "$name" $? "$(tail -n +2 "$OUT/$name.check" | head -c 300)"
}
timeline_case timeline_demo demo.log
timeline_case timeline_hello_calls hello_calls.log
python3 - "$OUT/timeline_hello_calls.json" "$OUT/tl-missing.json" "$OUT/tl-overlap.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
ev = doc["traceEvents"]
first = next(i for i, e in enumerate(ev) if e["ph"] == "i")
json.dump(dict(doc, traceEvents=ev[:first] + ev[first + 1:]), open(sys.argv[2], "w"))
calls = [e for e in ev if e["ph"] == "X" and e["cat"] == "syscall"]
calls[0]["dur"] = calls[1]["ts"] - calls[0]["ts"] + calls[1]["dur"] / 2 + 1  # ends inside the next call
json.dump(doc, open(sys.argv[3], "w"))
EOF
! tests/trace/check_timeline.py "$OUT/tl-missing.json" "$OUT/timeline_hello_calls.txt" >"$OUT/tl-missing.check" &&
	grep -q "instants per kind" "$OUT/tl-missing.check"
result timeline_check_fails_on_a_missing_instant $? "$(head -c 200 "$OUT/tl-missing.check")"
! tests/trace/check_timeline.py "$OUT/tl-overlap.json" "$OUT/timeline_hello_calls.txt" >"$OUT/tl-overlap.check" &&
	grep -q "without nesting" "$OUT/tl-overlap.check"
result timeline_check_fails_on_overlapping_slices $? "$(head -c 200 "$OUT/tl-overlap.check")"
# ev=purge naming the remote fence's mechanism (remote=sbi|ipi|none) is counted by mechanism; an unknown
# word is a malformed line. The older fixtures above carry remote=1 and must read as before.
report_case purge_mechanisms purge_mech.log 0

# The same log through stdin gives the same report but for the name of its source.
"$TOOL" - <$T/fixtures/replay.log >"$OUT/stdin.txt" 2>&1
rc=$?
"$TOOL" $T/fixtures/replay.log >"$OUT/file.txt" 2>&1
[ $rc -eq 0 ] && grep -qx 'vmtrace report: stdin' "$OUT/stdin.txt" && diff -q <(sed 1d "$OUT/stdin.txt") <(sed 1d "$OUT/file.txt") >/dev/null
result stdin_same_report $? "exit $rc"

# Pictures. The SVG is text: its mapped-pages collection (the last in the arena panel, edged in black)
# must hold one box per area the log allocates, counted here from the log's ev=alloc lines. The PNG must
# decode to the figure's size (12 x 8 in at 100 dpi) and show the first colour key's boxes (read with the
# python the tool runs under, tools/vmtrace.py's, which has matplotlib).
rm -f "$OUT/arena.png" "$OUT/arena.svg"
"$TOOL" $T/fixtures/replay.log -o /dev/null --plot "$OUT/arena.png" 2>"$OUT/png.err"
rc=$?
[ $rc -eq 0 ] && /usr/bin/python3 - "$OUT/arena.png" >>"$OUT/png.err" 2>&1 <<'EOF'
import sys
import matplotlib.image as mpimg
import numpy as np
img = mpimg.imread(sys.argv[1])
rgb = (img[:, :, :3] * 255).round().astype(int)
# tab10's first colour is the first key's, in the arena panel (the top two thirds; the lower panel draws
# its line in that colour too): its legend patch is a few hundred pixels, the boxes tens of thousands.
top = rgb[:520]
blue = np.all(np.abs(top - (31, 119, 180)) <= 2, axis=2).sum()
print("png %dx%d, %d pixels of the first key's colour in the arena panel" % (img.shape[1], img.shape[0], blue))
sys.exit(0 if img.shape[:2] == (800, 1200) and blue >= 5000 else 1)
EOF
result plot_png $? "exit $rc $(head -c 200 "$OUT/png.err")"
"$TOOL" $T/fixtures/demo.log -o /dev/null --plot "$OUT/arena.svg" --colour task 2>"$OUT/svg.err"
rc=$?
allocs=$(grep -c ' ev=alloc ' $T/fixtures/demo.log)
[ $rc -eq 0 ] && grep -q '65 init' "$OUT/arena.svg" && python3 - "$OUT/arena.svg" "$allocs" >>"$OUT/svg.err" 2>&1 <<'EOF'
import sys
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
axes = [g for g in root.iter(ns + "g") if g.get("id", "").startswith("axes_")][0]
colls = [g for g in axes.iter(ns + "g") if g.get("id", "").startswith("PatchCollection_")]
boxes = len(list(colls[-1].iter(ns + "path"))) if colls else 0
print("svg: %d mapped boxes for %s allocations" % (boxes, sys.argv[2]))
sys.exit(0 if boxes == int(sys.argv[2]) > 0 else 1)
EOF
result plot_svg_by_task_box_per_area $? "exit $rc $(head -c 200 "$OUT/svg.err")"

# Hostile input: random bytes and random cuts of real trace lines never crash the tool.
python3 - "$OUT/garbage.log" <<'EOF'
import random, sys
rnd = random.Random(5)
real = open("tests/trace/fixtures/demo.log", "rb").read().splitlines()
with open(sys.argv[1], "wb") as f:
    for i in range(3000):
        kind = rnd.randrange(4)
        if kind == 0:
            f.write(bytes(rnd.randrange(256) for _ in range(rnd.randrange(120))) + b"\n")
        elif kind == 1:
            line = rnd.choice(real)
            f.write(line[:rnd.randrange(len(line) + 1)] + b"\n")
        elif kind == 2:
            line = bytearray(rnd.choice(real))
            for _ in range(3):
                if line:
                    line[rnd.randrange(len(line))] = rnd.randrange(32, 127)
            f.write(bytes(line) + b"\n")
        else:
            f.write(b"@T " + b" ".join(b"%s=%s" % (rnd.choice([b"seq", b"ev", b"addr", b"t", b"pages"]),
                    rnd.choice([b"alloc", b"free", b"purge", b"0x", b"-1", b"99999999999999999999", b'"'])) for _ in
                    range(rnd.randrange(12))) + b"\n")
EOF
"$TOOL" "$OUT/garbage.log" --plot "$OUT/garbage.png" >"$OUT/garbage.txt" 2>&1
rc=$?
[ $rc -eq 0 ] && no_traceback "$OUT/garbage.txt" && grep -q '^anomalies: [1-9]' "$OUT/garbage.txt"
result hostile_bytes_reported_not_fatal $? "exit $rc"

"$TOOL" "$OUT/no-such-file.log" >"$OUT/missing.txt" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q 'cannot read' "$OUT/missing.txt" && no_traceback "$OUT/missing.txt"
result missing_file_is_usage_error $? "exit $rc"
"$TOOL" $T/fixtures/demo.log --plot "$OUT/arena.gif" >"$OUT/badplot.txt" 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q 'png or .svg' "$OUT/badplot.txt"
result bad_plot_name_is_usage_error $? "exit $rc"

# The live boot: replayed end state must equal the kernel's own listing, with no anomaly at all.
if [ $# -ge 1 ]; then
	"$TOOL" "$1" --check-vmallocinfo >"$OUT/live.txt" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q '^anomalies: 0 ' "$OUT/live.txt" && grep -q '^vmallocinfo check: ok' "$OUT/live.txt" &&
		grep -q ' ev=region ' "$1"
	result live_boot_matches_vmallocinfo $? "exit $rc; see $OUT/live.txt"
	# make trace's workload purges during the run (a low threshold): every purge names what it releases.
	grep -q '^purges: [1-9]' "$OUT/live.txt" && ! grep -q 'guessed' "$OUT/live.txt"
	result live_boot_purges_released_exactly $? "see $OUT/live.txt"
	# Every user-caused event says which call (sys=) and is attributed to a kernel function, never to the
	# trap handler the dispatch could be inlined into; its timeline passes the format and count checks.
	grep -q ' sys=shm_create .*caller=sys_shm_create+' "$1" && ! grep -q 'caller=trap_handler' "$1"
	result live_boot_names_no_trap_handler $? "$(grep -m1 'caller=trap_handler' "$1" | head -c 200)"
	# Areas a grow moved name where they went (the kernel traces the move's line after the old area's
	# free, so the replay keeps the freed area to link it; before, not one of 62 moves was named). The
	# report lists the first rows only: each listed is checked against the log.
	moves=$(grep -c ' mode=moved ' "$1")
	named=$(grep -c 'moved to 0x' "$OUT/live.txt")
	bad=0
	while read -r from to; do
		grep -q " ev=realloc addr=$from new=$to .* mode=moved " "$1" || bad=$((bad + 1))
	done < <(sed -n 's/^  \(0x[0-9a-f]*\) .* moved to \(0x[0-9a-f]*\)$/\1 \2/p' "$OUT/live.txt")
	[ "$moves" -gt 0 ] && [ "$named" -gt 0 ] && [ "$bad" -eq 0 ]
	result live_boot_moves_named $? "$moves moves traced, $named named, $bad not in the log; see $OUT/live.txt"
	"$TOOL" "$1" -o "$OUT/live-tl.txt" --timeline "$OUT/live.json" &&
		tests/trace/check_timeline.py "$OUT/live.json" "$OUT/live-tl.txt" >"$OUT/live-tl.check" 2>&1
	result live_boot_timeline $? "$(tail -n +2 "$OUT/live-tl.check" | head -c 300)"
fi
# A live boot of /hello: its heap's areas are named by the lines of programs/hello.c that grew them, in the
# report and in the timeline (through build/user/hello's DWARF).
if [ $# -ge 2 ]; then
	"$TOOL" "$2" -o "$OUT/hello-live.txt" --timeline "$OUT/hello-live.json" --elves "${BUILD:-build}/user" &&
		sed -n '/^by user call site/,/^$/p' "$OUT/hello-live.txt" | grep -Eq '^  [0-9]+ \(hello\) +programs/hello\.c:[0-9]+ main +1 +[1-9]' &&
		tests/trace/check_timeline.py "$OUT/hello-live.json" "$OUT/hello-live.txt" --site programs/hello.c: \
			>"$OUT/hello-live.check" 2>&1
	result live_hello_names_its_lines $? "see $OUT/hello-live.txt, $OUT/hello-live.check"
	# Its purges fence the other hart by the mechanism the boot report names, and say so.
	mech=$(sed -n 's/^tlb: remote fences by \([a-z]*\):.*/\1/p' "$1" | head -1)
	[ -n "$mech" ] && grep -Eq "^  full flushes=.* remote fences=[1-9][0-9]* \(by $mech [1-9]" "$OUT/live.txt"
	result live_boot_purges_name_mechanism $? "mechanism '$mech'; see $OUT/live.txt"
fi

# A live boot where a task writes lines shaped like the kernel's trace records, listing rows and reports,
# and leaves a line open before a traced system call: the tool finds none of them, and the kernel's own
# records, the one after the open line included, all parse.
if [ $# -ge 3 ]; then
	"$TOOL" "$3" --check-vmallocinfo >"$OUT/forgery.txt" 2>&1
	rc=$?
	[ $rc -eq 0 ] && grep -q '^anomalies: 0 ' "$OUT/forgery.txt" && grep -q '^vmallocinfo check: ok' "$OUT/forgery.txt" &&
		! grep -q 'forged_by_task\|deadb' "$OUT/forgery.txt" && grep -q '^@T .* sys=shm_create ' "$3"
	result live_forgery_finds_nothing $? "exit $rc; see $OUT/forgery.txt"
fi

echo "1..$n"
[ $failed -eq 0 ]

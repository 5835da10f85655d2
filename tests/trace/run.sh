#!/usr/bin/env bash
# Tests of tools/vmtrace.py on recorded logs (fixtures/: a real demo boot, a real drop flood from the
# `trace` suite, a real boot of programs/hello with its growing heap, hand-made replay/mismatch/malformed
# logs) against reviewed outputs (expected/), plus the
# pictures, stdin, hostile bytes and bad usage. Optional $1: the log of a live boot with
# `trace=all vmallocinfo`, replayed and checked against its own vmallocinfo listing.
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
	[ "${UPDATE:-0}" = 1 ] && cp "$OUT/$name.txt" "$T/expected/$name.txt"
	if [ $rc -ne "$want" ]; then
		result "$name" 1 "exit $rc, expected $want: $(head -c 200 "$OUT/$name.err")"
	elif ! diff -u "$T/expected/$name.txt" "$OUT/$name.txt" >"$OUT/$name.diff"; then
		result "$name" 1 "report differs from expected/$name.txt (see $OUT/$name.diff)"
	else
		result "$name" 0
	fi
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
# ev=purge naming the remote fence's mechanism (remote=sbi|ipi|none) is counted by mechanism; an unknown
# word is a malformed line. The older fixtures above carry remote=1 and must read as before.
report_case purge_mechanisms purge_mech.log 0

# The same log through stdin gives the same report but for the name of its source.
"$TOOL" - <$T/fixtures/replay.log >"$OUT/stdin.txt" 2>&1
rc=$?
"$TOOL" $T/fixtures/replay.log >"$OUT/file.txt" 2>&1
[ $rc -eq 0 ] && grep -qx 'vmtrace report: stdin' "$OUT/stdin.txt" && diff -q <(sed 1d "$OUT/stdin.txt") <(sed 1d "$OUT/file.txt") >/dev/null
result stdin_same_report $? "exit $rc"

# Pictures: a real PNG and a real SVG, each with a box per area (the SVG is text: count the patches).
rm -f "$OUT/arena.png" "$OUT/arena.svg"
"$TOOL" $T/fixtures/replay.log -o /dev/null --plot "$OUT/arena.png" 2>"$OUT/png.err"
rc=$?
[ $rc -eq 0 ] && [ "$(head -c 8 "$OUT/arena.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
result plot_png $? "exit $rc $(head -c 200 "$OUT/png.err")"
"$TOOL" $T/fixtures/demo.log -o /dev/null --plot "$OUT/arena.svg" --colour task 2>"$OUT/svg.err"
rc=$?
[ $rc -eq 0 ] && grep -q '<svg' "$OUT/arena.svg" && grep -q '65 init' "$OUT/arena.svg"
result plot_svg_by_task $? "exit $rc $(head -c 200 "$OUT/svg.err")"

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
	# Its purges fence the other hart by the mechanism the boot report names, and say so.
	mech=$(sed -n 's/^tlb: remote fences by \([a-z]*\):.*/\1/p' "$1" | head -1)
	[ -n "$mech" ] && grep -Eq "^  full flushes=.* remote fences=[1-9][0-9]* \(by $mech [1-9]" "$OUT/live.txt"
	result live_boot_purges_name_mechanism $? "mechanism '$mech'; see $OUT/live.txt"
fi

echo "1..$n"
[ $failed -eq 0 ]

#!/usr/bin/env bash
# `make trace`: boots `make run`'s demo with every trace class on and the vmallocinfo listing at power-off,
# keeps the console in build/trace/uart.log, and turns it into build/trace/report.txt, arena.png and the
# timeline trace.json (ui.perfetto.dev or chrome://tracing) with tools/vmtrace.py, which also checks its
# replay against the listing. SMP, MEM, INIT and BOOTARGS as for run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=$BUILD/trace
mkdir -p "$OUT"
make -s kernel "$BUILD/initrd.cpio" || exit 1
# INIT=/prog traces that program; otherwise the four-task workload, with a lazy-purge threshold low enough
# that purges happen during it.
if [ -n "${INIT:-}" ]; then WORKLOAD="init=$INIT ${BOOTARGS:-}"
else WORKLOAD=${BOOTARGS:-init=/demo_workload vmalloc.lazy_max_pages=256}; fi
timeout "${TRACE_TIMEOUT:-300}" qemu-system-riscv64 -machine virt -bios default -nographic -no-reboot \
	-smp "${SMP:-2}" -m "${MEM:-256M}" -kernel "$BUILD/kernel.bin" -initrd "$BUILD/initrd.cpio" \
	-append "trace=all vmallocinfo $WORKLOAD" </dev/null 2>&1 | tr -d '\r' >"$OUT/uart.log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 124 ] && echo "make trace: the boot timed out; reporting on what was logged"
tools/vmtrace.py "$OUT/uart.log" -o "$OUT/report.txt" --plot "$OUT/arena.png" --timeline "$OUT/trace.json" \
	--elves "$BUILD/user" --check-vmallocinfo
st=$?
sed -n '1,/^fragmentation/p' "$OUT/report.txt" | sed '$d'
grep -E '^(anomalies|vmallocinfo check):' "$OUT/report.txt"
echo "make trace: log $OUT/uart.log, report $OUT/report.txt, picture $OUT/arena.png, timeline $OUT/trace.json"
echo "  (open the timeline at https://ui.perfetto.dev or chrome://tracing: Open trace file)"
exit $st

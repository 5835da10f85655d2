#!/usr/bin/env bash
# The trace's cost figure for `make bench`: test_vmalloc's fix_size_alloc_test under -icount shift=0 (one
# guest nanosecond per instruction, so avg usec * 1000 / loops is instructions per loop, repeatable) on
# three kernels: tracing compiled in and off, compiled out (-DTRACE_COMPILED_OUT), and compiled in and on.
# The issue's bar is in/off within 1% of out: an off event site is one load and one predictable branch.
# Prints a table and the verdict; fails only when a kernel does not build or a boot gives no figure.
set -u
cd "$(dirname "$0")/.."
BASE=${BUILD:-build}
LOGS=$BASE/bench-logs
LOOPS=${LOOPS:-100000}
mkdir -p "$LOGS"
ARGS="test=test_vmalloc test_vmalloc.run_test_mask=1 test_vmalloc.test_loop_count=$LOOPS test_vmalloc.nr_threads=1"
status=0

build() { # build-dir extra-cflags
	make -s kernel BUILD="$1" EXTRA_CFLAGS="$2" ${KSRC:+KSRC="$KSRC"} >"$LOGS/trace-build-$(basename "$1").log" 2>&1 ||
		{ echo "bench_trace: building $1 failed (see $LOGS/trace-build-$(basename "$1").log)"; return 1; }
}

# Prints instructions per loop of fix_size_alloc_test, or nothing.
figure() { # name build-dir bootargs
	local log=$LOGS/trace-$1.log
	timeout "${BENCH_TIMEOUT:-1800}" qemu-system-riscv64 -machine virt -bios default -nographic -no-reboot \
		-icount shift=0 -smp 1 -m 1G -kernel "$2/kernel.bin" -append "$3" </dev/null 2>&1 | tr -d '\r' >"$log"
	awk '$1 == "Summary:" && $2 == "fix_size_alloc_test" {
		for (i = 1; i < NF; i++) { if ($i == "loops:") l = $(i + 1); if ($i == "avg:") a = $(i + 1) }
		if (l > 0) printf "%d\n", a * 1000 / l }' "$log"
}

build "$BASE/bench-trace-in" "" || exit 1
build "$BASE/bench-trace-out" "-DTRACE_COMPILED_OUT" || exit 1
in_off=$(figure in-off "$BASE/bench-trace-in" "$ARGS")
out=$(figure out "$BASE/bench-trace-out" "$ARGS")
in_on=$(figure in-on "$BASE/bench-trace-in" "$ARGS trace=all")
drops=$(grep -c ' ev=drop ' "$LOGS/trace-in-on.log")

echo "== trace cost: fix_size_alloc_test, 1 hart, $LOOPS loops, instructions per loop (-icount shift=0)"
printf '%-34s %14s %9s\n' kernel insns/loop vs_out
row() { # label value
	if [ -z "$2" ]; then
		printf '%-34s %14s %9s\n' "$1" "no figure" -
		status=1
	elif [ -n "$out" ]; then
		printf '%-34s %14d %9s\n' "$1" "$2" "$(awk -v a="$2" -v b="$out" 'BEGIN { printf "%.4f", a / b }')"
	else
		printf '%-34s %14d %9s\n' "$1" "$2" -
	fi
}
row "compiled out (-DTRACE_COMPILED_OUT)" "$out"
row "compiled in, off" "$in_off"
row "compiled in, on (trace=all)" "$in_on"
echo "(in, on: $drops drop markers; the console cannot keep up with 2 events per loop, by design it drops)"
if [ -n "$in_off" ] && [ -n "$out" ]; then
	awk -v a="$in_off" -v b="$out" 'BEGIN { d = (a - b) * 100 / b
		printf "in/off vs out: %+.2f%% (%s the 1%% bar)\n", d, (d <= 1 && d >= -1) ? "within" : "OUTSIDE" }'
fi
[ $status -eq 0 ] || echo "bench_trace: a boot gave no figure (logs in $LOGS/trace-*.log)"
exit $status

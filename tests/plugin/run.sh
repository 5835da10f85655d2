#!/usr/bin/env bash
# `make test`'s check of tools/hart_insns.c, the QEMU plugin `make bench` section 7 counts per-hart
# instructions with: built with the host compiler, loaded into short vm_tail_bench boots under icount,
# its report judged against what the kernel itself knows. KTAP on stdout.
#   loads_and_boots      the boots with the plugin loaded pass their suites, and it writes a report
#   calibration_exact    the calibration window (a loop of known length, interrupts off) counts exactly
#                        the instructions and the atomic instructions the kernel says it marked
#   agrees_with_icount   on one hart the clock advances one tick per instruction (shift=0, 100 per
#                        rdtime tick): the median call's count and rdtime's agree within the counter reads
#                        the plugin's window also holds and one tick either side
#   every_call_counted   on two harts, each series has a sample per call made (calls x harts) from both
#                        harts, and no mark was out of order or dropped
#   profile_names_code   the profile of the call with the most work names kernel functions
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
LOGS=$BUILD/test-logs
CALLS=300
mkdir -p "$LOGS"
echo "TAP version 13"
echo "1..5"
n=0
check() { # name condition-status [reason]
	n=$((n + 1))
	if [ "$2" = 0 ]; then echo "ok $n $1"; else echo "not ok $n $1${3:+ # $3}"; fi
}
make -s plugin kernel >"$LOGS/plugin-build.log" 2>&1 || { echo "# build failed (see $LOGS/plugin-build.log)"; }
plugin=$BUILD/tools/hart_insns.so
run() { # name smp
	rm -f "$LOGS/plugin-$1.out"
	timeout 300 qemu-system-riscv64 -machine virt -bios default -nographic -no-reboot -icount shift=0 -smp "$2" \
		-m 512M -kernel "$BUILD/kernel.bin" -append "test=vm_tail_bench vm_tail.calls=$CALLS tlb.remote=ipi" \
		-plugin "$plugin,out=$LOGS/plugin-$1.out,profile=1" </dev/null 2>&1 | tr -d '\r' >"$LOGS/plugin-$1.log"
	grep -q '# ktest: 1 suites, 0 failed' "$LOGS/plugin-$1.log" && [ -s "$LOGS/plugin-$1.out" ]
}
run smp1 1
r1=$?
run smp2 2
r2=$?
check loads_and_boots $((r1 | r2)) "see $LOGS/plugin-smp1.log, plugin-smp2.log"

want=$(sed -n 's/^bench: tail: calibration window marked: \([0-9]*\) instructions, \([0-9]*\) atomic$/\1 \1 \2/p' "$LOGS/plugin-smp1.log")
got=$(sed -n 's/^hart_insns: series=3 .* work p50=\([0-9]*\) .* max=\([0-9]*\) .*/\1 \2/p' "$LOGS/plugin-smp1.out")
got="$got $(sed -n 's/^hart_insns: series=3 atomics per plain call: p50=\([0-9]*\) .*/\1/p' "$LOGS/plugin-smp1.out")"
[ -n "$want" ] && [ "$got" = "$want" ]
check calibration_exact $? "marked (instructions p50, max, atomics) ${want:-?}, counted ${got:-nothing}"

# rdtime's p50 is in whole ticks of 100 instructions; the plugin's window also holds the reads of the
# hart's counters and the rdtime after the call (under 100 instructions).
ns=$(sed -n 's/^bench: tail: fix_size harts=1 .* p50_ns=\([0-9]*\) .*/\1/p' "$LOGS/plugin-smp1.log")
pl=$(sed -n 's/^hart_insns: series=0 harts=1 .* work p50=\([0-9]*\) .*/\1/p' "$LOGS/plugin-smp1.out")
[ -n "$ns" ] && [ -n "$pl" ] && [ "$pl" -ge $((ns - 100)) ] && [ "$pl" -le $((ns + 200)) ]
check agrees_with_icount $? "rdtime p50 ${ns:-?} ns, plugin p50 ${pl:-?} instructions"

ok=0
for s in 0 1; do
	grep -q "^hart_insns: series=$s harts=2 calls=$((CALLS * 2)) " "$LOGS/plugin-smp2.out" || ok=1
done
grep -q '^hart_insns: marks out of order=0 samples dropped=0$' "$LOGS/plugin-smp2.out" || ok=1
check every_call_counted $ok "$(grep -E '^hart_insns: (series=[01] harts|marks)' "$LOGS/plugin-smp2.out" | cut -c1-80 | tr '\n' ';')"

prof=$(python3 tools/hart_insns_profile.py "$BUILD/kernel.elf" "$LOGS/plugin-smp2.out" 3 0 "${CROSS:-riscv64-unknown-elf-}nm" 2>&1)
echo "$prof" | sed 's/^/# /'
echo "$prof" | grep -q '^call with the most work: series=0 kind=plain' &&
	echo "$prof" | grep -Eq '^ +[0-9]+ +[0-9.]+% (vfree|__vmalloc_owner|vmalloc|pt_kr_[a-z_]+|sbi \(OpenSBI, M-mode\))$'
check profile_names_code $? "no kernel function named"

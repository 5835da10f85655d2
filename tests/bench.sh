#!/usr/bin/env bash
# `make bench`: the test_vmalloc port and the vm_bench suite, 1 GiB, beside Linux 6.12's figures from the
# same QEMU (../shared/peer/README.md). One-hart runs use -icount shift=0 (one guest nanosecond per
# instruction, so figures are instruction counts and repeat run to run); runs on several harts use parallel
# vCPUs and say why below. Prints figures only: nothing here fails on time.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/bench-logs
LOOPS=${LOOPS:-100000}
mkdir -p "$LOGS"
make -s kernel || exit 1

boot() { # name smp bootargs [icount: 1 (default) or 0]
	local log=$LOGS/$1.log clock=(-icount shift=0)
	[ "${4:-1}" = 0 ] && clock=()
	timeout "${BENCH_TIMEOUT:-1800}" qemu-system-riscv64 -machine virt -bios default -nographic -no-reboot \
		"${clock[@]}" -smp "$2" -m 1G -kernel "$BUILD/kernel.bin" -append "$3" </dev/null 2>&1 |
		tr -d '\r' >"$log"
	grep -q '# ktest: .* 0 failed' "$log" || echo "bench: boot $1 did not pass its suites (see $log)"
}

# Linux 6.12, 1 hart, 1 GiB, 100000 loops: instructions per loop.
declare -A LINUX=([fix_size_alloc_test]=4144 [full_fit_alloc_test]=5571 [long_busy_list_alloc_test]=64084
	[random_size_alloc_test]=30883 [fix_align_alloc_test]=11016 [random_size_align_alloc_test]=10500
	[kvfree_rcu_1_arg_vfree_test]=4677 [kvfree_rcu_2_arg_vfree_test]=4765 [vm_map_ram_test]=1252)

compare() { # log
	grep -E '^(Summary|All test took)' "$1"
	echo
	printf '%-30s %12s %12s %7s\n' case ours/loop linux/loop ratio
	grep '^Summary' "$1" | while read -r _ name _ _ _ _ _ _ _ loops _ avg _; do
		ours=$((avg * 1000 / loops))
		linux=${LINUX[$name]:-}
		if [ -n "$linux" ]; then
			printf '%-30s %12d %12d %7s\n' "$name" "$ours" "$linux" \
				"$(awk -v a="$ours" -v b="$linux" 'BEGIN { printf "%.2f", a / b }')"
		else
			printf '%-30s %12d %12s %7s\n' "$name" "$ours" - -
		fi
	done
}

ARGS="test_vmalloc.test_loop_count=$LOOPS test_vmalloc.sequential_test_order=1"
echo "== test_vmalloc: 1 hart, mask 1983, $LOOPS loops (instructions per loop = avg usec * 1000 / loops)"
boot tv-smp1 1 "test=test_vmalloc test_vmalloc.run_test_mask=1983 test_vmalloc.nr_threads=1 $ARGS"
compare "$LOGS/tv-smp1.log"
echo
# Several harts are measured without icount, on purpose. Under -icount QEMU runs every vCPU in one thread,
# round robin, and the shared virtual clock advances with whichever vCPU runs: a worker's figure then
# includes the other workers' instructions, and a vCPU descheduled inside a critical section or while
# its TLB-fence IPI is pending makes every other vCPU spin out its whole time slice. Those figures
# measure QEMU's scheduler, not the allocator (2000 loops of random_size took 2.4 M "instructions" per
# loop, and with Sstc on QEMU 7.2 such a boot can stop making progress altogether). So: real parallel
# vCPUs, wall-clock microseconds (noisy, never compared or gated), and the deterministic counters.
echo "== test_vmalloc: fix_size and random_size, 4 workers on 4 harts, $LOOPS loops, parallel vCPUs, wall clock"
boot tv-smp4 4 "test=test_vmalloc test_vmalloc.run_test_mask=9 test_vmalloc.nr_threads=4 $ARGS" 0
grep -E '^(Summary|All test took)' "$LOGS/tv-smp4.log"
grep -E '^(Summary)' "$LOGS/tv-smp4.log" | awk '{ n[$2]++; s[$2] += $12 * 1000 / $10 }
	END { for (k in n) printf "%-30s mean %8.0f ns per loop per worker (wall clock, %d workers)\n", k, s[k] / n[k], n[k] }' | sort
echo
echo "== scaling: instructions per 1-page vmalloc+vfree against live areas (1 hart, icount)"
boot vm-bench-scaling 1 "test=vm_bench"
grep '^bench: \(calibration\|scaling\)' "$LOGS/vm-bench-scaling.log" | sed 's/^bench: //'
echo
echo "== fences per 10^5 single-page vfrees on 4 harts (in-kernel counters)"
boot vm-bench-fences 4 "test=vm_bench" 0
grep '^bench: fences' "$LOGS/vm-bench-fences.log" | sed 's/^bench: //'

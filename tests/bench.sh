#!/usr/bin/env bash
# `make bench`: the test_vmalloc port and the vm_bench suite under -icount shift=0 (one guest nanosecond per
# instruction, so figures are instruction counts and repeat run to run), 1 GiB, beside Linux 6.12's figures
# from the same QEMU (../shared/peer/README.md). Prints figures only: nothing here fails on time.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/bench-logs
LOOPS=${LOOPS:-100000}
mkdir -p "$LOGS"
make -s kernel || exit 1

boot() { # name smp bootargs
	local log=$LOGS/$1.log
	timeout "${BENCH_TIMEOUT:-1800}" qemu-system-riscv64 -machine virt -bios default -nographic -no-reboot \
		-icount shift=0 -smp "$2" -m 1G -kernel "$BUILD/kernel.bin" -append "$3" </dev/null 2>&1 |
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
echo "== test_vmalloc: fix_size and random_size, 4 workers on 4 harts, $LOOPS loops"
boot tv-smp4 4 "test=test_vmalloc test_vmalloc.run_test_mask=9 test_vmalloc.nr_threads=4 $ARGS"
compare "$LOGS/tv-smp4.log"
echo
echo "== scaling (1-page vmalloc+vfree vs live areas) and fences per 10^5 single-page vfrees, 4 harts"
boot vm-bench 4 "test=vm_bench"
grep '^bench:' "$LOGS/vm-bench.log" | sed 's/^bench: //'

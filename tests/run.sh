#!/usr/bin/env bash
# The test runner behind `make test`: host unit tests, then the QEMU boot matrix (tests/boots.txt) and the
# user-program boots. Counts every KTAP case line, checks every plan, prints each failure, and ends with
# "N passed, N failed, N skipped" (a skipped case checks nothing: it is not a pass). The bookkeeping and the
# verdicts live in tests/ktap_lib.sh, which tests/runner_selftest.sh (run first) checks on made-up logs.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
# shellcheck source=tests/ktap_lib.sh
. tests/ktap_lib.sh

echo "== runner self-test"
# The runner's own judgements against made-up logs and a deliberately broken build (a few seconds).
log=$LOGS/runner-selftest.log
tests/runner_selftest.sh >"$log" 2>&1
rc=$?
before=$fail
count_ktap "$log" flat runner-selftest 1
[ $rc -ne 0 ] && [ $fail -eq $before ] && bad "runner self-test exited with status $rc (see $log)"
echo "runner self-test: exit $rc"

echo "== build"
if ! build_all; then
	cat "$LOGS/build.log"
	summary_line
	exit 1
fi

echo "== host unit tests"
for name in $(make -s print-host-tests); do
	t=$BUILD/host/$name
	[ -x "$t" ] || continue # did not build: already counted
	log=$LOGS/host-$name.log
	hargs=()
	[ "$name" = test_fdt ] && hargs=("$BUILD/dtbs")
	[ "$name" = test_elf_cpio ] && hargs=("$BUILD/initrd.cpio" $BUILD/user/*)
	timeout 300 "$t" "${hargs[@]}" >"$log" 2>&1
	rc=$?
	before=$fail
	count_ktap "$log" flat "$name" 1
	if [ $rc -ne 0 ] && [ $fail -eq $before ]; then bad "$name exited with status $rc (see $log)"; tail -5 "$log"; fi
	echo "$name: exit $rc"
done

# Runs a check that prints KTAP (the command after the first four words) into LOG and counts its cases as
# TAG (REQ_PLAN as count_ktap's); an exit status other than 0 with no failing case is a failure too. Prints
# "LABEL: exit N, M failures", and the check's comment lines when it failed.
ktap_check() { # label log tag req_plan command...
	local label=$1 log=$2 tag=$3 req=$4 rc before
	shift 4
	"$@" >"$log" 2>&1
	rc=$?
	before=$fail
	count_ktap "$log" flat "$tag" "$req"
	[ $rc -ne 0 ] && [ $fail -eq $before ] && bad "$label exited with status $rc (see $log)"
	[ $fail -ne $before ] && grep '^#' "$log" | head -20
	echo "$label: exit $rc, $((fail - before)) failures"
}

echo "== layers"
# The architecture rule (tools/layers.txt) against the include graph and the kernel objects' symbols.
ktap_check layer_check "$LOGS/layer_check.log" layer_check 0 python3 tools/layer_check.py "$BUILD"
# docs/abi.md against include/vmk/abi.h and errno.h: every name and number in both, the same.
ktap_check abi_doc_check "$LOGS/abi_doc_check.log" abi_doc_check 0 python3 tools/abi_doc_check.py

# A short libFuzzer run of the device-tree reader (longer ones: make fuzz FUZZ_SECONDS=...).
if make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}" >"$LOGS/fuzz_fdt.log" 2>&1; then ok; else bad "fuzz_fdt found a crash or did not build (see $LOGS/fuzz_fdt.log)"; fi
echo "fuzz_fdt: $(grep -Eo 'Done [0-9]+ runs' "$LOGS/fuzz_fdt.log" || echo failed)"

boot() { # name smp mem dtb bootargs expect regex [initrd] [machine: MACHINE [numa=N] [image=debug] [extra QEMU args]] [timeout]
	local name=$1 smp=$2 mem=$3 dtb=$4 args=$5 expect=$6 regex=$7 initrd=${8:-} mspec=${9:-virt} limit=${10:-}
	local log=$LOGS/boot-$name.log machine numa=1 extra=() w kernel=$BUILD/kernel.bin
	read -r machine rest <<<"$mspec"
	for w in $rest; do
		case "$w" in numa=*) numa=${w#numa=} ;; image=debug) kernel=$BUILD/debug/kernel.bin ;; *) extra+=("$w") ;; esac
	done
	local qargs
	read -r -a qargs <<<"$(tools/qemu-machine.sh "$machine" "$numa" "$smp" "$mem")"
	qargs+=(-bios default -nographic -no-reboot -kernel "$kernel" "${extra[@]}")
	[ "$dtb" != - ] && qargs+=(-dtb "$BUILD/dtbs/$dtb.dtb")
	[ -n "$initrd" ] && qargs+=(-initrd "$initrd")
	# \xNN in a boot line's arguments stands for that byte (control bytes cannot be written in boots.txt).
	[ "$args" != - ] && qargs+=(-append "$(printf '%b' "$args")")
	timeout "${limit:-${BOOT_TIMEOUT:-300}}" qemu-system-riscv64 "${qargs[@]}" </dev/null >"$log" 2>&1
	judge_boot "$name" "$args" "$expect" "$regex" "$log" $?
}

trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; printf '%s' "${v%"${v##*[![:space:]]}"}"; }

# The QEMU plugin make bench counts per-hart instructions with (tools/hart_insns.c), judged against what
# the kernel knows: a calibration window, icount's own clock, the calls made.
ktap_check "hart_insns plugin" "$LOGS/plugin-check.log" hart_insns-plugin 1 tests/plugin/run.sh
# tools/jit_profile.py, which names perf's samples of QEMU's translated code by guest function: its
# mapping, on a synthetic translation log and samples placed on two kernel functions.
ktap_check jit_profile "$LOGS/jit_profile.log" jit_profile 1 python3 tools/jit_profile.py --self-test "$BUILD/kernel.elf" \
	--nm "${CROSS:-riscv64-unknown-elf-}nm"

echo "== QEMU boots"
while IFS='|' read -r name smp mem dtb args expect regex machine limit; do
	name=$(trim "$name")
	case "$name" in '' | \#*) continue ;; esac
	machine=$(trim "$machine")
	[ "$machine" = - ] && machine=
	boot "$name" "$(trim "$smp")" "$(trim "$mem")" "$(trim "$dtb")" "$(trim "$args")" "$(trim "$expect")" "$(trim "$regex")" \
		"" "${machine:-virt}" "$(trim "$limit")"
done <tests/boots.txt

if [ -f "$BUILD/initrd.cpio" ]; then
	echo "== user programs"
	boot user-smp1 1 256M - "init=/init test" 0 "init exited with status 0" "$BUILD/initrd.cpio"
	boot user-smp4 4 512M - "init=/init test" 0 "init exited with status 0" "$BUILD/initrd.cpio"
	# Every user test again with SUM on only inside each copy (Linux's way), where the default keeps it
	# on while a task runs (kernel/uaccess.h): each copy path, fault and fixup must hold in both modes.
	boot user-smp2-sum-copy 2 256M - "init=/init test uaccess.sum=copy" 0 \
		"init exited with status 0 && uaccess: user memory reachable \\(sstatus.SUM\\) inside each copy" "$BUILD/initrd.cpio"
	# The same on the VM_DEBUG image: task-owned and shm areas, vrealloc moves and shrinks under the
	# asserted invariants, and the whole walk at init's leak check once every task is reaped.
	boot user-smp4-vmdebug 4 512M - "init=/init test" 0 "init exited with status 0" "$BUILD/initrd.cpio" "virt image=debug"
	# A huge shm_create with one free 2 MiB block and plenty of 4 KiB pages falls back (abi.h), as it did
	# when made in one go: small RAM, a quota big enough for two interleaved objects to fill it.
	boot user-huge-frag 1 96M - "init=/t_huge_frag vmalloc.task_quota_pages=65536" 0 \
		"^ok 1 huge_create_one_block_free" "$BUILD/initrd.cpio"
	# Wait/wake under load: six pairs of tasks, 250000 round trips each, on four harts, two pairs losing a
	# side to a kill at a random moment: at least a million round trips, every task ends, nothing leaks.
	boot ipc-stress-smp4 4 512M - "init=/t_futex stress 250000" 0 "pingpong_stress: [0-9]{7,} round trips in" "$BUILD/initrd.cpio"
	# The quota bootarg: init's own quota and its children's default.
	boot user-quota-bootarg 1 128M - "init=/t_attack quota64 vmalloc.task_quota_pages=64" 0 \
		"vmalloc.task_quota_pages=64 holds" "$BUILD/initrd.cpio"
	# Bad input at boot: an initrd that is not an archive, and an init that is not a program.
	boot bad-initrd 1 128M - "init=/init" 12 "initrd: not a usable newc archive" "$BUILD/user/not_elf"
	boot bad-init-elf 1 128M - "init=/not_elf" 13 "init: cannot start /not_elf" "$BUILD/initrd.cpio"
	# Init ends leaving a task that never stops: the kernel ends it too, then reaps, checks and powers off.
	boot init-leaves-a-spinner 2 128M - "init=/t_spawn leave-spinner" 0 \
		"init ended: killing 1 task\\(s\\) still running && init exited with status 0 && ok 1 kernel_leak_check" \
		"$BUILD/initrd.cpio"
	# ... or one spawning without end: the kill at init's end finds a task still being built, which must
	# only be marked (it dies before user mode), never woken without a context (an oops before).
	boot init-leaves-a-spawner 4 256M - "init=/t_spawn leave-spawner" 0 \
		"init ended: killing [0-9]+ task\\(s\\) still running && init exited with status 0 && ok 1 kernel_leak_check" \
		"$BUILD/initrd.cpio"
	boot init-killed 1 128M - "init=/t_fault load_null" 15 "killed: load page fault.* && init exited with status -1000 \\(killed\\) && ok 1 kernel_leak_check" "$BUILD/initrd.cpio"
	boot elf-over-quota 1 128M - "init=/huge_bss" 13 "spawn: /huge_bss needs 26[0-9]{4} pages for its segments, more than any task's quota \\(VMK_MAX_QUOTA_PAGES, 65536 pages\\)" "$BUILD/initrd.cpio"
	: >"$BUILD/empty.initrd"
	boot empty-initrd 1 128M - "init=/init" 12 "refused: the initrd is empty" "$BUILD/empty.initrd"
	# programs/*.c, built into the initrd by the documented rule and booted as `make run INIT=/name` does.
	boot program-hello 1 256M - "init=/hello" 0 "sorted 250000 numbers: 0 .. 249999" "$BUILD/initrd.cpio"
	# A kernel flag among init's bare words is the kernel's, not init's: one argument, and the listing.
	boot program-hello-flag-not-an-argument 1 256M - "vmallocinfo init=/hello one" 0 \
		"with 1 argument\\(s\\) && vmallocinfo: begin" "$BUILD/initrd.cpio"
	# "x=" is a key with an empty value, warned about as unknown and not init's: one argument, "y".
	boot program-hello-empty-value-not-an-argument 1 256M - "init=/hello x= y" 0 \
		"'x': unknown key, ignored && with 1 argument\\(s\\)" "$BUILD/initrd.cpio"
	# More bare words than init's argv holds are refused, not cut short in silence.
	boot init-too-many-arguments 1 64M - "init=/hello a1 a2 a3 a4 a5 a6 a7 a8 a9 a10 a11 a12 a13 a14 a15 a16" 14 \
		"bootargs: error: 16 arguments for init, at most 15" "$BUILD/initrd.cpio"
	# init's name as typed is printed escaped and cut, so the reason still ends the line.
	boot init-name-escaped 1 64M - "init=/a\\x1b[31mRED$(printf 'L%.0s' $(seq 1 200))" 13 \
		"init: cannot start /a\\\\x1b\\[31mREDL{54}\\.\\.\\.: no such file in the initrd" "$BUILD/initrd.cpio"
	boot program-bigsort 2 256M - "init=/bigsort" 0 "bigsort: 8388608 numbers in 64 MiB && bigsort: ok" \
		"$BUILD/initrd.cpio"
	# make trace's default workload (four tasks, hundreds of shm operations, purges during the run) with
	# every trace class on and the listing at power-off: no event may be dropped, and the replayed end
	# state must equal the kernel's own vmallocinfo (checked by the trace tool tests below).
	boot trace-live 2 256M - "trace=all vmallocinfo init=/demo_workload vmalloc.lazy_max_pages=256" 0 \
		"init exited with status 0" "$BUILD/initrd.cpio"
	# make trace INIT=/hello: the trace tool names the lines of programs/hello.c behind its heap.
	boot trace-hello 2 256M - "trace=all vmallocinfo init=/hello" 0 "sorted 250000 numbers" "$BUILD/initrd.cpio"
	# A task writing lines shaped like the kernel's trace records, listing rows and reports: each is
	# printed with a backslash first, and the trace tool finds none of them (tests/trace/run.sh, $3).
	boot trace-forgery 1 128M - "trace=all vmallocinfo init=/t_hostile forge" 0 \
		"^\\\\@T seq=999999 && ^\\\\vmalloc: vfree && ^\\\\0xffffffc0deadb000 && ^\\\\@T seq=999998 && init exited with status 0" \
		"$BUILD/initrd.cpio"
fi

echo "== trace tool"
live=()
if [ -f "$LOGS/boot-trace-live.log" ]; then
	tr -d '\r' <"$LOGS/boot-trace-live.log" >"$LOGS/trace-live.log"
	live=("$LOGS/trace-live.log")
	if [ -f "$LOGS/boot-trace-hello.log" ]; then
		tr -d '\r' <"$LOGS/boot-trace-hello.log" >"$LOGS/trace-hello.log"
		live+=("$LOGS/trace-hello.log")
		if [ -f "$LOGS/boot-trace-forgery.log" ]; then
			tr -d '\r' <"$LOGS/boot-trace-forgery.log" >"$LOGS/trace-forgery.log"
			live+=("$LOGS/trace-forgery.log")
		fi
	fi
fi
ktap_check "trace tool" "$LOGS/trace-tool.log" trace-tool 1 tests/trace/run.sh "${live[@]}"

if [ -f "$BUILD/initrd.cpio" ]; then
	echo "== gdb helpers"
	ktap_check "gdb helpers" "$LOGS/gdb-helpers.log" gdb-helpers 1 tests/gdb/run.sh
fi

if [ $fail -gt 0 ]; then
	echo "== failures"
	printf '  %s\n' "${failures[@]}"
fi
summary_line
[ $fail -eq 0 ]

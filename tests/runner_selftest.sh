#!/usr/bin/env bash
# Tests of the test runner itself (tests/ktap_lib.sh, which tests/run.sh uses): made-up logs and
# deliberately broken builds must each be judged a failure, and good logs a pass, so the runner cannot
# quietly stop failing. Covers: a kernel, host test, device tree or user program that no longer builds
# (a counted failure, its stale output removed); a KTAP program that stops part-way (kernel suite, host
# test, user program) or disagrees with its plan; skips counted apart from passes; a boot that runs no
# suite. Runs in a few seconds in a scratch BUILD directory; prints KTAP, exits 0 when all pass.
set -u
cd "$(dirname "$0")/.." || exit 1
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/vmk-runner-selftest.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
BUILD=$SCRATCH/build
LOGS=$SCRATCH/logs
mkdir -p "$BUILD" "$LOGS"
. tests/ktap_lib.sh

n=0
failed=0
result() { # name status(0 = pass) [why]
	n=$((n + 1))
	if [ "$2" -eq 0 ]; then echo "ok $n $1"; else echo "not ok $n $1 # ${3:-failed}"; failed=$((failed + 1)); fi
}

# Runs a lib function on fresh counters in a subshell and prints "passed failed skipped".
counts() { (pass=0 fail=0 skip=0 failures=() && "$@" >>"$LOGS/calls.log" 2>&1; echo "$pass $fail $skip"); }

# expect NAME "P F S" FUNCTION ARGS...: the counters the call must end with.
expect() {
	local name=$1 want=$2 got
	shift 2
	got=$(counts "$@")
	[ "$got" = "$want" ]
	result "$name" $? "counted '$got' (passed failed skipped), expected '$want'"
}

log() { printf '%b' "$2" >"$SCRATCH/$1.log"; echo "$SCRATCH/$1.log"; }

echo "TAP version 13"

# ---- KTAP plans and skips ----
good_host=$(log good_host 'KTAP version 1\n# suite: x\n1..3\nok 1 a\nok 2 b # SKIP not here\nnot ok 3 c # why\n')
expect host_counts_pass_skip_fail "1 1 1" count_ktap "$good_host" flat host 1
short_host=$(log short_host 'KTAP version 1\n1..3\nok 1 a\nok 2 b\n')
expect host_stopped_before_its_plan_fails "2 1 0" count_ktap "$short_host" flat host 1
over_host=$(log over_host '1..1\nok 1 a\nok 2 b\n')
expect host_more_cases_than_planned_fails "2 1 0" count_ktap "$over_host" flat host 1
noplan_host=$(log noplan_host 'ok 1 a\n')
expect host_without_plan_fails "1 1 0" count_ktap "$noplan_host" flat host 1

user_ok=$(log user_ok '# user: init\n# user: t_a\nok 1 x\nok 2 y # SKIP one hart\n# user: t_a: 2/2 passed\n1..2\n# init: t_a finished\nok 1 t_a\n# user: init: 1/1 passed\n1..1\n')
expect user_programs_with_plans_pass "2 0 1" count_ktap "$user_ok" flat user 0
# t_a returns 0 after its first case: init reports it ok, but its report never reached its plan.
user_cut=$(log user_cut '# user: init\n# user: t_a\nok 1 x\n# init: t_a finished\nok 1 t_a\n# user: t_b\nok 1 z\n# user: t_b: 1/1 passed\n1..1\nok 2 t_b\n# user: init: 2/2 passed\n1..2\n')
expect user_program_stopped_part_way_fails "4 1 0" count_ktap "$user_cut" flat user 0
user_plan=$(log user_plan '# user: init\n# user: t_a\nok 1 x\n1..2\nok 1 t_a\n1..1\n')
expect user_program_plan_mismatch_fails "2 1 0" count_ktap "$user_plan" flat user 0

kgood='KTAP version 1\n1..2\n    KTAP version 1\n    # Subtest: boot\n    1..3\n    ok 1 a\n    ok 2 b # SKIP single hart\n    ok 3 leak_check\nok 1 boot\n    KTAP version 1\n    # Subtest: fdt\n    1..1\n    ok 1 leak_check\nok 2 fdt\n# ktest: 2 suites, 0 failed\nvmk: power off, exit status 0\n'
kernel_ok=$(log kernel_ok "$kgood")
expect kernel_suites_with_plans_pass "3 0 1" count_ktap "$kernel_ok" kernel k 0
kernel_cut=$(log kernel_cut 'KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: boot\n    1..3\n    ok 1 a\nok 1 boot\n# ktest: 1 suites, 0 failed\n')
expect kernel_suite_short_of_its_plan_fails "1 1 0" count_ktap "$kernel_cut" kernel k 0
kernel_gone=$(log kernel_gone 'KTAP version 1\n1..2\n    KTAP version 1\n    # Subtest: boot\n    1..2\n    ok 1 a\n')
expect kernel_stopped_mid_suite_fails "1 2 0" count_ktap "$kernel_gone" kernel k 0
expect kernel_oops_mid_suite_not_planned "1 0 0" count_ktap "$kernel_gone" kernel k none

# ---- boots: each must prove that what it was asked to run ran ----
expect boot_with_suites_passes "4 0 1" judge_boot b "test=boot,fdt" 0 "-" "$kernel_ok" 0
nothing=$(log nothing 'OpenSBI v1.1\nboot: no init program (no initrd): powering off\nvmk: power off, exit status 0\n')
expect boot_running_no_suite_fails "0 1 0" judge_boot b "test=boot" 0 "-" "$nothing" 0
expect boot_regex_but_no_suite_fails "0 1 0" judge_boot b "test=boot" 0 "powering off" "$nothing" 0
expect init_test_boot_without_report_fails "0 1 0" judge_boot b "init=/init test" 0 "-" "$nothing" 0
expect init_test_boot_with_report_passes "3 0 1" judge_boot b "init=/init test" 0 "-" "$user_ok" 0
# init that never got its "test" word runs the demo and reports it as its one passing case.
demo_only=$(log demo_only '# user: init
demo_producer: ok
ok 1 demo_producer
# user: init: 1/1 passed
1..1
init exited with status 0
')
expect init_test_boot_running_the_demo_fails "1 1 0" judge_boot b "init=/init test" 0 "-" "$demo_only" 0
expect boot_wrong_status_fails "3 1 1" judge_boot b "test=boot,fdt" 1 "-" "$kernel_ok" 0
expect boot_timeout_fails "3 1 1" judge_boot b "test=boot,fdt" 0 "-" "$kernel_ok" 124

# ---- builds: a failure is counted and what an older source built is removed ----
# Each is broken through make arguments (a compiler flag that does not exist, a compiler that always
# fails), so nothing in the tree changes; stale outputs are planted first.
: >"$LOGS/build.log"
touch "$BUILD/kernel.bin" "$BUILD/kernel.elf"
expect broken_kernel_build_fails "0 1 0" build_kernel EXTRA_CFLAGS=-fno-such-option-vmk
[ ! -e "$BUILD/kernel.bin" ] && [ ! -e "$BUILD/kernel.elf" ]
result broken_kernel_build_removes_stale_image $?
mkdir -p "$BUILD/host" && touch "$BUILD/host/test_hart_masks"
expect broken_host_test_build_fails "0 1 0" build_host_test test_hart_masks EXTRA_HOST_CFLAGS=-fno-such-option-vmk
[ ! -e "$BUILD/host/test_hart_masks" ]
result broken_host_test_build_removes_stale_binary $?
mkdir -p "$BUILD/dtbs" "$SCRATCH/bin" && touch -d 2000-01-01 "$BUILD/dtbs/no-uart.dtb"
printf '#!/bin/sh\nexit 1\n' >"$SCRATCH/bin/dtc" && chmod +x "$SCRATCH/bin/dtc"
# (a dtc that always fails, first on PATH for this call only)
PATH="$SCRATCH/bin:$PATH" expect broken_dtc_fails "0 1 0" build_dtbs
[ ! -e "$BUILD/dtbs/no-uart.dtb" ]
result broken_dtbs_remove_stale_dtb $?
touch "$BUILD/initrd.cpio"
expect broken_user_build_fails "0 1 0" build_user USER_CC=false
[ ! -e "$BUILD/initrd.cpio" ]
result broken_user_build_removes_stale_initrd $?

echo "1..$n"
[ $failed -eq 0 ]

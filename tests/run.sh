#!/usr/bin/env bash
# The test runner behind `make test`: host unit tests, then the QEMU boot matrix (tests/boots.txt) and the
# user-program boots. Counts every KTAP case line, prints each failure, and ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/test-logs
mkdir -p "$LOGS"
pass=0
fail=0
failures=()

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); failures+=("$1"); echo "FAIL: $1"; }

# Counts KTAP lines in a log: leaf cases are indented by 4 spaces in kernel output (suites are subtests)
# and unindented in host and user-program output ($2 = the indent to count).
count_ktap() {
	local log=$1 indent=$2 tag=$3 line
	while IFS= read -r line; do
		case "$line" in
		"${indent}ok "*) ok ;;
		"${indent}not ok "*) bad "$tag: ${line#${indent}}" ;;
		esac
	done < <(tr -d '\r' <"$log")
}

echo "== build"
# -k: one broken piece (a host test, a user program) fails its own tests, not the whole run.
make -s -k kernel host-tests user-programs dtbs >"$LOGS/build.log" 2>&1 || true
if [ ! -f "$BUILD/kernel.bin" ]; then
	cat "$LOGS/build.log"
	bad "kernel build failed"
	echo "$pass passed, $fail failed"
	exit 1
fi
for t in $(make -s print-host-tests); do
	[ -x "$BUILD/host/$t" ] || { bad "host test $t did not build (see $LOGS/build.log)"; grep -m5 -E "error" "$LOGS/build.log"; }
done

echo "== host unit tests"
for t in $BUILD/host/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	log=$LOGS/host-$name.log
	args=()
	[ "$name" = test_fdt ] && args=("$BUILD/dtbs")
	[ "$name" = test_elf_cpio ] && args=("$BUILD/initrd.cpio" $BUILD/user/*)
	timeout 300 "$t" "${args[@]}" >"$log" 2>&1
	rc=$?
	before=$fail
	count_ktap "$log" "" "$name"
	if [ $rc -ne 0 ] && [ $fail -eq $before ]; then bad "$name exited with status $rc (see $log)"; tail -5 "$log"; fi
	echo "$name: exit $rc"
done

# A short libFuzzer run of the device-tree reader (longer ones: make fuzz FUZZ_SECONDS=...).
if make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}" >"$LOGS/fuzz_fdt.log" 2>&1; then ok; else bad "fuzz_fdt found a crash or did not build (see $LOGS/fuzz_fdt.log)"; fi
echo "fuzz_fdt: $(grep -Eo 'Done [0-9]+ runs' "$LOGS/fuzz_fdt.log" || echo failed)"

# True when the log shows every regex of "re1 && re2 ..." (each on some line); sets $missing otherwise.
shows_all() {
	local log=$1 rest=$2 re
	[ "$rest" = - ] && return 0
	while [ -n "$rest" ]; do
		re=${rest%% && *}
		[ "$re" = "$rest" ] && rest= || rest=${rest#* && }
		if ! tr -d '\r' <"$log" | grep -Eq -- "$re"; then
			missing=$re
			return 1
		fi
	done
}

boot() { # name smp mem dtb bootargs expect regex [initrd] [extra QEMU options] [timeout in s]
	local name=$1 smp=$2 mem=$3 dtb=$4 args=$5 expect=$6 regex=$7 initrd=${8:-} extra=${9:-} limit=${10:-}
	local log=$LOGS/boot-$name.log
	local qargs=(-machine virt -bios default -nographic -no-reboot -smp "$smp" -m "$mem" -kernel "$BUILD/kernel.bin")
	# shellcheck disable=SC2206 # the extra options are words on purpose (e.g. "-icount shift=0")
	[ -n "$extra" ] && [ "$extra" != - ] && qargs+=($extra)
	[ "$dtb" != - ] && qargs+=(-dtb "$BUILD/dtbs/$dtb.dtb")
	[ -n "$initrd" ] && qargs+=(-initrd "$initrd")
	[ "$args" != - ] && qargs+=(-append "$args")
	timeout "${limit:-${BOOT_TIMEOUT:-300}}" qemu-system-riscv64 "${qargs[@]}" </dev/null >"$log" 2>&1
	local rc=$?
	local before=$fail
	case "$args" in
	*test=*) count_ktap "$log" "    " "$name" ;; # kernel suites: count the cases, not the suite lines
	*) count_ktap "$log" "" "$name" ;;          # user programs report unindented
	esac
	if [ $rc -eq 124 ]; then
		bad "boot $name: timed out (see $log)"
	elif [ "$rc" != "$expect" ]; then
		bad "boot $name: exit status $rc, expected $expect (see $log)"
		tail -15 "$log"
	elif ! shows_all "$log" "$regex"; then
		bad "boot $name: console never showed /$missing/ (see $log)"
	else
		ok
	fi
	echo "boot $name: exit $rc, $((fail - before)) failures"
}

trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; printf '%s' "${v%"${v##*[![:space:]]}"}"; }

echo "== QEMU boots"
while IFS='|' read -r name smp mem dtb args expect regex extra limit; do
	name=$(trim "$name")
	case "$name" in '' | \#*) continue ;; esac
	boot "$name" "$(trim "$smp")" "$(trim "$mem")" "$(trim "$dtb")" "$(trim "$args")" "$(trim "$expect")" "$(trim "$regex")" \
		"" "$(trim "$extra")" "$(trim "$limit")"
done <tests/boots.txt

if [ -f "$BUILD/initrd.cpio" ]; then
	echo "== user programs"
	boot user-smp1 1 256M - "init=/init test" 0 "init exited with status 0" "$BUILD/initrd.cpio"
	boot user-smp4 4 512M - "init=/init test" 0 "init exited with status 0" "$BUILD/initrd.cpio"
	# Bad input at boot: an initrd that is not an archive, and an init that is not a program.
	boot bad-initrd 1 128M - "init=/init" 12 "initrd: not a usable newc archive" "$BUILD/user/not_elf"
	boot bad-init-elf 1 128M - "init=/not_elf" 13 "init: cannot start /not_elf" "$BUILD/initrd.cpio"
	# The demo with every trace class on and the listing at power-off: its replayed end state must equal
	# the kernel's own vmallocinfo (checked by the trace tool tests below).
	boot trace-live 2 256M - "trace=all vmallocinfo" 0 "init exited with status 0" "$BUILD/initrd.cpio"
fi

echo "== trace tool"
live=()
if [ -f "$LOGS/boot-trace-live.log" ]; then
	tr -d '\r' <"$LOGS/boot-trace-live.log" >"$LOGS/trace-live.log"
	live=("$LOGS/trace-live.log")
fi
tlog=$LOGS/trace-tool.log
tests/trace/run.sh "${live[@]}" >"$tlog" 2>&1
rc=$?
before=$fail
count_ktap "$tlog" "" trace-tool
[ $rc -ne 0 ] && [ $fail -eq $before ] && bad "trace tool tests exited with status $rc (see $tlog)"
echo "trace tool: exit $rc, $((fail - before)) failures"

if [ $fail -gt 0 ]; then
	echo "== failures"
	printf '  %s\n' "${failures[@]}"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]

#!/usr/bin/env bash
# Test of the gdb helpers (tools/gdb/vmk.py): a batch gdb-multiarch session boots /gdb_state under QEMU on
# gdb's own pipe (no TCP port), stops in the kernel's vm_dump_areas and runs every helper there
# (tests/gdb/session.py); tests/gdb/check.py then compares their output with the kernel's own listing of
# the same state and prints KTAP lines. Needs build/kernel.elf and build/initrd.cpio. Takes a few seconds.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
OUT=$BUILD/gdb-test
mkdir -p "$OUT"
rm -f "$OUT/result.json" "$OUT/uart.log" "$OUT/qemu.pid"
export GDB_TEST_OUT=$OUT/result.json GDB_TEST_UART=$OUT/uart.log
export GDB_TEST_QEMU="qemu-system-riscv64 -machine virt -bios default -display none -monitor none -no-reboot \
-smp 2 -m 256M -kernel $BUILD/kernel.bin -initrd $BUILD/initrd.cpio -serial file:$GDB_TEST_UART \
-append 'init=/gdb_state trace=all' -gdb stdio -S -pidfile $OUT/qemu.pid"
timeout "${GDB_TEST_TIMEOUT:-120}" gdb-multiarch -q -nx -batch -x tests/gdb/session.py "$BUILD/kernel.elf" \
	>"$OUT/gdb.log" 2>&1
rc=$?
# QEMU ends when gdb's pipe closes and removes its pid file; one still there after a timeout is ours to end.
if [ -s "$OUT/qemu.pid" ] && kill -0 "$(cat "$OUT/qemu.pid")" 2>/dev/null; then
	kill "$(cat "$OUT/qemu.pid")"
fi
if [ ! -s "$OUT/result.json" ] || [ ! -f "$OUT/uart.log" ]; then
	echo "TAP version 13"
	echo "not ok 1 gdb_session # gdb exited with $rc before writing results (see $OUT/gdb.log)"
	echo "1..1"
	exit 1
fi
tests/gdb/check.py "$OUT/result.json" "$OUT/uart.log"

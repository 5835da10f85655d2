#!/bin/sh
# Produces the device trees test_fdt reads: QEMU virt dumps for SMP 1/2/4/8 x 64M/128M/2G/8G, one
# with an initrd and a command line, one with two NUMA nodes, ACLINT and AIA ones, the sifive_u and spike
# machines, and every
# dts/*.dts compiled with dtc.
# Usage: tests/host/gen_dtbs.sh OUTDIR
set -eu
out=${1:?usage: gen_dtbs.sh OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"

dump() { # name, then extra qemu arguments; MACHINE (default virt) picks the machine
	name=$1
	shift
	qemu-system-riscv64 -machine "${MACHINE:-virt},dumpdtb=$out/$name.raw" -nographic -display none "$@" \
		>"$out/$name.log" 2>&1 || { cat "$out/$name.log" >&2; exit 1; }
	# QEMU writes out its whole working buffer; keep the blob's own totalsize bytes.
	total=$(od -An -tu1 -j4 -N4 "$out/$name.raw" | awk '{ print ((($1 * 256 + $2) * 256 + $3) * 256 + $4) }')
	head -c "$total" "$out/$name.raw" >"$out/$name.dtb"
	rm -f "$out/$name.raw" "$out/$name.log"
}

for smp in 1 2 4 8; do
	for mem in 64M 128M 2G 8G; do
		dump "qemu-smp$smp-$mem" -smp "$smp" -m "$mem"
	done
done

# -initrd needs -kernel; neither is run, QEMU only records where it would load them.
head -c 4096 /dev/zero >"$out/kernel.bin"
head -c 3000 /dev/zero >"$out/initrd.bin"
dump qemu-initrd -smp 2 -m 256M -kernel "$out/kernel.bin" -initrd "$out/initrd.bin" -append "a=b c.d=e"

dump qemu-numa -smp 4 -m 256M \
	-object memory-backend-ram,id=m0,size=128M -object memory-backend-ram,id=m1,size=128M \
	-numa node,memdev=m0,cpus=0-1 -numa node,memdev=m1,cpus=2-3

# S-mode IPI devices: ACLINT SSWI, the S-level IMSIC files, and the IMSIC files of two sockets (two regions).
MACHINE=virt,aclint=on dump qemu-aclint -smp 4 -m 256M
MACHINE=virt,aia=aplic-imsic dump qemu-aia -smp 4 -m 256M
MACHINE=virt,aia=aplic-imsic dump qemu-aia-numa -smp 4 -m 256M \
	-object memory-backend-ram,id=m0,size=128M -object memory-backend-ram,id=m1,size=128M \
	-numa node,memdev=m0,cpus=0-1 -numa node,memdev=m1,cpus=2-3

MACHINE=sifive_u dump sifive-u -smp 3 -m 512M
MACHINE=spike dump spike -smp 2 -m 256M

for src in "$root"/dts/*.dts; do
	dtc -q -I dts -O dtb -o "$out/$(basename "$src" .dts).dtb" "$src"
done

#!/usr/bin/env bash
# Prints the QEMU arguments for one test machine, shared by `make run` and the test runner so both boot
# the same thing: qemu-machine.sh MACHINE NUMA SMP MEM
#   MACHINE  virt (default), virt,aia=aplic-imsic, sifive_u, spike, ... (passed to -machine as is)
#   NUMA     1, or N > 1 to split MEM and the harts evenly into N NUMA nodes (virt only)
set -eu
machine=${1:-virt} numa=${2:-1} smp=${3:-1} mem=${4:-256M}
args=(-machine "$machine" -smp "$smp" -m "$mem")
if [ "$numa" -gt 1 ]; then
	case "$mem" in
	*G) mib=$((${mem%G} * 1024)) ;;
	*M) mib=${mem%M} ;;
	*) echo "qemu-machine.sh: MEM must end in M or G for NUMA=$numa" >&2; exit 2 ;;
	esac
	if [ $((smp % numa)) -ne 0 ] || [ $((mib % numa)) -ne 0 ]; then
		echo "qemu-machine.sh: SMP=$smp and MEM=$mem must divide evenly into NUMA=$numa nodes" >&2
		exit 2
	fi
	per_cpu=$((smp / numa)) per_mib=$((mib / numa))
	for ((n = 0; n < numa; n++)); do
		args+=(-object "memory-backend-ram,id=m$n,size=${per_mib}M"
			-numa "node,memdev=m$n,cpus=$((n * per_cpu))-$(((n + 1) * per_cpu - 1)),nodeid=$n")
	done
fi
echo "${args[@]}"

#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, when missing: with apt-get when run as root,
# otherwise it prints the exact command to run and fails. `ensure-deps.sh bench` also wants what the Linux
# peers of `make bench` are built with (../shared/peer/*.sh: a Linux 6.12 image and a glibc program);
# `make test` never needs them.
set -eu
pkgs=(make gcc libc6-dev gcc-riscv64-unknown-elf qemu-system-misc opensbi device-tree-compiler libfdt-dev
      clang gdb-multiarch python3 python3-matplotlib picolibc-riscv64-unknown-elf)
[ "${1:-}" = bench ] && pkgs+=(gcc-riscv64-linux-gnu linux-source-6.12 flex bison bc libssl-dev libelf-dev cpio)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
cmd="apt-get update && apt-get install -y ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "${missing[@]}" >/dev/null
else
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root:  sudo sh -c '$cmd'" >&2
	exit 1
fi

#!/usr/bin/env python3
"""Count the Linux peer's vmalloc page-table pages after its test_vmalloc, for `make bench` section 7.

Owns: one measurement of the peer kernel (../shared/peer's Image-6.12-O2, built by linux-test_vmalloc.sh),
taken from outside the guest, so the peer kernel is the team's unchanged build.

Why from outside: Linux allocates kernel page tables without counting them (NR_PAGETABLE covers user
tables only) and this build has no debugfs page-table dump. So the peer boots with test_vmalloc's
parameters and panic=0: test_vmalloc runs at boot (built in), then the kernel finds no init and stops in
its panic loop with every table still in memory. Through QEMU's monitor we read satp, then the root
table and the level-1 tables of the vmalloc range (physical reads, `xp`), and count the level-1 entries
that point to a level-0 table. Linux never frees a kernel level-0 table once vmalloc made it (vunmap only
clears leaves), like ours, so the count is every 2 MiB of the range the boot ever mapped in 4 KiB pages.

The vmalloc range of Linux 6.12 in Sv39 (arch/riscv/include/asm/pgtable.h, no4lvl): VMALLOC_END =
PAGE_OFFSET = 0xffffffd600000000, VMALLOC_SIZE = KERN_VIRT_SIZE >> 1 = 64 GiB (root entries 280..343).
Its level-1 tables are preallocated at boot (preallocate_pgd_pages_range), so they are reported apart.

usage: linux_vmalloc_tables.py IMAGE HARTS THREADS LOOPS MASK [MEM]
prints: linux_vmalloc_tables: harts=H level0_tables=N level1_tables=M range=START-END
Exit status 1 with a message when the peer did not reach its panic or the monitor did not answer.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

VMALLOC_START = 0xFFFFFFC600000000
VMALLOC_END = 0xFFFFFFD600000000
SV39_ROOT_SHIFT, SV39_L1_SHIFT = 30, 21
PTE_V, PTE_RWX = 0x1, 0xE


def read_prompt(sock):
    """Everything the monitor sends up to and including its next prompt."""
    out = b""
    while not out.endswith(b"(qemu) "):
        chunk = sock.recv(65536)
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def monitor(sock, cmd):
    """Send one command to QEMU's human monitor; return its answer (the echoed command line and the
    prompt dropped). The caller has read the previous prompt, so exactly one prompt ends this answer."""
    sock.sendall((cmd + "\n").encode())
    text = read_prompt(sock)
    return text.split("\n", 1)[1] if "\n" in text else text


def read_table(sock, pa):
    """The 512 entries of the page table at physical address pa."""
    words = []
    for line in monitor(sock, "xp /512gx 0x%x" % pa).splitlines():
        if ":" in line:
            words += [int(w, 16) for w in line.split(":", 1)[1].split()]
    if len(words) != 512:
        raise RuntimeError("monitor gave %d entries for the table at 0x%x" % (len(words), pa))
    return words


def is_table(pte):
    return (pte & PTE_V) and not (pte & PTE_RWX)


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__.split("usage: ")[1].split("\n")[0])
    image, harts, threads, loops, mask = sys.argv[1:6]
    mem = sys.argv[6] if len(sys.argv) > 6 else "1G"
    tmp = tempfile.mkdtemp(prefix="linux-pt-")
    sock_path, log_path = os.path.join(tmp, "mon"), os.path.join(tmp, "console.log")
    args = ("earlycon=sbi console=ttyS0 no4lvl test_vmalloc.nr_threads=%s test_vmalloc.test_loop_count=%s "
            "test_vmalloc.run_test_mask=%s panic=0" % (threads, loops, mask))
    qemu = subprocess.Popen(
        ["qemu-system-riscv64", "-machine", "virt", "-bios", "default", "-display", "none", "-kernel", image,
         "-m", mem, "-smp", harts, "-no-reboot", "-append", args, "-serial", "file:" + log_path,
         "-monitor", "unix:%s,server,nowait" % sock_path], stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + float(os.environ.get("LINUX_PT_TIMEOUT", "900"))
        log = ""
        while "Kernel panic" not in log:
            if time.time() > deadline or qemu.poll() is not None:
                sys.exit("linux_vmalloc_tables: the peer did not reach its panic (log %s)" % log_path)
            time.sleep(0.5)
            log = open(log_path, errors="replace").read() if os.path.exists(log_path) else ""
        time.sleep(1)  # let the panic stop the other harts
        if "All test took" not in log:
            sys.exit("linux_vmalloc_tables: test_vmalloc did not finish before the panic (log %s)" % log_path)
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(sock_path)
        read_prompt(sock)  # the banner and first prompt
        regs = monitor(sock, "info registers")
        m = re.search(r"satp\s+([0-9a-fA-F]+)", regs)
        if not m:
            sys.exit("linux_vmalloc_tables: no satp in the monitor's register dump")
        satp = int(m.group(1), 16)
        if satp >> 60 != 8:
            sys.exit("linux_vmalloc_tables: satp 0x%x is not Sv39" % satp)
        root = read_table(sock, (satp & ((1 << 44) - 1)) << 12)
        level0 = level1 = 0
        first = (VMALLOC_START >> SV39_ROOT_SHIFT) & 511
        last = ((VMALLOC_END - 1) >> SV39_ROOT_SHIFT) & 511
        for i in range(first, last + 1):
            if not is_table(root[i]):
                continue
            level1 += 1
            l1 = read_table(sock, (root[i] >> 10) << 12)
            level0 += sum(1 for e in l1 if is_table(e))
        print("linux_vmalloc_tables: harts=%s level0_tables=%d level1_tables=%d range=0x%x-0x%x" %
              (harts, level0, level1, VMALLOC_START, VMALLOC_END))
    finally:
        qemu.kill()
        qemu.wait()


if __name__ == "__main__":
    main()

"""The kernel ELF's text symbols by address, for the host tools that name kernel code from an address
(tools/hart_insns_profile.py, tools/jit_profile.py). Read with the cross toolchain's nm."""
import bisect
import subprocess


class TextSymbols:
    """Text symbols of ELF in address order. RISC-V's mapping symbols ($x, $d: markers of where code and
    data start, not functions) are left out, so an address is named by the function it lies in."""

    def __init__(self, elf, nm):
        out = subprocess.run([nm, "-n", elf], capture_output=True, text=True, check=True).stdout
        self.addrs, self.names = [], []
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "tTwW" and not f[2].startswith("$"):
                self.addrs.append(int(f[0], 16))
                self.names.append(f[2])

    def name_of(self, addr):
        """The symbol addr lies in, or addr in hex when it lies before the first."""
        i = bisect.bisect_right(self.addrs, addr) - 1
        return self.names[i] if i >= 0 else "0x%x" % addr

    def address_of(self, name):
        """The address of the symbol `name`, or None."""
        return self.addrs[self.names.index(name)] if name in self.names else None

/* The early page table: enough gigapages to leave the identity-mapped world. It runs with the MMU off, at
 * its physical load address, so it must touch only PC-relative data and constants. */
#include "boot/boot.h"
#include "vm/layout.h"
#include "vm/pt.h"

u64 early_satp;
static u64 early_root[512] __aligned(4096);

#define GIGA_RWX (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
#define GIGA_RW (PTE_V | PTE_R | PTE_W | PTE_A | PTE_D)

static inline void giga(u64 va, u64 pa, u64 flags) { early_root[pt_index(va, 2)] = pte_make(pa, flags); }

u64 early_pt_build(void)
{
	/* Identity for the instruction after the satp write, the kernel image where it is linked, the whole
	 * direct-map window (so the device tree can be read wherever it is) and the device window. */
	giga(KERNEL_PBASE, KERNEL_PBASE, GIGA_RWX);
	giga(KERNEL_VBASE, KERNEL_PBASE, GIGA_RWX | PTE_G);
	for (u64 off = 0; off < DMAP_SIZE; off += PUD_SIZE) giga(DMAP_BASE + off, off, GIGA_RW | PTE_G);
	for (u64 off = 0; off < IO_SIZE; off += PUD_SIZE) giga(IO_BASE + off, off, GIGA_RW | PTE_G);
	early_satp = pt_satp((u64)(uptr)early_root, 0);
	return early_satp;
}

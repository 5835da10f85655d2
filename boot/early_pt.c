/* The early page table: enough gigapages to leave the identity-mapped world. It runs with the MMU off, at
 * its physical load address, so it must touch only PC-relative data and constants. */
#include "boot/boot.h"
#include "vm/layout.h"

u64 early_satp;
static u64 early_root[512] __aligned(4096);

#define GIGA_RWX 0xcfUL /* V R W X A D */
#define GIGA_RW 0xc7UL  /* V R W A D */
#define PTE_GLOBAL 0x20UL

static inline void giga(u64 va, u64 pa, u64 flags)
{
	early_root[(va >> 30) & 511] = ((pa >> 12) << 10) | flags;
}

u64 early_pt_build(void)
{
	/* Identity for the instruction after the satp write, the kernel image where it is linked, the whole
	 * direct-map window (so the device tree can be read wherever it is) and the device window. */
	giga(KERNEL_PBASE, KERNEL_PBASE, GIGA_RWX);
	giga(KERNEL_VBASE, KERNEL_PBASE, GIGA_RWX | PTE_GLOBAL);
	for (u64 off = 0; off < DMAP_SIZE; off += PUD_SIZE) giga(DMAP_BASE + off, off, GIGA_RW | PTE_GLOBAL);
	for (u64 off = 0; off < IO_SIZE; off += PUD_SIZE) giga(IO_BASE + off, off, GIGA_RW | PTE_GLOBAL);
	early_satp = (8UL << 60) | ((u64)(uptr)early_root >> 12);
	return early_satp;
}

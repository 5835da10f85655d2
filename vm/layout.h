/* The Sv39 virtual memory layout: where the vmalloc region, the direct map and the kernel image live. */
#ifndef VM_LAYOUT_H
#define VM_LAYOUT_H

#include <vmk/abi.h>
#include "lib/types.h"

/*
 * Sv39 gives 256 GiB above 0xffffffc000000000. Each root-table slot covers 1 GiB, so every region
 * starts on a 1 GiB boundary: the kernel half's root slots are then identical in every address
 * space, and copying them once at task creation is all the sharing that is ever needed.
 *
 *   0xffffffc000000000 .. 0xffffffd000000000   vmalloc region, 64 GiB (root slots 256..319)
 *   0xffffffd800000000 .. 0xfffffff800000000   direct map of physical memory, va = DMAP_BASE + pa
 *   0xfffffffc00000000 .. 0xfffffffc80000000   device window: the low 2 GiB of physical space (MMIO)
 *   0xffffffff80000000 .. 0xffffffffc0000000   kernel image, va = KERNEL_VBASE + (pa - KERNEL_PBASE)
 */
#define USER_TOP VMK_USER_TOP            /* user half ends here (2^38): the ABI's number */
#define KERNEL_HALF 0xffffffc000000000UL /* Sv39's upper half starts here (-2^38) */
#define VMALLOC_START KERNEL_HALF        /* the vmalloc region opens the kernel half */
#define VMALLOC_END 0xffffffd000000000UL
#define VMALLOC_SIZE (VMALLOC_END - VMALLOC_START)
#define DMAP_BASE 0xffffffd800000000UL
#define DMAP_SIZE 0x0000002000000000UL /* 128 GiB of physical address space */
#define IO_BASE 0xfffffffc00000000UL
#define IO_SIZE 0x0000000080000000UL
#define KERNEL_VBASE 0xffffffff80000000UL
#define KERNEL_PBASE 0x80000000UL

/* The kernel image's parts, placed by boot/kernel.ld (page aligned, so each gets its own protection). */
extern char _kernel_start[], _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern char _data_start[], _data_end[], __bss_start[], __bss_end[], _kernel_end[];

#ifndef HOST_TEST
static inline void *ioremap(u64 pa) { return (void *)(uptr)(IO_BASE + pa); }
static inline void *phys_to_virt(u64 pa) { return (void *)(uptr)(pa + DMAP_BASE); }
static inline u64 virt_to_phys(const void *va)
{
	uptr v = (uptr)va;
	return v >= KERNEL_VBASE ? v - KERNEL_VBASE + KERNEL_PBASE : v - DMAP_BASE;
}
#endif

static inline bool is_vmalloc_addr(const void *p)
{
	uptr v = (uptr)p;
	return v >= VMALLOC_START && v < VMALLOC_END;
}

#endif

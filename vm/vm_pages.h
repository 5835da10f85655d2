/* The one page source of vm/: the buddy allocator behind one lock, fronted by per-hart caches of single
 * pages. Every vm structure draws from it directly (page tables, the node pools, the busy map's buckets);
 * host tests link a simulated source with the same functions. */
#ifndef VM_VM_PAGES_H
#define VM_VM_PAGES_H

#include "lib/types.h"
#include "vm/layout.h"

/* One page (physical address, not zeroed) or 0. node = PA_ANY_NODE uses the hart's cache. */
u64 vm_page_alloc(int node);
void vm_page_free(u64 pa);
/* Blocks of 2^order pages straight from the buddy allocator, under its lock. */
u64 vm_pages_alloc_order(unsigned order, int node, unsigned flags);
void vm_pages_free_order(u64 pa, unsigned order);
/* One zeroed page for a page table (physical address), 0 when out of memory. Any context. */
u64 vm_zeroed_table_alloc(void);
/* Where the page at pa can be read and written (the direct map). */
#ifdef HOST_TEST
void *vm_page_va(u64 pa);
#else
static inline void *vm_page_va(u64 pa) { return phys_to_virt(pa); }
#endif
/* Zeroed, contiguous memory for a vm structure: the smallest power-of-two number of pages holding bytes,
 * by its direct-map address; NULL when out of memory or too large. vm_block_free takes the same size.
 * The pages count as held by vm/ (vm_blocks_held) until freed. Any context. */
void *vm_block_alloc(size_t bytes);
void vm_block_free(void *block, size_t bytes);
u64 vm_blocks_held(void);
u64 vm_pages_cached(void);

#endif

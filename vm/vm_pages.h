/* Page supply for the kernel's allocators: the buddy allocator behind one lock, fronted by per-hart
 * caches of single pages. */
#ifndef VM_VM_PAGES_H
#define VM_VM_PAGES_H

#include "lib/types.h"

/* One page (physical address, not zeroed) or 0. node = PA_ANY_NODE uses the hart's cache. */
u64 vm_page_alloc(int node);
void vm_page_free(u64 pa);
/* Blocks of 2^order pages straight from the buddy allocator, under its lock. */
u64 vm_pages_alloc_order(unsigned order, int node, unsigned flags);
void vm_pages_free_order(u64 pa, unsigned order);
u64 vm_zeroed_table_alloc(void);
/* Gives every hart's cached pages back to the buddy allocator (tests' leak checks). */
void vm_pages_drain_all(void);
u64 vm_pages_cached(void);

#endif

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
/* A zeroed page: one known to be zero from this hart's cache, else a fresh one zeroed now. */
u64 vm_page_alloc_zeroed(int node);
/* Gives back a page the caller knows is all zeros (kept for vm_page_alloc_zeroed while there is room). */
void vm_page_free_zeroed(u64 pa);
u64 vm_zeroed_table_alloc(void);
/* Gives every hart's cached pages back to the buddy allocator (tests' leak checks). */
void vm_pages_drain_all(void);
u64 vm_pages_cached(void);

#endif

/* Page supply for the kernel's allocators: the buddy allocator behind one lock, fronted by per-hart
 * caches of single pages. */
#ifndef VM_VM_PAGES_H
#define VM_VM_PAGES_H

#include "lib/types.h"

/*
 * One page (physical address, not zeroed) or 0. node = PA_ANY_NODE means the hart's own node (any node
 * on a machine without NUMA); a page comes from another node only when the asked one has none left
 * (counted in pa_stats.node_fallbacks). The hart's cache serves its own node; other nodes go to the
 * buddy allocator directly. Any context.
 */
u64 vm_page_alloc(int node);
/* Back to the hart's cache when the page is of the hart's node, else to the buddy allocator. */
void vm_page_free(u64 pa);
/* Which node hart `index`'s cache holds pages of (PA_ANY_NODE, the default: whatever comes); what it
 * held is given back. The hart itself, or before the hart runs: the boot hart and smp bring-up call it
 * on NUMA machines. */
void vm_pages_set_hart_node(u32 index, int node);
/* Blocks of 2^order pages straight from the buddy allocator, under its lock. */
u64 vm_pages_alloc_order(unsigned order, int node, unsigned flags);
void vm_pages_free_order(u64 pa, unsigned order);
/* A zeroed page for a page table, from this hart's table node (vm_pages_set_table_node). */
u64 vm_zeroed_table_alloc(void);
/* Page tables this hart creates from now on come from node (PA_ANY_NODE: the default); returns the
 * previous setting to restore. Interrupts off between set and restore, so the setting stays on this
 * hart and applies only to what the caller maps. */
int vm_pages_set_table_node(int node);
/* Gives every hart's cached pages back to the buddy allocator (tests' leak checks). */
void vm_pages_drain_all(void);
u64 vm_pages_cached(void);
/* Pages asked of one node and served from another because it had none (pa_stats.node_fallbacks). */
u64 vm_pages_node_fallbacks(void);

#endif

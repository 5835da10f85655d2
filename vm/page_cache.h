/* The one page source of vm/: the buddy allocator behind one lock, fronted by per-hart caches of single
 * pages for what vmalloc hands out, and by 2 MiB groups for long-lived pages (page tables, the node pools,
 * the busy map's buckets), which are kept apart from the rest; host tests link a simulated source with
 * the same functions. */
#ifndef VM_PAGE_CACHE_H
#define VM_PAGE_CACHE_H

#include "lib/types.h"
#include "vm/layout.h"

/*
 * One page (physical address, not zeroed) or 0. node = PA_ANY_NODE means the hart's own node (any node
 * on a machine without NUMA); a page comes from another node only when the asked one has none left
 * (counted in buddy_stats.node_fallbacks). The hart's cache serves its own node; other nodes go to the
 * buddy allocator directly. Any context.
 */
u64 page_cache_alloc(int node);
/* Gives back one page the caller owns (page_cache_alloc, vm_zeroed_table_alloc, buddy_alloc_order(0)). In
 * interrupt context it goes straight to the buddy allocator, under its lock: the caches are touched only
 * by their own hart in process context. Otherwise it goes to this hart's cache without a lock or masking
 * interrupts, unless the cache is bound to a node other than the page's (then to the buddy allocator);
 * a full cache first sends a batch to the depot, or to the buddy allocator, under the lock. Any context;
 * may wait in wfi for the buddy lock. */
void page_cache_free(u64 pa);
/* The bulk forms for small ranges (vmalloc's fast path), so that a few pages cost one call and no lock:
 * page_cache_take_bulk fills pas with n pages of this hart's cache, page_cache_give_bulk puts n pages
 * back into it. All or nothing: false, and nothing changed, when the cache holds too few (or has no
 * room), node is not the cache's, the cache is bound to a node (NUMA: pages are then checked one by
 * one), n > PAGE_CACHE_BULK, or this is an interrupt handler; the caller then goes page by page with
 * page_cache_alloc / page_cache_free. Any context; never takes a lock. */
#define PAGE_CACHE_BULK 16
bool page_cache_take_bulk(int node, u64 *pas, u32 n);
bool page_cache_give_bulk(const u64 *pas, u32 n);
/* Which node hart `index`'s cache holds pages of (PA_ANY_NODE, the default: whatever comes); what it
 * held is given back. The hart itself, or before the hart runs: the boot hart and smp bring-up call it
 * on NUMA machines. */
void page_cache_set_hart_node(u32 index, int node);
/* Blocks of 2^order pages straight from the buddy allocator, under its lock. */
u64 buddy_alloc_order(unsigned order, int node, unsigned flags);
void buddy_free_order(u64 pa, unsigned order);
/* A zeroed page: one known to be zero from this hart's cache, else a fresh one zeroed now. */
u64 page_cache_alloc_zeroed(int node);
/* Gives back a page the caller knows is all zeros (kept for page_cache_alloc_zeroed while there is room). */
void page_cache_free_zeroed(u64 pa);
/* A zeroed page for a page table, from this hart's table node (page_cache_set_table_node; by default the
 * node of its cache), carved from that node's current group of long-lived pages; give it back with
 * page_cache_free or buddy_free_order(pa, 0). 0 when out of memory. Any context. */
u64 vm_zeroed_table_alloc(void);
/* Page tables this hart creates from now on come from node (PA_ANY_NODE: the default); returns the
 * previous setting to restore. Interrupts off between set and restore, so the setting stays on this
 * hart and applies only to what the caller maps. */
int page_cache_set_table_node(int node);
/* Where the page at pa can be read and written (the direct map). */
#ifdef HOST_TEST
void *vm_page_va(u64 pa);
#else
static inline void *vm_page_va(u64 pa) { return phys_to_virt(pa); }
#endif
/* Zeroed, contiguous memory for a vm structure: the smallest power-of-two number of pages holding bytes,
 * by its direct-map address (up to 4 pages carved from the long-lived groups); NULL when out of memory or
 * too large. vm_block_free takes the same size. The pages count as held by vm/ (vm_blocks_held) until
 * freed. Any context. */
void *vm_block_alloc(size_t bytes);
/* vm_block_alloc without the zeroing, for a structure that writes every byte it reads: the node pools,
 * whose objects hold whatever their last use left anyway (zeroing a 4 KiB page of records cost ~3,200
 * instructions inside whichever vmalloc needed a new one). Any context. */
void *vm_block_alloc_uninit(size_t bytes);
void vm_block_free(void *block, size_t bytes);
u64 vm_blocks_held(void);
/* Free pages held here rather than by the buddy allocator: the harts' caches, the depot's batches and
 * their lists, and the groups' pages not handed out yet. Any context; exact only when nothing runs. */
u64 page_cache_pages(void);
/* Of those, the pages in the depot's batches, lists not counted (vm/page_cache.c). Any context. */
u64 page_cache_depot_pages(void);
/* Pages asked of one node and served from another because it had none (buddy_stats.node_fallbacks). */
u64 page_cache_node_fallbacks(void);

#endif

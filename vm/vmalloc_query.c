/* Reading the arena without changing it, and its two settings: what a vmalloc address maps (vmalloc_to_pa,
 * vmalloc_to_page), the live area at an address (find_vm_area) and its backing, the counters a leak check
 * and the benchmarks read, and the lazy threshold and use-after-free switch. Contracts in vm/vmalloc.h.
 * Nothing here allocates, and only find_vm_area takes a lock (one busy-map stripe): these sit above the
 * entry points (vm/vmalloc.c) and are called by vrealloc, vm_map_ram, shm and the tests, never by them. */
#include "vm/vmalloc.h"
#include "vm/buddy.h"
#include "vm/page_cache.h"
#include "vm/pt_kr.h"
#include "vm/vmalloc_arena.h"
#include "vm/vmalloc_map.h"

struct vmap_area *find_vm_area(const void *addr)
{
	struct busy_stripe *b = busy_stripe_of((u64)(uptr)addr);
	busy_lock(b);
	struct vmap_area *a = (struct vmap_area *)va_busy_find(&b->map, (u64)(uptr)addr);
	busy_unlock(b);
	return a;
}

/* The translation of va from its leaf (level 0 or 1), without side effects. */
static inline u64 leaf_pa(u64 pte, int level, u64 va)
{
	u64 mask = level ? PMD_SIZE - 1 : PAGE_SIZE - 1;
	return ((pte >> 10) << PAGE_SHIFT) + (va & mask);
}

u64 vmalloc_to_pa(const void *addr)
{
	int level;
	u64 va = (u64)(uptr)addr;
	u64 pte = pt_kr_lookup(va, &level);
	if (!pte) return 0;
	/* Whoever has the address may write the page through another mapping (the direct map, a vmap, a
	 * device), which the leaf's D bit would not see: the page no longer counts as known-zero. */
	if (!level && (pte & (PTE_W | PTE_D)) == PTE_W) pt_kr_mark_dirty(va);
	return leaf_pa(pte, level, va);
}

u64 vmalloc_user_to_pa(const void *addr)
{
	int level;
	u64 va = (u64)(uptr)addr;
	u64 pte = pt_kr_lookup(va, &level);
	return pte ? leaf_pa(pte, level, va) : 0;
}

struct page *vmalloc_to_page(const void *addr)
{
	u64 pa = vmalloc_to_pa(addr);
	return pa ? pa_to_page(pa) : NULL;
}

u64 vm_area_backed_pages(const void *addr)
{
	struct vmap_area *a = find_vm_area(addr);
	return a ? a->nr_pages : 0;
}

u64 vm_live_areas(void) { return arena_stat_total(ARENA_STAT_LIVE_AREAS); }

void vm_lock_counts(u64 *arena_locks, u64 *stripe_locks, u64 *pool_locks)
{
	*pool_locks = arena_stat_total(ARENA_STAT_POOL_LOCKS);
	*arena_locks = arena_stat_total(ARENA_STAT_ARENA_LOCKS);
	*stripe_locks = arena_stat_total(ARENA_STAT_BUSY_LOCKS);
}

u64 vm_cached_pages(void)
{
	return vm_blocks_held() + page_cache_pages() + pt_kr_tables();
}

void vm_set_lazy_max_pages(u64 pages) { WRITE_ONCE(arena.lazy_max_pages, pages ? pages : 1); }

u64 vm_lazy_max_pages(void) { return READ_ONCE(arena.lazy_max_pages); }

bool vm_set_debug_uaf(bool on)
{
	bool was = READ_ONCE(vm_debug_uaf);
	WRITE_ONCE(vm_debug_uaf, on);
	return was;
}

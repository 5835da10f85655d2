/* The vmalloc arena's page-table work that is more than one call into vm/pt.c's kernel range (which does
 * every PTE write; single steps, such as populating 4 KiB pages or clearing leaves, the arena calls there
 * directly): 2 MiB blocks, and giving back level-0 tables, where a TLB flush must come between two
 * page-table steps. */
#include "vm/vmalloc_map.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/page_cache.h"
#include "vm/vmalloc_arena.h"
#include "vm/vmalloc_purge.h"

#define HUGE_ORDER 9 /* 2 MiB blocks */

u64 va_detach_tables(u64 va, u64 size)
{
	u64 chain = 0;
	for (u64 b = ALIGN_UP(va, PMD_SIZE); b + PMD_SIZE <= va + size; b += PMD_SIZE) {
		u64 pa;
		if (unlikely(pt_kr_detach_table(b, &pa))) {
			/* The caller unmapped the whole block: a leaf or a PTE still there is a mapping its owner
			 * lost track of. The table stays (freeing it would free what it maps), and it is said. */
			printk("vmalloc: 2 MiB block 0x%lx still maps something after its area was unmapped; its "
			       "page table is kept\n", b);
			continue;
		}
		if (!pa) continue;
		/* An empty table read by a stale walker finds this link as an invalid PTE (bit V clear). */
		*(u64 *)phys_to_virt(pa) = chain;
		va_check_table_detached(pa);
		chain = pa;
	}
	return chain;
}

void va_release_tables(u64 va, u64 size)
{
	u64 chain = va_detach_tables(va, size);
	if (!chain) return;
	/* A walker may hold a detached table until its TLB is flushed; only then can it be reused. */
	vm_flush_range_now(ALIGN_UP(va, PMD_SIZE), ALIGN_DOWN(va + size, PMD_SIZE) - ALIGN_UP(va, PMD_SIZE));
	va_check_tables_flushed(chain);
	vm_free_chain(chain);
}

/* Table reclaim: blocks taken from the index per pass step, i.e. per remote fence. */
#define RECLAIM_BATCH 64

static u32 reclaim_running;           /* one pass at a time, claimed by compare-and-swap */
static u64 reclaim_unreturned[RECLAIM_BATCH]; /* blocks the index had no node for: returned next pass */
static u32 reclaim_unreturned_n;

/* Gives n reclaimed blocks back to the index (every table of theirs flushed and freed); a block the index
 * has no node for (both its neighbours were taken meanwhile) joins the unreturned ones, still counted out,
 * for the next pass. The caller keeps n + reclaim_unreturned_n within RECLAIM_BATCH; fenced: the blocks'
 * tables were freed after a flush of their own, which the counters take in. */
static void reclaim_return(const u64 *blocks, u32 n, bool fenced)
{
	unsigned long f = arena_lock();
	if (fenced) {
		arena.st.table_reclaim_fences++;
		arena.st.tables_reclaimed += n;
	}
	for (u32 i = 0; i < n; i++) {
		if (va_index_free(&arena.free, blocks[i], PMD_SIZE) == -ENOMEM)
			reclaim_unreturned[reclaim_unreturned_n++] = blocks[i];
		else arena.table_blocks_out -= PMD_SIZE;
	}
	arena_unlock(f);
}

/* Frees a chain of reclaimed tables to the buddy allocator, not to this hart's page cache: the tables
 * were taken over a long time from wherever free pages were, and cached they would stay single pages
 * scattered over memory, each keeping its 2 MiB block from merging for a huge allocation (on a 256 MiB
 * machine the caches' few hundred pages sat in every free 2 MiB block). */
static void reclaim_free_tables(u64 chain)
{
	while (chain) {
		u64 next = *(u64 *)phys_to_virt(chain);
		buddy_free_order(chain, 0);
		chain = next;
	}
}

u64 va_reclaim_tables(void)
{
	u32 idle = 0;
	if (!__atomic_compare_exchange_n(&reclaim_running, &idle, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return 0;
	u64 freed = 0, blocks[RECLAIM_BATCH];
	u32 n = reclaim_unreturned_n;
	memcpy(blocks, reclaim_unreturned, n * sizeof(u64));
	reclaim_unreturned_n = 0;
	reclaim_return(blocks, n, false);
	for (u64 va = pt_kr_next_table(0); va;) {
		u64 chain = 0;
		for (n = 0; va && n + reclaim_unreturned_n < RECLAIM_BATCH; va = pt_kr_next_table(va + PMD_SIZE)) {
			/* Only a block the index holds whole is nobody's: no area, lazy range, cache, pool or chunk
			 * has any of it, so no one maps into it or installs its table while it is out. */
			u64 got;
			unsigned long f = arena_lock();
			bool ours = !va_index_alloc_in(&arena.free, PMD_SIZE, PMD_SIZE, va, va + PMD_SIZE, &got);
			if (ours) arena.table_blocks_out += PMD_SIZE;
			arena_unlock(f);
			if (!ours) continue;
			/* No table: a huge mapping's set-up took it before the block was free, or the block still
			 * maps something (said, and its table kept). */
			u64 pa = va_detach_tables(va, PMD_SIZE);
			if (!pa) {
				reclaim_return(&va, 1, false);
				continue;
			}
			*(u64 *)phys_to_virt(pa) = chain; /* bit V clear: a stale walker finds an invalid PTE */
			chain = pa;
			blocks[n++] = va;
		}
		if (!n) break;
		/* A walker may hold a detached table, or the level-1 entry that pointed to it, until its TLB is
		 * flushed: the tables are freed, and the blocks open to new tables, only after every hart's. A
		 * span of more than a page is flushed whole, so the blocks need not touch. */
		vm_flush_range_now(blocks[0], (u64)n * PMD_SIZE);
		va_check_tables_flushed(chain);
		reclaim_free_tables(chain);
		reclaim_return(blocks, n, true);
		freed += n;
	}
	store_release(reclaim_running, 0);
	return freed;
}

int va_populate_huge(u64 va, u64 size, int node, bool zero)
{
	u64 off;

	/* The range is ours, so every level-0 table in it is a leftover of purged areas: empty, and
	 * given back to make room for the leaves (Linux's pmd_free_pte_page). One still in use means the
	 * caller does not own the range: fall back rather than touch it. */
	va_release_tables(va, size);
	for (off = 0; off < size; off += PMD_SIZE) {
		u64 pa = buddy_alloc_order(HUGE_ORDER, node, 0);
		if (!pa) goto fail;
		if (zero) memset(phys_to_virt(pa), 0, PMD_SIZE);
		if (pt_kr_map_huge(va + off, pa)) {
			buddy_free_order(pa, HUGE_ORDER);
			goto fail;
		}
	}
	return 0;
fail:
	/* The caller maps the same range again at once (4 KiB pages, or blocks in a later grow): a hart
	 * that cached one of these leaves, even speculatively, must have forgotten it first. */
	if (off) va_unmap_huge_flushed(va, off);
	return -ENOMEM;
}

u32 va_unmap_huge(u64 va, u64 size)
{
	u32 pages = 0;
	for (u64 off = 0; off < size; off += PMD_SIZE) {
		u64 pa = pt_kr_clear_huge(va + off);
		if (!pa) continue;
		buddy_free_order(pa, HUGE_ORDER);
		pages += PMD_SIZE >> PAGE_SHIFT;
	}
	return pages;
}

u32 va_unmap_huge_flushed(u64 va, u64 size)
{
	/* Batches of blocks on the stack rather than a chain through the blocks themselves: until the flush a
	 * stale translation on another hart may still write into a block, and would corrupt a link. */
	u64 pas[32];
	u32 pages = 0;
	for (u64 off = 0; off < size;) {
		u64 start = off;
		u32 n = 0;
		for (; off < size && n < ARRAY_SIZE(pas); off += PMD_SIZE) {
			u64 pa = pt_kr_clear_huge(va + off);
			if (pa) pas[n++] = pa;
		}
		if (!n) continue;
		vm_flush_range_now(va + start, off - start);
		for (u32 i = 0; i < n; i++) buddy_free_order(pas[i], HUGE_ORDER);
		pages += n * (u32)(PMD_SIZE >> PAGE_SHIFT);
	}
	return pages;
}

int va_make_room_huge(u64 va, u64 size)
{
	/* Empty level-0 tables left by purged areas are given back (after a flush); anything else in the
	 * way means the range is not free for leaves. */
	va_release_tables(va, size);
	for (u64 off = 0; off < size; off += PMD_SIZE)
		if (!pt_kr_slot_empty(va + off)) return -EBUSY;
	return 0;
}

int va_move_huge(u64 from, u64 to, u64 size)
{
	int e = va_make_room_huge(to, size);
	if (e) return e;
	/* Every destination slot is empty and the caller owns both ranges: no move below can fail. */
	for (u64 off = 0; off < size; off += PMD_SIZE) pt_kr_move_huge(from + off, to + off);
	return 0;
}

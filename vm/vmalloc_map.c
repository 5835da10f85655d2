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
	vm_free_chain(chain);
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
	va_unmap_huge(va, off);
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

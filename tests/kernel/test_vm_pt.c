/* The page-table engine under the vmalloc arena (vm/pt.c's kernel range): huge leaves on an arena that
 * has been used, a huge request that cannot get 2 MiB blocks falling back at its real size, and level-0
 * tables given back once the areas that emptied them are purged, or once their blocks are wholly free. */
#include "kernel/ktest.h"
#include "lib/percpu.h"
#include "lib/string.h"
#include "vm/buddy.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_purge.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"

/* Leaf level of the mapping at p: 0 for 4 KiB, 1 for 2 MiB, -1 when unmapped. */
static int leaf_level(const void *p)
{
	int level = -1;
	return pt_kr_lookup((u64)(uptr)p, &level) ? level : -1;
}

/* The arena's low addresses have held 4 KiB mappings (one large area, then many small ones) and have
 * been purged: a 4 MiB huge request landing there must still get two 2 MiB leaves. */
static void huge_leaves_on_used_arena(struct ktest *t)
{
	u8 *big = vmalloc(24 << 20);
	KT_ASSERT(t, big);
	memset(big, 1, 24 << 20);
	vfree(big);
	static void *small[1024]; /* static: tests run on a 16 KiB boot stack */
	for (u32 i = 0; i < ARRAY_SIZE(small); i++) small[i] = vmalloc(PAGE_SIZE);
	for (u32 i = 0; i < ARRAY_SIZE(small); i++) vfree(small[i]);
	vm_purge();

	u8 *p = vmalloc_huge(4 << 20, 0);
	KT_ASSERT(t, p);
	struct vmap_area *a = find_vm_area(p);
	KT_EXPECT(t, a && (a->flags & VM_HUGE) && a->size == (4UL << 20));
	KT_EXPECT(t, leaf_level(p) == 1);
	KT_EXPECT(t, leaf_level(p + (2 << 20)) == 1);
	KT_EXPECT(t, (uptr)p < (uptr)big + (24 << 20)); /* it did land on the used part of the arena */
	p[0] = 1;
	p[(4 << 20) - 1] = 2;
	vfree(p);
}

/* With no free 2 MiB block, a huge request maps 4 KiB pages for exactly what was asked (page rounded),
 * is charged for those pages only, and the rest of its 2 MiB-rounded range faults like a guard. */
static void huge_fallback_at_real_size(struct ktest *t)
{
	static u64 held[4096]; /* 8 GiB of 2 MiB blocks */
	u64 n = 0;
	while (n < ARRAY_SIZE(held)) {
		u64 pa = buddy_alloc_order(9, PA_ANY_NODE, 0);
		if (!pa) break;
		held[n++] = pa;
	}
	KT_ASSERT(t, n < ARRAY_SIZE(held)); /* every 2 MiB block is taken */
	struct vm_stats a, b;
	vm_get_stats(&a);
	u64 size = (3 << 20) + 100;
	u8 *p = vmalloc_huge(size, 0);
	vm_get_stats(&b);
	for (u64 i = 0; i < n; i++) buddy_free_order(held[i], 9);
	KT_ASSERT(t, p);
	struct vmap_area *ar = find_vm_area(p);
	KT_EXPECT(t, b.huge_fallbacks == a.huge_fallbacks + 1);
	KT_EXPECT(t, ar && !(ar->flags & VM_HUGE) && ar->size == ALIGN_UP(size, PAGE_SIZE));
	KT_EXPECT(t, ar && ar->nr_pages == ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE);
	KT_EXPECT(t, b.live_pages - a.live_pages == ALIGN_UP(size, PAGE_SIZE) / PAGE_SIZE);
	KT_EXPECT(t, leaf_level(p) == 0 && leaf_level(p + size - 1) == 0);
	KT_EXPECT(t, leaf_level(p + ALIGN_UP(size, PAGE_SIZE)) == -1);
	p[size - 1] = 1;
	vfree(p);
}

/* An area covering whole 2 MiB blocks empties their level-0 tables when freed; the purge gives them back. */
static void empty_tables_given_back(struct ktest *t)
{
	vm_purge();
	u64 before = pt_kr_tables();
	u8 *p = vmalloc(8 << 20);
	KT_ASSERT(t, p);
	u64 during = pt_kr_tables(); /* 8 MiB of 4 KiB leaves: at least four tables, new or reused */
	vfree(p);
	vm_purge();
	u64 after = pt_kr_tables();
	KT_EXPECT(t, during - after >= 3); /* at least the three blocks wholly inside the area */
	KT_EXPECT(t, after <= before + 2); /* at most the two part-used blocks at its ends stay */
}

/* Small areas leave their level-0 tables behind (each area clears only its own leaves); vm_purge gives
 * back the table of every 2 MiB block left wholly free, keeps the block of an area still live (which
 * stays mapped and intact), and a block whose table went can be mapped again. */
static void free_blocks_tables_reclaimed(struct ktest *t)
{
	static u8 *small[2048]; /* 2048 x (1 page + guard): 16 MiB, eight 2 MiB blocks or more */
	static u64 used[128];   /* the blocks they lie in, each once */
	bool one = nr_harts_online == 1;
	vm_purge();
	u64 before = pt_kr_tables();
	u32 made = 0, nused = 0;
	for (; made < ARRAY_SIZE(small); made++) {
		if (!(small[made] = vmalloc(PAGE_SIZE))) break;
		small[made][0] = (u8)made;
		u64 block = ALIGN_DOWN((u64)(uptr)small[made], PMD_SIZE);
		bool seen = false;
		for (u32 j = 0; j < nused; j++) seen |= used[j] == block;
		if (!seen && nused < ARRAY_SIZE(used)) used[nused++] = block;
	}
	KT_ASSERT(t, made == ARRAY_SIZE(small));
	KT_EXPECT(t, nused >= 8);
	u64 during = pt_kr_tables();
	u8 *kept = small[made / 2]; /* live through the reclaim: its block keeps its table */
	memset(kept, 0x5a, PAGE_SIZE);
	for (u32 i = 0; i < made; i++)
		if (small[i] != kept) vfree(small[i]);
	vm_purge();
	/* Another hart's idle purge may have filled its own caches with some of these ranges: ask every
	 * hart for what it holds, and purge again, which gives back the tables of the blocks now free. On
	 * a loaded host one such hart held a range in every block, and nothing was emptied. */
	if (!one) {
		vm_purge_ask_harts();
		vm_purge();
	}
	u64 after = pt_kr_tables();
	u32 emptied = 0;
	for (u32 j = 0; j < nused; j++) emptied += pt_kr_slot_empty(used[j]);
	/* On one hart every block these areas used is wholly free again but the kept one's and the two at
	 * the ends, which older areas may share; with more harts another hart's caches may hold ranges in
	 * some (an idle hart's purge fills its own caches), so at least one. */
	KT_EXPECT(t, emptied >= (one ? nused - 3 : 1));
	KT_EXPECT(t, during - after >= emptied);
	if (one) KT_EXPECT(t, after <= before + 1);
	KT_EXPECT(t, leaf_level(kept) == 0);
	bool intact = true;
	for (u32 i = 0; i < PAGE_SIZE; i++) intact &= kept[i] == 0x5a;
	KT_EXPECT(t, intact);
	/* The emptied blocks are mapped again, through new tables: on one hart lowest fit returns to them. */
	u32 reused = 0;
	for (made = 0; made < ARRAY_SIZE(small); made++) {
		if (!(small[made] = vmalloc(PAGE_SIZE))) break;
		memset(small[made], (int)made, 64);
		u64 block = ALIGN_DOWN((u64)(uptr)small[made], PMD_SIZE);
		for (u32 j = 0; j < nused; j++) reused += used[j] == block;
	}
	KT_EXPECT(t, made == ARRAY_SIZE(small));
	if (one) KT_EXPECT(t, reused >= made / 2);
	bool reads_back = true;
	for (u32 i = 0; i < made; i++) reads_back &= small[i][63] == (u8)i;
	KT_EXPECT(t, reads_back);
	for (u32 i = 0; i < made; i++) vfree(small[i]);
	vfree(kept);
	vm_purge();
	if (one) KT_EXPECT(t, pt_kr_tables() <= before);
}

/* A vmalloc that finds no page gives back the tables of wholly free blocks before it gives up, and gets
 * its page from them. */
static void out_of_pages_reclaims_tables(struct ktest *t)
{
	static u8 *small[2048];
	vm_purge();
	for (u32 i = 0; i < ARRAY_SIZE(small); i++) KT_ASSERT(t, (small[i] = vmalloc(PAGE_SIZE)) != NULL);
	for (u32 i = 0; i < ARRAY_SIZE(small); i++) vfree(small[i]);
	vm_purge_parked(); /* the purge alone: the blocks these areas emptied keep their tables */
	/* Ranges another hart's idle purge took into its caches come back too, or no block may be wholly
	 * free (seen once on a loaded host: nothing to reclaim, and the vmalloc failed). */
	if (nr_harts_online > 1) vm_purge_ask_harts();
	u64 tables = pt_kr_tables();
	/* Every page this hart can get, chained through themselves: the next vmalloc finds none. The chain
	 * is in the order they came, and given back in that order, so this hart's page cache ends holding
	 * the pages it held before rather than the last fragments of free memory. */
	u64 chain = 0, tail = 0;
	for (u64 pa; (pa = page_cache_alloc(PA_ANY_NODE)); tail = pa) {
		*(u64 *)phys_to_virt(pa) = 0;
		if (tail) *(u64 *)phys_to_virt(tail) = pa;
		else chain = pa;
	}
	struct vm_stats a, b;
	vm_get_stats(&a);
	u8 *p = vmalloc(PAGE_SIZE);
	vm_get_stats(&b);
	vm_free_chain(chain);
	KT_EXPECT(t, p != NULL);
	KT_EXPECT(t, b.tables_reclaimed > a.tables_reclaimed && pt_kr_tables() < tables);
	if (p) {
		p[PAGE_SIZE - 1] = 1;
		vfree(p);
	}
}

KTEST_SUITE(vm_pt, {"huge_leaves_on_used_arena", huge_leaves_on_used_arena},
	    {"huge_fallback_at_real_size", huge_fallback_at_real_size},
	    {"empty_tables_given_back", empty_tables_given_back},
	    {"free_blocks_tables_reclaimed", free_blocks_tables_reclaimed},
	    {"out_of_pages_reclaims_tables", out_of_pages_reclaims_tables});

/* Suite `purge_burst`: the purge's give-back when the free-range index runs out of nodes, and a freeing
 * hart's capped give-back burst (vm/vmalloc_purge.c, GIVE_BACK_INSERTS). Both check the lazy and fenced
 * counters against what the lists hold, and on the VM_DEBUG image the whole-arena walk after each step.
 * The index is starved by hand (fault injection on its node pool), as when no page can be had for a node:
 * the ranges it cannot take are parked, and must be counted as what they are. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_arena.h"
#include "vm/vmalloc_cache.h"
#include "vm/vmalloc_purge.h"
#include "vm/vmalloc_walk.h"

/* Fault injection: the extent index gets no new node (as when no page can be had for one). */
static struct node_pool extent_saved;
static void extents_fail(void)
{
	struct node_pool *ep = &arena.extent_pool;
	unsigned long f = arena_lock();
	extent_saved = *ep;
	ep->free_list = NULL;
	ep->free_objects = 0;
	ep->objsize = 0;
	arena_unlock(f);
}
static void extents_restore(void)
{
	struct node_pool *ep = &arena.extent_pool;
	unsigned long f = arena_lock();
	void *put = ep->free_list; /* extents merged away meanwhile */
	u64 in_use = ep->in_use;
	*ep = extent_saved;
	ep->in_use = in_use;
	while (put) {
		void *next = *(void **)put;
		*(void **)put = ep->free_list;
		ep->free_list = put;
		ep->free_objects++;
		put = next;
	}
	arena_unlock(f);
}

/* vm_purge, then nothing parked or fenced, and (VM_DEBUG) the whole-arena walk passes. */
static void expect_all_given_back(struct ktest *t)
{
	struct vm_stats st;
	vm_purge();
	vm_get_stats(&st);
	KT_EXPECT(t, st.fenced_areas == 0 && st.lazy_areas == 0 && st.lazy_pages == 0);
	va_walk_arena();
}

/* Fills p with n 20-page areas and frees every other one: n / 2 parked areas, none touching another
 * free range, so each is an insert of its own when given back. */
static bool park_scattered(void **p, u32 n)
{
	for (u32 i = 0; i < n; i++)
		if (!(p[i] = vmalloc(20 * PAGE_SIZE))) return false;
	for (u32 i = 0; i < n; i += 2) vfree(p[i]);
	return true;
}

/* A refill's records come from node pool pages that are not zeroed (vm_block_alloc_uninit): a cached area
 * has only its range written. When the index has no node to take such a range back (ranges_return), it is
 * parked on the lazy list, which counts its pages from a->size: never written since node_pool_get. The
 * pool's uncarved tail is filled here with what a reused page may hold (the page's last owner's bytes). */
static void parked_cached_range_counts_sane_pages(struct ktest *t)
{
	const u32 cap = 1u << 17;
	void **held = vmalloc(cap * sizeof(void *));
	struct node_pool *ap = &arena.area_pool;
	struct vm_stats st;
	KT_ASSERT(t, held);
	vm_purge();
	vm_purge_wait_idle();
	unsigned long f = arena_lock();
	u32 n = 0; /* hold every recycled record, and carve until a fresh page's tail is all that is left */
	while (n < cap && (ap->free_objects || (char *)ap->carve_next != (char *)ap->pages + 16 + ap->objsize))
		held[n++] = node_pool_get(ap);
	memset(ap->carve_next, 0xa5, (uptr)ap->carve_end - (uptr)ap->carve_next); /* the page's old bytes */
	arena_unlock(f);
	KT_ASSERT(t, n < cap);
	u8 *p = vmalloc(PAGE_SIZE); /* refills this hart's cache: a magazine of records carved from that tail */
	KT_ASSERT(t, p);
	/* No node for the extent index: every cached range that touches no free one is parked. */
	extents_fail();
	va_cache_flush();
	extents_restore();
	f = arena_lock();
	for (u32 i = 0; i < n; i++) node_pool_put(ap, held[i]);
	arena_unlock(f);
	vfree(held);
	vm_get_stats(&st);
	printk("# parked cached ranges: lazy_areas=%lu lazy_pages=%lu\n", st.lazy_areas, st.lazy_pages);
	KT_EXPECT(t, st.lazy_areas >= 1 && st.lazy_pages <= 4 * st.lazy_areas);
	vfree(p);
	expect_all_given_back(t);
}

/* A freeing hart's burst of big, scattered areas: 16 inserts, the rest parked fenced again in the same
 * hold (its list totals set first). The whole-arena walk (VM_DEBUG) checks the fenced lists against
 * fenced_areas and every area's home while reparked lists wait, then later bursts and vm_purge empty them. */
static void capped_burst_reparks_consistently(struct ktest *t)
{
	if (nr_harts_online > 1) {
		ktest_skip(t, "idle harts give back whole batches when there are several");
		return;
	}
	enum { N = 160, PARKED = N / 2 };
	static void *p[N];
	const u64 old = vm_lazy_max_pages();
	struct vm_stats st;
	vm_purge();
	vm_set_lazy_max_pages(1UL << 30); /* no purge but the ones this case runs */
	KT_ASSERT(t, park_scattered(p, N));
	vm_purge_inline();
	vm_get_stats(&st);
	printk("# after the inline purge: lazy_areas %lu fenced_areas %lu\n", st.lazy_areas, st.fenced_areas);
	KT_EXPECT(t, st.lazy_areas == 0 && st.fenced_areas == PARKED - 16);
	va_walk_arena();
	for (u64 before = st.fenced_areas, k = 0; k < 8 && before; k++, before = st.fenced_areas) {
		vm_purge_give_back_some(~0ULL);
		vm_get_stats(&st);
		printk("# give_back_some: fenced_areas %lu -> %lu\n", before, st.fenced_areas);
		KT_EXPECT(t, before - st.fenced_areas == MIN(before, 16));
		va_walk_arena();
	}
	expect_all_given_back(t);
	for (u32 i = 1; i < N; i += 2) vfree(p[i]);
	vm_purge();
	/* The same with the index out of nodes: the burst's runs are parked lazy, the rest reparked. */
	KT_ASSERT(t, park_scattered(p, N));
	extents_fail();
	vm_purge_inline();
	extents_restore();
	vm_get_stats(&st);
	printk("# inline purge without nodes: lazy_areas %lu fenced_areas %lu\n", st.lazy_areas, st.fenced_areas);
	KT_EXPECT(t, st.lazy_areas >= 1 && st.lazy_areas <= 16 && st.fenced_areas == PARKED - 16);
	va_walk_arena();
	expect_all_given_back(t);
	for (u32 i = 1; i < N; i += 2) vfree(p[i]);
	vm_purge();
	vm_set_lazy_max_pages(old);
}

KTEST_SUITE(purge_burst, {"parked_cached_range_counts_sane_pages", parked_cached_range_counts_sane_pages},
	    {"capped_burst_reparks_consistently", capped_burst_reparks_consistently});

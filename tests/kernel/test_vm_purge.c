/* Suite `purge`: lazy TLB flushing. Freed ranges are not reused before a purge, a batch costs one local and
 * at most one remote fence, N single-page vfrees cost at most ceil(N / threshold) purges, and the counters
 * say so. */
#include "kernel/ktest.h"
#include "kernel/smp.h"
#include "lib/bootargs.h"
#include "lib/percpu.h"
#include "lib/printk.h"
#include "lib/tlb_shootdown.h"
#include "vm/vmalloc.h"
#include "vm/vmalloc_cache.h"
#include "vm/page_cache.h"
#include "vm/buddy.h"
#include "vm/vmalloc_purge.h"
#include "tests/kernel/purge_batch.h"

static void freed_range_waits_for_purge(struct ktest *t)
{
	struct vm_stats st;
	vm_purge();
	u8 *p = vmalloc(3 * PAGE_SIZE);
	KT_ASSERT(t, p);
	vfree(p);
	vm_get_stats(&st);
	KT_EXPECT(t, st.lazy_pages == 3 && st.lazy_areas == 1);
	u8 *q = vmalloc(3 * PAGE_SIZE);
	KT_EXPECT(t, q && q != p); /* not reused while other TLBs may hold it */
	vfree(q);
	vm_purge();
	vm_get_stats(&st);
	KT_EXPECT(t, st.lazy_pages == 0 && st.lazy_areas == 0);
	u8 *r = vmalloc(3 * PAGE_SIZE);
	KT_EXPECT(t, r == p); /* lowest fit again after the purge */
	vfree(r);
}

static void batch_costs_one_fence_each(struct ktest *t)
{
	const u64 n = 1000, limit = 64, old = vm_lazy_max_pages();
	struct vm_stats a, b;
	vm_purge();
	vm_set_lazy_max_pages(limit);
	vm_get_stats(&a);
	for (u64 i = 0; i < n; i++) {
		void *p = vmalloc(PAGE_SIZE);
		KT_ASSERT(t, p);
		vfree(p);
	}
	vm_purge_wait_idle(); /* an idle hart may be purging what the last vfree kicked */
	vm_get_stats(&b);
	vm_set_lazy_max_pages(old);
	/* Purges run on idle harts while frees go on, so a batch may hold more than the threshold: at least
	 * one purge, never more than one per threshold's worth of pages. */
	u64 purges = b.purges - a.purges, bound = (n + limit - 1) / limit;
	KT_EXPECT(t, purges >= 1 && purges <= bound);
	KT_EXPECT(t, b.remote_fences - a.remote_fences <= bound);
	KT_EXPECT(t, b.local_fences - a.local_fences == purges);
	if (nr_harts_online > 1) KT_EXPECT(t, b.remote_fences - a.remote_fences == purges);
	else KT_EXPECT(t, b.remote_fences == a.remote_fences);
	KT_EXPECT(t, b.flushed_pages > a.flushed_pages);
}

static void wide_batch_flushes_all(struct ktest *t)
{
	struct vm_stats a, b;
	vm_purge();
	park_100_then_purge(t, &a, &b);
	KT_EXPECT(t, b.purges == a.purges + 1 && b.full_flushes == a.full_flushes + 1);
	KT_EXPECT(t, b.lazy_pages == 0);
}

static void threshold_is_linux_default(struct ktest *t)
{
	/* Linux's lazy_max_pages is 32 MiB times fls(online cpus), written out here per hart count rather
	 * than computed with the expression the code uses: fls(1) = 1, fls(2..3) = 2, fls(4..7) = 3,
	 * fls(8..15) = 4 (8192 pages of 4 KiB per 32 MiB). Unless the vmalloc.lazy_max_pages bootarg set it. */
	static const u64 want_by_harts[] = {0, 8192, 16384, 16384, 24576, 24576, 24576, 24576, 32768};
	u64 found = vm_lazy_max_pages();
	if (!bootarg_has("vmalloc.lazy_max_pages") && nr_harts_online < ARRAY_SIZE(want_by_harts))
		KT_EXPECT(t, found == want_by_harts[nr_harts_online]);
	vm_set_lazy_max_pages(0); /* 0 would never purge: clamped to 1 */
	KT_EXPECT(t, vm_lazy_max_pages() == 1);
	vm_set_lazy_max_pages(found); /* as it was, bootarg or default, for the suites after this one */
	KT_EXPECT(t, vm_lazy_max_pages() == found);
}

/* Purges everything, sets the lazy threshold to `limit` pages and takes n one-page areas into p. */
static void alloc_one_page_areas(struct ktest *t, void **p, u32 n, u64 limit)
{
	vm_purge();
	vm_set_lazy_max_pages(limit);
	u32 got = 0;
	for (; got < n && (p[got] = vmalloc(PAGE_SIZE)); got++) {}
	KT_EXPECT(t, got == n);
}

/* What a series of calls did to the fenced areas, each call's effect seen by vm_get_stats after it. */
struct fenced_watch {
	u64 most, now, shrinks;
	u64 odd; /* shrinks by other than one 32-area burst, or at or below the backlog */
};

static void fenced_watch_step(struct fenced_watch *w, u64 backlog)
{
	struct vm_stats st;
	vm_get_stats(&st);
	w->most = MAX(w->most, st.fenced_areas);
	if (st.fenced_areas < w->now) {
		w->shrinks++;
		if (w->now - st.fenced_areas != MIN(w->now, 32) || w->now <= backlog) w->odd++;
	}
	w->now = st.fenced_areas;
}

/* Gives everything back and checks that nothing is left lazy or fenced; the threshold back to `old`. */
static void purge_all_and_check(struct ktest *t, u64 old)
{
	struct vm_stats st;
	vm_purge();
	vm_get_stats(&st);
	KT_EXPECT(t, st.fenced_areas == 0 && st.lazy_areas == 0 && st.lazy_pages == 0);
	vm_set_lazy_max_pages(old);
}

/* A hart alone purges in its own vfree but gives back only a burst (32 areas) itself: the rest waits,
 * fenced. Frees leave it there (below four thresholds' worth); each allocation its hart's cache cannot
 * serve gives back a burst first, into that cache, so no call pays for a whole batch (tail latency, `make
 * bench` section 7) and the records an allocation pops are the ones its hart just walked; vm_purge gives
 * back everything. On several harts idle harts purge and give back whole batches: this case needs the
 * lone hart (the 1-hart boots run it). */
static void lone_purge_gives_back_in_bursts(struct ktest *t)
{
	if (nr_harts_online > 1) {
		ktest_skip(t, "idle harts purge whole batches when there are several");
		return;
	}
	const u64 limit = 96, old = vm_lazy_max_pages();
	static void *p[200];
	struct fenced_watch frees = {0}, allocs;
	alloc_one_page_areas(t, p, ARRAY_SIZE(p), limit);
	for (u32 i = 0; i < ARRAY_SIZE(p); i++) {
		vfree(p[i]);
		fenced_watch_step(&frees, ~0ULL); /* below the backlog: any shrink is odd */
	}
	/* Each purge takes ~96 one-page areas, gives 32 back and leaves ~64 fenced; the frees keep them. */
	KT_EXPECT(t, frees.shrinks == 0);
	KT_EXPECT(t, frees.most >= limit - 32 && frees.most <= 2 * limit && frees.now == frees.most);
	/* The allocations: from what the purges' first bursts put in this hart's cache, then a burst each
	 * time it is empty. */
	allocs = (struct fenced_watch){.now = frees.now};
	u32 n = 0;
	for (; n < ARRAY_SIZE(p) && (p[n] = vmalloc(PAGE_SIZE)); n++) fenced_watch_step(&allocs, 0);
	KT_EXPECT(t, n == ARRAY_SIZE(p));
	printk("# fenced %lu at most, %lu bursts given back by allocations, %lu fenced left\n", frees.most,
	       allocs.shrinks, allocs.now);
	KT_EXPECT(t, allocs.shrinks >= 2 && allocs.odd == 0 && allocs.now == 0);
	for (u32 i = 0; i < n; i++) vfree(p[i]);
	purge_all_and_check(t, old);
}

/* Harts that free and do not allocate: past four thresholds' worth of fenced areas each free gives back a
 * burst (vm_purge_give_back_backlog), so a purge's ranges and detached tables do not wait for an idle
 * hart. Lone hart, as above: with limit 64 each inline purge leaves 32 more fenced. */
static void frees_give_back_past_the_backlog(struct ktest *t)
{
	if (nr_harts_online > 1) {
		ktest_skip(t, "idle harts purge whole batches when there are several");
		return;
	}
	const u64 limit = 64, old = vm_lazy_max_pages();
	static void *p[704];
	struct fenced_watch frees = {0};
	alloc_one_page_areas(t, p, ARRAY_SIZE(p), limit);
	for (u32 i = 0; i < ARRAY_SIZE(p); i++) {
		vfree(p[i]);
		fenced_watch_step(&frees, 4 * limit);
	}
	printk("# fenced %lu at most, %lu bursts given back by frees\n", frees.most, frees.shrinks);
	KT_EXPECT(t, frees.shrinks >= 2 && frees.odd == 0);
	KT_EXPECT(t, frees.most > 4 * limit && frees.most <= 5 * limit);
	purge_all_and_check(t, old);
}

/* The purge keeps small areas for reuse: the purging hart's own cache of the class first, which hands its
 * newest magazine's worth to the class's pool whenever it reaches two (so the pool's lock is taken once per
 * whole magazine); a hart takes a magazine from the pool whole once its own cache is empty; the next purge
 * of an idle hart gives the oldest quarter of each pool's magazines back to the index first. */
static void pools_keep_magazines_and_age(struct ktest *t)
{
	static void *p[1024]; /* 8 magazines of one-page areas; static: a 16 KiB boot stack */
	static void *q[2 * 128 + 1];
	const u64 mag = va_mag_areas(2), n = ARRAY_SIZE(p), old = vm_lazy_max_pages();
	struct va_class_cache *own = va_cache_of(&arena_harts[this_hart_index()], 2 * PAGE_SIZE);
	KT_ASSERT(t, n % mag == 0 && ARRAY_SIZE(q) == 2 * mag + 1);
	vm_purge(); /* pools and this hart's caches back to the index */
	KT_EXPECT(t, va_pooled_areas() == 0 && own->count == 0);
	vm_set_lazy_max_pages(1UL << 30); /* nothing purges on its own meanwhile */
	u32 got = 0;
	for (; got < n && (p[got] = vmalloc(PAGE_SIZE)); got++) {}
	KT_EXPECT(t, got == n);
	for (u32 i = 0; i < got; i++) vfree(p[i]);
	vm_purge_aging();
	KT_EXPECT(t, own->count == mag); /* it reached two magazines seven times and gave one each time */
	KT_EXPECT(t, va_pooled_areas() == got - mag);
	u32 took = 0;
	for (; took < ARRAY_SIZE(q) && (q[took] = vmalloc(PAGE_SIZE)); took++) {}
	KT_ASSERT(t, took == ARRAY_SIZE(q));
	/* Its own magazine, then two taken whole from the pool (all of the first, one area of the second). */
	KT_EXPECT(t, own->count == mag - 1);
	KT_EXPECT(t, va_pooled_areas() == got - 3 * mag);
	for (u32 i = 0; i < took; i++) vfree(q[i]);
	/* A quarter of the pool's magazines (rounded down) go first; then the cache takes the batch, handing
	 * a magazine to the pool each time it reaches two: twice, back to one magazine. */
	vm_purge_aging();
	u64 mags = (got - 3 * mag) / mag;
	KT_EXPECT(t, own->count == mag);
	KT_EXPECT(t, va_pooled_areas() == got - 3 * mag - mags / 4 * mag + 2 * mag);
	vm_set_lazy_max_pages(old);
	vm_purge();
	KT_EXPECT(t, va_pooled_areas() == 0 && own->count == 0);
}

/* Two purges' worth of small areas with no reuse between them (full_fit frees its junk areas, then the
 * ones it kept) all stay in the pools: with room for one purge only, the second went back to the index
 * range by range under the arena lock. 24,576 one-page vmaps of a single page (no page per area, so
 * small machines run it too), freed and purged in two halves of 1.5 times a threshold of 8192 pages. */
static void pools_hold_two_purges(struct ktest *t)
{
	enum { HALF = 12288, N = 2 * HALF };
	static void *v[N];
	const u64 old = vm_lazy_max_pages();
	struct va_class_cache *own = va_cache_of(&arena_harts[this_hart_index()], 2 * PAGE_SIZE);
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pg = pa_to_page(pa);
	vm_purge();
	vm_set_lazy_max_pages(1UL << 30); /* only the purges below */
	u32 got = 0;
	for (; got < N && (v[got] = vmap(&pg, 1, 0, 0)); got++) {}
	KT_EXPECT(t, got == N);
	/* Each purge gives its batch back with the pools' room read from the threshold: four times 8192
	 * areas now, two before. Between purges the threshold is out of reach again, so that no purge
	 * starts on its own in the middle of a half. */
	for (u32 i = 0; i < HALF; i++) vunmap(v[i]);
	vm_set_lazy_max_pages(8192);
	vm_purge_aging();
	vm_set_lazy_max_pages(1UL << 30);
	KT_EXPECT(t, va_pooled_areas() + own->count == HALF);
	/* The next purge (an idle hart's, as vm_purge_aging runs it) first gives back the oldest quarter
	 * of the pool's magazines, all full ones; then every area of its batch joins the pool. */
	u64 decayed = READ_ONCE(va_pools[1].mags) / 4 * va_mag_areas(2);
	for (u32 i = HALF; i < got; i++) vunmap(v[i]);
	vm_set_lazy_max_pages(8192);
	vm_purge_aging();
	KT_EXPECT(t, va_pooled_areas() + own->count == got - decayed);
	vm_set_lazy_max_pages(old);
	vm_purge();
	KT_EXPECT(t, va_pooled_areas() == 0 && own->count == 0);
	buddy_free_order(pa, 0);
}

/* A freeing hart's inline purge fences every hart's parked areas but gives back its own first: their
 * records were last written on its own core. This hart parks 64 one-page areas; then another hart parks
 * 32 and runs the free path's inline purge (vm_purge_inline: one burst of 32 areas given back). That
 * burst must be its own 32, with all 64 of this hart's still fenced. The purge is called, not left to
 * vm_purge_kick's threshold test, whose count of parked pages runs below zero for a while when a purge
 * takes pages other harts have not published yet (earlier suites'). Both are looked at on the other hart before it returns to its idle loop,
 * which would give back everything fenced; the harts not in the test wait meanwhile in a cross-hart
 * wait, not in their idle loops, for the same reason (an IPI shootdown wakes them). */
static struct own_first {
	void *mine[64], *theirs[32];
	u32 mine_parked, theirs_parked, got, waiting, looked, release;
} of;

static void wait_out(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&of.waiting, 1, __ATOMIC_ACQ_REL);
	harts_kick_others(); /* the test's hart sleeps until every bystander is here */
	hart_wait_until(__atomic_load_n(&of.release, __ATOMIC_ACQUIRE));
}

static void free_and_look(void *arg)
{
	(void)arg;
	for (of.got = 0; of.got < 32 && (of.theirs[of.got] = vmalloc(PAGE_SIZE)); of.got++) {}
	for (u32 i = 0; i < of.got; i++) vfree(of.theirs[i]);
	vm_set_lazy_max_pages(16); /* a burst of max(32, 16 / 64) areas */
	vm_purge_inline();
	for (u32 i = 0; i < 64; i++) of.mine_parked += va_lazy_find((u64)(uptr)of.mine[i], false) != NULL;
	for (u32 i = 0; i < of.got; i++) of.theirs_parked += va_lazy_find((u64)(uptr)of.theirs[i], false) != NULL;
	__atomic_store_n(&of.looked, 1, __ATOMIC_RELEASE);
	harts_kick_others();
}

static void freeing_hart_gives_back_own_first(struct ktest *t)
{
	u32 other, got = 0;
	if (!ktest_other_hart(t, &other)) return;
	const u64 old = vm_lazy_max_pages();
	of = (struct own_first){0};
	vm_purge();
	vm_set_lazy_max_pages(1UL << 30);
	for (; got < 64 && (of.mine[got] = vmalloc(PAGE_SIZE)); got++) {}
	KT_ASSERT(t, got == 64);
	for (u32 i = 0; i < got; i++) vfree(of.mine[i]);
	u32 bystanders = 0;
	for (u32 h = 0; h < nr_harts_online; h++)
		if (h != this_hart_index() && h != other && smp_call_on(h, wait_out, NULL) == 0) bystanders++;
	hart_wait_until(__atomic_load_n(&of.waiting, __ATOMIC_ACQUIRE) == bystanders);
	bool called = smp_call_on(other, free_and_look, NULL) == 0;
	if (called) hart_wait_until(__atomic_load_n(&of.looked, __ATOMIC_ACQUIRE));
	__atomic_store_n(&of.release, 1, __ATOMIC_RELEASE); /* the bystanders go back to their idle loops */
	harts_kick_others();
	smp_wait_all();
	KT_EXPECT(t, called);
	KT_EXPECT(t, of.got == 32);
	KT_EXPECT(t, of.theirs_parked == 0);
	KT_EXPECT(t, of.mine_parked == 64);
	vm_set_lazy_max_pages(old);
	vm_purge();
}

/* Arena-lock acquisitions made by this hart in process context (its own counter bank). */
static u64 my_arena_locks(void) { return (u64)READ_ONCE(arena_harts[this_hart_index()].stat[0][ARENA_STAT_ARENA_LOCKS]); }

/* A run measured from a fresh start (vm_purge: this hart's caches, pools and chunk back in the index): n
 * areas of `pages` pages allocated into a[], how many of them do not follow the one before (guard
 * included), and the arena-lock holds taken meanwhile. Returns how many were allocated. */
static u32 carve_run(u8 **a, u32 n, u64 pages, u32 *breaks, u64 *locks)
{
	vm_purge();
	u64 before = my_arena_locks();
	u32 got = 0;
	*breaks = 0;
	for (; got < n && (a[got] = vmalloc(pages * PAGE_SIZE)); got++)
		if (got && a[got] != a[got - 1] + (pages + 1) * PAGE_SIZE) (*breaks)++;
	*locks = my_arena_locks() - before;
	return got;
}

/* Gives back what carve_run allocated and purges it. */
static void carve_run_end(u8 **a, u32 n)
{
	for (u32 i = 0; i < n; i++) vfree(a[i]);
	vm_purge();
}

/* Requests above the size classes come from this hart's chunk (vm/vmalloc_chunk.c): carved one after the
 * other from a chunk in the region's upper half, the arena lock taken once for the chunk and the stash of
 * records, not once per call. */
static void chunk_carves_in_order(struct ktest *t)
{
	static u8 *a[64];
	u32 breaks;
	u64 took;
	u32 n = carve_run(a, ARRAY_SIZE(a), 20, &breaks, &took); /* above the 16-page classes */
	KT_EXPECT(t, n == ARRAY_SIZE(a));
	KT_EXPECT(t, breaks == 0); /* 64 x 84 KiB fit one 64 MiB chunk */
	/* in the region's upper half, apart from the small areas that fill it from the bottom */
	KT_EXPECT(t, n && (u64)(uptr)a[0] >= arena.free.start + (arena.free.end - arena.free.start) / 2);
	KT_EXPECT(t, took == 1);   /* the chunk and the stash in one hold; without chunks, one per call */
	carve_run_end(a, n);
}

/* With the caches and pools empty, a refill from the index carves a whole magazine from one range: one
 * search and one hold of the arena lock for 128 one-page areas, handed out lowest address first. */
static void refill_carves_a_magazine(struct ktest *t)
{
	static u8 *a[128];
	u32 breaks;
	u64 took;
	KT_ASSERT(t, ARRAY_SIZE(a) == va_mag_areas(2));
	u32 n = carve_run(a, ARRAY_SIZE(a), 1, &breaks, &took);
	KT_EXPECT(t, n == ARRAY_SIZE(a));
	KT_EXPECT(t, breaks == 0);
	KT_EXPECT(t, took == 1); /* one by one, 32 ranges a hold: four */
	carve_run_end(a, n);
}

/* The purge gives touching ranges back to the index as one range: a hart's chunk areas freed together
 * are one insert, so 256 of them take one hold of the arena lock where 64 inserts per hold took four. */
static void purge_merges_touching_ranges(struct ktest *t)
{
	static u8 *a[256];
	const u64 pages = 16, old = vm_lazy_max_pages();
	struct vm_stats before, after;
	vm_purge();
	vm_set_lazy_max_pages(1UL << 30); /* no purge but ours */
	u32 n = 0;
	for (; n < ARRAY_SIZE(a) && (a[n] = vmalloc(pages * PAGE_SIZE)); n++) {}
	KT_EXPECT(t, n == ARRAY_SIZE(a));
	for (u32 i = 0; i < n; i++) vfree(a[i]);
	vm_get_stats(&before);
	u64 locks = my_arena_locks();
	vm_purge_aging(); /* the idle hart's purge: the lists taken under one hold, the ranges given back */
	u64 took = my_arena_locks() - locks;
	vm_get_stats(&after);
	KT_EXPECT(t, after.purges == before.purges + 1 && before.lazy_areas >= n && after.lazy_areas == 0);
	KT_EXPECT(t, took <= 2); /* taking the lists, one insert */
	vm_set_lazy_max_pages(old);
	vm_purge();
}

KTEST_SUITE(purge, {"freed_range_waits_for_purge", freed_range_waits_for_purge},
	    {"batch_costs_one_fence_each", batch_costs_one_fence_each}, {"wide_batch_flushes_all", wide_batch_flushes_all},
	    {"threshold_is_linux_default", threshold_is_linux_default},
	    {"lone_purge_gives_back_in_bursts", lone_purge_gives_back_in_bursts},
	    {"frees_give_back_past_the_backlog", frees_give_back_past_the_backlog},
	    {"pools_keep_magazines_and_age", pools_keep_magazines_and_age},
	    {"pools_hold_two_purges", pools_hold_two_purges},
	    {"freeing_hart_gives_back_own_first", freeing_hart_gives_back_own_first},
	    {"chunk_carves_in_order", chunk_carves_in_order}, {"refill_carves_a_magazine", refill_carves_a_magazine},
	    {"purge_merges_touching_ranges", purge_merges_touching_ranges});

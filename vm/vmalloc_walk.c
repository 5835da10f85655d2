/* The whole-arena walk of VM_DEBUG builds (vm/vmalloc_walk.h): every structure summed against the region
 * and against the counters that cache those sums. It reads the arena's state, so it sits above
 * vm/vmalloc_arena.c and vm/vmalloc_cache.c; the checks of one record are vm/vmalloc_check.h's. Without
 * VM_DEBUG this file is empty and the header's calls compile to nothing. */
#include "vm/vmalloc_walk.h"
#ifdef VM_DEBUG
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "vm/pt_kr.h"
#include "vm/vmalloc_cache.h"

/* What the walk adds up, structure by structure. */
struct check_sums {
	u64 areas, bytes;          /* every area record held, and the bytes of their ranges */
	u64 busy, live_pages, kernel_pages, lazy, lazy_pages;
	u64 owner_pages[VM_MAX_OWNERS];
};

static void held(struct check_sums *s, const struct vmap_area *a, enum va_home home)
{
	BUG_UNLESS(a->check_state == home, INV_ONE_HOME);
	s->areas++;
	s->bytes += a->va_size;
}

static void busy_one(void *ctx, struct va_busy_link *l)
{
	struct check_sums *s = ctx;
	const struct vmap_area *a = (const struct vmap_area *)l;
	held(s, a, VA_BUSY);
	va_check_shape(a);
	s->busy++;
	if (!(a->flags & VM_ALLOC)) return;
	s->live_pages += a->nr_pages;
	if (a->owner < VM_MAX_OWNERS) s->owner_pages[a->owner] += a->nr_pages;
}

static void lazy_list(struct check_sums *s, const struct vmap_area *a)
{
	for (; a; a = a->lazy_next) {
		held(s, a, VA_LAZY);
		s->lazy++;
		s->lazy_pages += va_lazy_pages_of(a);
		/* Each area carries the totals of the list from it down: a purge counts its batch by them. */
		BUG_UNLESS(a->lazy_below == va_lazy_below(a->lazy_next, va_lazy_pages_of(a)), INV_LAZY_PAGES);
	}
}

static u64 walks;

void va_walk_arena(void)
{
	static struct check_sums s; /* too big for a kernel stack; the walk runs at rest, one hart at a time */
	static u32 walking;
	if (__atomic_exchange_n(&walking, 1, __ATOMIC_ACQUIRE)) return; /* another hart's walk covers it */
	memset(&s, 0, sizeof(s));

	/* Lock order: stripes, arena, pools (docs/design.md). */
	unsigned long bf[BUSY_STRIPES];
	for (u32 i = 0; i < BUSY_STRIPES; i++) bf[i] = spin_lock_irqsave(&busy_stripes[i].lock);
	for (u32 i = 0; i < BUSY_STRIPES; i++) va_busy_for_each(&busy_stripes[i].map, busy_one, &s);
	unsigned long f = spin_lock_irqsave(&arena.lock);
	unsigned long pf[VA_CACHE_CLASSES];
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) pf[k] = spin_lock_irqsave(&va_pools[k].lock);

	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) {
		u32 n = 0, mags = 0;
		for (const struct vmap_area *m = va_pools[k].head; m; m = m->mag_next, mags++) {
			u32 in_mag = 0;
			for (const struct vmap_area *a = m; a; a = a->lazy_next, in_mag++) held(&s, a, VA_CACHED);
			BUG_UNLESS(in_mag == m->mag_areas && in_mag <= va_mag_areas(k + 1), INV_AREA_RECORDS);
			n += in_mag;
		}
		BUG_UNLESS(n == va_pools[k].count && mags == va_pools[k].mags, INV_AREA_RECORDS);
	}
	s64 unpublished = 0;
	for (u32 h = 0; h < MAX_HARTS; h++) {
		for (u32 k = 0; k < VA_CACHE_CLASSES; k++) {
			u32 n = 0;
			for (const struct vmap_area *a = arena_harts[h].va[k].head; a; a = a->lazy_next, n++) held(&s, a, VA_CACHED);
			BUG_UNLESS(n == arena_harts[h].va[k].count, INV_AREA_RECORDS);
		}
		lazy_list(&s, arena_harts[h].lazy_head);
		unpublished += (s64)(arena_harts[h].lazy_unpublished[0] + arena_harts[h].lazy_unpublished[1]);
		/* The hart's chunk holds free range, its stash records without one (vm/vmalloc_chunk.c). */
		BUG_UNLESS(arena_harts[h].chunk_cur <= arena_harts[h].chunk_end, INV_ONE_HOME);
		s.bytes += arena_harts[h].chunk_end - arena_harts[h].chunk_cur;
		u32 stashed = 0;
		for (const struct vmap_area *a = arena_harts[h].stash; a; a = a->lazy_next, stashed++) {
			BUG_UNLESS(a->check_state == VA_NONE, INV_ONE_HOME);
			s.areas++;
		}
		BUG_UNLESS(stashed == arena_harts[h].stashed, INV_AREA_RECORDS);
	}
	lazy_list(&s, arena.lazy_head);
	/* Fenced areas are off the lazy counters (the purge took them) but still the arena's, in VA_LAZY. */
	u64 fenced = 0;
	for (const struct vmap_area *b = arena.fenced_head; b; b = b->batch_next)
		for (const struct vmap_area *a = b; a; a = a->lazy_next, fenced++) held(&s, a, VA_LAZY);
	BUG_UNLESS(fenced == arena.st.fenced_areas, INV_LAZY_PAGES);
	for (const struct vmap_area *a = arena.deferred_head; a; a = a->lazy_next) held(&s, a, VA_DEFERRED);

	s.bytes += arena.table_blocks_out; /* blocks out while the table reclaim flushes their tables */
	BUG_UNLESS(s.bytes + va_index_free_bytes(&arena.free) == arena.free.end - arena.free.start, INV_ONE_HOME);
	BUG_UNLESS(s.areas == node_pool_in_use(&arena.area_pool), INV_AREA_RECORDS);
	BUG_UNLESS(arena_stat_total(ARENA_STAT_LIVE_AREAS) == s.busy, INV_LIVE_AREAS);
	BUG_UNLESS(arena.st.live_pages + arena_stat_total(ARENA_STAT_LIVE_PAGES) == s.live_pages, INV_LIVE_PAGES);
	BUG_UNLESS(arena.owner_pages[VM_OWNER_KERNEL] + arena_stat_total(ARENA_STAT_KERNEL_PAGES) ==
			   s.owner_pages[VM_OWNER_KERNEL],
		   INV_OWNER_PAGES);
	/* A task's account holds its own areas' pages and every account hung below it (a memory cgroup's
	 * hierarchy): add each account's total to the one above, then each must cover what was added. */
	for (u32 o = 1; o < VM_MAX_OWNERS; o++)
		if (arena.owner_above[o]) s.owner_pages[arena.owner_above[o]] += arena.owner_pages[o];
	for (u32 o = 1; o < VM_MAX_OWNERS; o++) BUG_UNLESS(arena.owner_pages[o] >= s.owner_pages[o], INV_OWNER_PAGES);
	BUG_UNLESS(arena_stat_total(ARENA_STAT_LAZY_AREAS) == s.lazy, INV_LAZY_PAGES);
	BUG_UNLESS(arena.lazy_pages + unpublished == (s64)s.lazy_pages, INV_LAZY_PAGES);
	BUG_UNLESS(pt_kr_count_tables() == pt_kr_tables(), INV_PT_TABLES);

	for (u32 k = VA_CACHE_CLASSES; k-- > 0;) spin_unlock_irqrestore(&va_pools[k].lock, pf[k]);
	spin_unlock_irqrestore(&arena.lock, f);
	for (u32 i = BUSY_STRIPES; i-- > 0;) spin_unlock_irqrestore(&busy_stripes[i].lock, bf[i]);
	__atomic_fetch_add(&walks, 1, __ATOMIC_RELAXED);
	store_release(walking, 0);
}

u64 va_walk_count(void) { return __atomic_load_n(&walks, __ATOMIC_RELAXED); }
#endif

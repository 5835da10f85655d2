/* The per-hart fast path's structures: the busy map in 16 locked stripes (a live area is found by its
 * address, whichever hart freed it), each hart's caches of free ranges per size class, and the
 * size-class pools the purge fills with small purged areas (Linux 6.9's vmap-node pools). A small kernel
 * vmalloc takes its range and area struct here with no shared lock in the common case (the arena's
 * state these work on is defined in vm/vmalloc_arena.c). */
#include "vm/vmalloc_cache.h"
#include "lib/percpu.h"
#include "vm/layout.h"

void va_busy_for_each_area(void (*fn)(void *ctx, struct va_busy_link *link), void *ctx, bool try)
{
	for (u32 i = 0; i < BUSY_STRIPES; i++) {
		struct busy_stripe *b = &busy_stripes[i];
		bool locked = false;
		if (try) {
			irq_hold();
			for (u32 n = 0; n < 10000 && !locked; n++) locked = spin_trylock(&b->lock);
		} else {
			busy_lock(b);
			locked = true;
		}
		va_busy_for_each(&b->map, fn, ctx);
		if (locked) spin_unlock(&b->lock);
		irq_unhold();
	}
}

u64 va_busy_areas(void)
{
	u64 n = 0;
	for (u32 i = 0; i < BUSY_STRIPES; i++) n += READ_ONCE(busy_stripes[i].map.count);
	return n;
}

static u32 class_of(u64 va_size) { return (u32)(va_size >> PAGE_SHIFT) - 1; }

/* Areas a pool of any class may hold: four times the lazy threshold's pages (each area parks at least one
 * page, so two purges' areas fit), and never fewer than VA_POOL_MAX. One purge's worth was not enough
 * where two come back to back with no reuse between them (full_fit frees its junk areas, then its kept
 * ones): the second went to the index insert by insert, ~370 instructions each, and at -smp 2 the
 * freeing harts' bursts took 22-44 ms of a 100 ms run. Linux's pools have no bound; ours still decay a
 * quarter per idle purge, and an exhausted region takes them all back. */
static u64 va_pool_max(void) { return MAX((u64)VA_POOL_MAX, 4 * READ_ONCE(arena.lazy_max_pages)); }

u64 va_pooled_areas(void)
{
	u64 n = 0;
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) n += READ_ONCE(va_pools[k].count);
	return n;
}

bool va_hart_holds_ranges(u32 index)
{
	const struct arena_hart *h = &arena_harts[index];
	if (READ_ONCE(h->chunk_end) > READ_ONCE(h->chunk_cur)) return true; /* its chunk's rest (vm/vmalloc_chunk.c) */
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++)
		if (READ_ONCE(h->va[k].count)) return true;
	return false;
}

bool va_pools_hold_ranges(void) { return va_pooled_areas() || va_hart_holds_ranges(this_hart_index()); }

bool va_others_hold_ranges(struct hartset *holders)
{
	struct hartset others;
	bool any = false;
	harts_online_others(&others);
	if (holders) hartset_zero(holders);
	hartset_for_each(i, &others) {
		if (!va_hart_holds_ranges(i)) continue;
		if (!holders) return true;
		hartset_set(holders, i);
		any = true;
	}
	return any;
}

/* Closes b's filling magazine of class k: its first area records its length, and it joins the closed ones. */
static void batch_close(struct va_pool_batch *b, u32 k)
{
	struct vmap_area *m = b->filling[k];
	if (!m) return;
	m->mag_areas = b->filling_n[k];
	m->mag_next = NULL;
	if (b->full_last[k]) b->full_last[k]->mag_next = m;
	else b->full[k] = m;
	b->full_last[k] = m;
	b->areas[k] += b->filling_n[k];
	b->mags[k]++;
	b->filling[k] = NULL;
	b->filling_n[k] = 0;
}

void va_pool_batch_begin(struct va_pool_batch *b)
{
	struct arena_hart *h = in_interrupt() ? NULL : &arena_harts[this_hart_index()];
	u64 max = va_pool_max();
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) {
		b->own[k] = h ? &h->va[k] : NULL; /* the caches are process context's */
		u64 pooled = READ_ONCE(va_pools[k].count);
		b->pool_room[k] = pooled < max ? (u32)MIN(max - pooled, (u64)0xffffffffu) : 0;
	}
	b->begun = true;
}

void va_pool_batch_spill(struct va_pool_batch *b, u32 k)
{
	struct va_class_cache *c = b->own[k];
	u32 mag = va_mag_areas(k + 1);
	if (b->pool_room[k] < mag) { /* the pool is full: the cache stops here, the rest goes by b or back */
		b->own[k] = NULL;
		return;
	}
	struct vmap_area *m = c->head, *last = m;
	for (u32 i = 1; i < mag; i++) last = last->lazy_next;
	c->head = last->lazy_next;
	c->count -= mag;
	last->lazy_next = NULL;
	m->mag_areas = mag;
	m->mag_next = NULL;
	if (b->full_last[k]) b->full_last[k]->mag_next = m;
	else b->full[k] = m;
	b->full_last[k] = m;
	b->areas[k] += mag;
	b->mags[k]++;
	b->pool_room[k] -= mag;
}

void va_pool_batch_close(struct va_pool_batch *b, u32 k) { batch_close(b, k); }

void va_pool_put_flush(struct va_pool_batch *b)
{
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) {
		if (!b->full[k] && !b->filling[k]) continue;
		struct va_pool *p = &va_pools[k];
		unsigned long f = pool_lock(p);
		/* A partly filled magazine joins the pool's newest when both fit in one: magazines pushed
		 * partly filled at every burst made refills take a few ranges each. */
		struct vmap_area *m = p->head, *part = b->filling[k];
		if (part && m && m->mag_areas + b->filling_n[k] <= va_mag_areas(k + 1)) {
			b->filling_last[k]->lazy_next = m;
			part->mag_next = m->mag_next;
			part->mag_areas = m->mag_areas + b->filling_n[k];
			m->mag_next = NULL;
			m->mag_areas = 0;
			p->head = part;
			p->count += b->filling_n[k];
			b->filling[k] = NULL;
			b->filling_n[k] = 0;
		}
		batch_close(b, k);
		if (b->full[k]) {
			b->full_last[k]->mag_next = p->head;
			p->head = b->full[k];
			p->count += b->areas[k];
			p->mags += b->mags[k];
		}
		pool_unlock(p, f);
		b->full[k] = b->full_last[k] = NULL;
		b->areas[k] = b->mags[k] = 0;
	}
}

/* Ranges one refill takes from the index, one search each, when no extent holds a whole magazine's span:
 * the caller that refills pays for all of them (32: ~4,000 instructions, within the tail bound of `make
 * bench` section 7, where 128 searches were 15,000, 29x a plain call). */
#define INDEX_REFILL_MAX 32

/* Fills this hart's empty cache of one class: a magazine from the class's pool under the pool's lock,
 * else from the index under one arena lock: a whole magazine's worth carved from one range when an extent
 * holds it (one search: the refills of a cold start, up to 128 ranges), or up to INDEX_REFILL_MAX ranges
 * found one by one. Returns false when neither has a range of that size (the caller takes the slow path,
 * which waits for purges). Out of line: once per magazine. */
static __noinline bool cache_refill(struct va_class_cache *c, u64 va_size)
{
	struct va_pool *p = &va_pools[class_of(va_size)];
	if (READ_ONCE(p->head)) {
		unsigned long f = pool_lock(p);
		struct vmap_area *m = p->head;
		if (m) {
			p->head = m->mag_next;
			p->count -= m->mag_areas;
			p->mags--;
		}
		pool_unlock(p, f);
		if (m) {
			c->count = m->mag_areas;
			m->mag_next = NULL;
			m->mag_areas = 0;
			c->head = m;
			return true;
		}
	}
	u32 want = va_mag_areas(va_size >> PAGE_SHIFT), n = 0;
	struct vmap_area *records[VA_MAG_MAX_AREAS], *last = NULL;
	u64 start;
	unsigned long f = arena_lock();
	/* The records first: a range is never taken without one. */
	u32 got = node_pool_get_many(&arena.area_pool, (void **)records, want);
	bool whole = got && !va_index_alloc(&arena.free, got * va_size, PAGE_SIZE, &start);
	for (; n < got && (whole || n < INDEX_REFILL_MAX); n++) {
		if (!whole && va_index_alloc(&arena.free, va_size, PAGE_SIZE, &start)) break;
		struct vmap_area *a = records[n];
		a->va_start = whole ? start + (u64)n * va_size : start;
		a->va_size = va_size;
		a->lazy_next = NULL;
		a->lazy_tables = 0;
		va_check_set(a, VA_CACHED);
		/* Lowest address first: the cache hands ranges out in the order the index would have. */
		if (last) last->lazy_next = a;
		else c->head = a;
		last = a;
	}
	for (u32 i = n; i < got; i++) node_pool_put(&arena.area_pool, records[i]);
	arena_unlock(f);
	c->count = n;
	return n != 0;
}

/* Gives a cached or pooled area's range back to the index and its struct to the pool of structs; false
 * (nothing changed) when the index has no node to record the range. Arena lock held. */
static bool range_return_locked(struct vmap_area *a)
{
	if (va_index_free(&arena.free, a->va_start, a->va_size) == -ENOMEM) return false;
	va_check_move(a, VAH(CACHED), VA_FREE);
	node_pool_put(&arena.area_pool, a);
	return true;
}

/* Gives magazines of cached areas (linked through mag_next, each a list through lazy_next) back to the
 * index, a burst of 64 areas per hold of the arena lock; a range the index has no node for is parked for
 * the next purge. */
static void ranges_return(struct vmap_area *mags)
{
	struct vmap_area *m = mags, *a = NULL;
	while (m || a) {
		unsigned long f = arena_lock();
		for (u32 burst = 0; burst < 64 && (m || a); burst++) {
			if (!a) { /* the next magazine: its link field goes back to meaning no tables */
				a = m;
				m = m->mag_next;
				a->lazy_tables = 0;
			}
			struct vmap_area *next = a->lazy_next;
			if (!range_return_locked(a)) {
				/* A cached area is only a range: a record cache_refill carved holds nothing else
				 * but a node-pool page's old bytes (vm_block_alloc_uninit), and the lazy list counts
				 * pages from size (0: one) and names the area by addr. */
				a->size = 0;
				a->addr = a->va_start;
				va_lazy_park_locked(a);
			}
			a = next;
		}
		arena_unlock(f);
	}
}

void va_pool_decay(void)
{
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) {
		struct va_pool *p = &va_pools[k];
		if (READ_ONCE(p->mags) < 4) continue;
		unsigned long f = pool_lock(p);
		u32 keep = p->mags - p->mags / 4;
		struct vmap_area *m = p->head, *cut = NULL;
		for (u32 i = 1; m && i < keep; i++) m = m->mag_next;
		if (m) {
			cut = m->mag_next;
			m->mag_next = NULL;
			for (struct vmap_area *c = cut; c; c = c->mag_next) {
				p->count -= c->mag_areas;
				p->mags--;
			}
		}
		pool_unlock(p, f);
		ranges_return(cut);
	}
}

void va_cache_flush(void)
{
	if (in_interrupt()) return;
	struct arena_hart *h = &arena_harts[this_hart_index()];
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) {
		struct va_class_cache *c = &h->va[k];
		struct va_pool *p = &va_pools[k];
		unsigned long pf = pool_lock(p);
		struct vmap_area *mags = p->head;
		p->head = NULL;
		p->count = p->mags = 0;
		pool_unlock(p, pf);
		struct vmap_area *own = c->head;
		c->head = NULL;
		c->count = 0;
		ranges_return(own); /* one magazine: its first area's mag_next is 0 (cache_refill) */
		ranges_return(mags);
	}
}

/* The per-hart fast path for the kernel's small page-aligned requests: a range and an area struct from
 * this hart's caches, one stripe lock for the busy map. NULL when the caches cannot be refilled (the
 * slow path then decides). */
struct vmap_area *va_cache_get(u64 span, u64 align, unsigned vmflags, u64 pages, const void *caller)
{
	struct arena_hart *h = &arena_harts[this_hart_index()];
	struct va_class_cache *c = va_cache_of(h, span);
	if (unlikely(!c->count) && !cache_refill(c, span)) return NULL;
	return va_cache_pop(h, c, span, align, vmflags, pages, caller);
}

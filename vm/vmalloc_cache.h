/* The arena's structures for live and small free ranges (vm/vmalloc_cache.c): the busy map in locked
 * stripes, each hart's caches of free ranges per size class and the size-class pools the purge fills.
 * The fast path of a small kernel vmalloc takes its range here with no shared lock. */
#ifndef VM_VMALLOC_CACHE_H
#define VM_VMALLOC_CACHE_H

#include "vm/vmalloc_arena.h"

/* The busy map: insert and remove take the area's stripe lock; any context. Inline: they are on the
 * fast path of every vmalloc and vfree. */
static inline void va_busy_add_in(struct vmap_area *a, s64 *bank)
{
	struct busy_stripe *b = busy_stripe_of(a->addr);
	va_check_move(a, VAH(NONE) | VAH(CACHED), VA_BUSY);
	busy_lock_in(b, bank);
	va_busy_insert(&b->map, &a->link, a->addr);
	busy_unlock(b);
}
static inline void va_busy_add(struct vmap_area *a) { va_busy_add_in(a, arena_stat_bank()); }

/* Takes the live area starting at addr out of the busy map; NULL if there is none, or if it has one of
 * the `refused` flags (a free of the wrong kind: the area stays, untouched, under the same lock hold). */
static inline struct vmap_area *va_busy_take_in(u64 addr, s64 *bank, u32 refused)
{
	struct busy_stripe *b = busy_stripe_of(addr);
	busy_lock_in(b, bank);
	struct va_busy_link *l = va_busy_remove(&b->map, addr);
	if (unlikely(l && (((struct vmap_area *)l)->flags & refused))) {
		va_busy_insert(&b->map, l, addr);
		l = NULL;
	}
	busy_unlock(b);
	if (l) {
		va_check_move((struct vmap_area *)l, VAH(BUSY), VA_TAKEN);
		va_check_shape((struct vmap_area *)l);
	}
	return (struct vmap_area *)l;
}
static inline struct vmap_area *va_busy_take(u64 addr) { return va_busy_take_in(addr, arena_stat_bank(), 0); }

/* Calls fn for every live area, stripe by stripe under each stripe's lock; with `try` (an oops) a
 * stripe whose lock stays held is read anyway. */
void va_busy_for_each_area(void (*fn)(void *ctx, struct va_busy_link *link), void *ctx, bool try);
/* Live areas in the busy map now (read without the locks). Any context. */
u64 va_busy_areas(void);

/* This hart's cache of ranges of `span` bytes (va_cache_fits(span), page multiple) in h, this hart's
 * record. Process context. */
static inline struct va_class_cache *va_cache_of(struct arena_hart *h, u64 span) { return &h->va[(span >> PAGE_SHIFT) - 1]; }
/* Takes the top range of a cache of this hart (h) that holds one (c->count > 0) for a kernel area:
 * registered in the busy map and counted in h's process-context bank, as va_cache_get. Inline: vmalloc's
 * fast path is this and the page-table work. Process context. */
static inline struct vmap_area *va_cache_pop(struct arena_hart *h, struct va_class_cache *c, u64 span, u64 align,
					     unsigned vmflags, u64 pages, const void *caller)
{
	struct vmap_area *a = c->head;
	c->head = a->lazy_next;
	c->count--;
	va_area_init(a, a->va_start, span, align, vmflags, VM_OWNER_KERNEL, caller);
	va_busy_add_in(a, h->stat[0]);
	arena_count_in_bank(h->stat[0], a, pages);
	return a;
}
/* The fast path for a small kernel request of `span` bytes: a range and area struct from this hart's
 * cache for that class (refilled from the class's pool, else from the index), registered and counted.
 * NULL when the caches cannot be refilled: the caller takes the slow path. Process context. */
struct vmap_area *va_cache_get(u64 span, u64 align, unsigned vmflags, u64 pages, const void *caller);
/* Whether span bytes (guard and padding included) is a size the caches hold. */
static inline bool va_cache_fits(u64 span) { return span && span <= ((u64)VA_CACHE_CLASSES << PAGE_SHIFT); }
/* Gives this hart's cached free ranges and every pool's back to the index (the purge does, so that a
 * purge restores lowest-fit order, and an exhausted region gets every free range back); a range the
 * index has no node for is parked for the next purge. Process context. */
void va_cache_flush(void);
/* Whether the pools or this hart's caches or chunk hold free ranges the index does not have (a purge
 * gives them back). Any context. */
bool va_pools_hold_ranges(void);
/* Whether hart `index`'s caches or chunk hold free ranges (only that hart can give them back: its own
 * va_cache_flush and va_chunk_flush). Read without its hart's help, so a hint that may be stale by the
 * time it is acted on. Any context. */
bool va_hart_holds_ranges(u32 index);
/* Whether any other online hart's caches or chunk hold free ranges (va_hart_holds_ranges of each), and
 * which ones into *holders unless holders is NULL (then it stops at the first). Any context. */
bool va_others_hold_ranges(struct hartset *holders);
/* The purge's side of the pools: purged areas are gathered into magazines per class here (on the purging
 * hart's stack), then pushed onto the pools with one lock per class by va_pool_put_flush; the giving
 * hart's own caches are filled first. What each class may still take is counted down per area, read once
 * per batch (va_pool_batch_begin), so the per-area step is a few loads and stores. */
struct va_pool_batch {
	struct vmap_area *filling[VA_CACHE_CLASSES]; /* the magazine being filled */
	struct vmap_area *filling_last[VA_CACHE_CLASSES]; /* its last area (the first put in) */
	u32 filling_n[VA_CACHE_CLASSES];
	struct vmap_area *full[VA_CACHE_CLASSES], *full_last[VA_CACHE_CLASSES]; /* closed ones, by mag_next */
	u32 areas[VA_CACHE_CLASSES], mags[VA_CACHE_CLASSES]; /* in the closed ones */
	struct va_class_cache *own[VA_CACHE_CLASSES]; /* the giving hart's caches (NULL: interrupt, or full) */
	u32 pool_room[VA_CACHE_CLASSES]; /* areas each class's pool may still take (va_pool_max) */
	bool begun;
};
/* Reads the giving hart and the room of the pools into b. Once per batch, by va_pool_put. */
void va_pool_batch_begin(struct va_pool_batch *b);
/* This hart's cache of class k reached two magazines: its newest magazine's worth moves to b, for the
 * pool (or, if the pool is full, the cache takes no more in this batch). Out of line: once per magazine. */
void va_pool_batch_spill(struct va_pool_batch *b, u32 k);
/* Closes b's filling magazine of class k (it is full). */
void va_pool_batch_close(struct va_pool_batch *b, u32 k);
/* Keeps a purged area (state VA_LAZY) of a pooled size for reuse: in this hart's cache of its class (not
 * in interrupt context), which hands its newest magazine to the pool whenever it reaches two, so that the
 * pool's lock is taken once per whole magazine, however a purge's areas arrive; else in b while its
 * class's pool has room; false when neither (the caller gives it back to the index). b starts zeroed.
 * Any context, no lock held. Inline: the purge runs it for every small area it gives back. */
static inline bool va_pool_put(struct vmap_area *a, struct va_pool_batch *b)
{
	u64 span = a->va_size;
	if (span & (PAGE_SIZE - 1) || !va_cache_fits(span)) return false;
	u32 k = (u32)(span >> PAGE_SHIFT) - 1;
	if (unlikely(!b->begun)) va_pool_batch_begin(b);
	a->lazy_tables = 0; /* the purge has taken its tables; the field links magazines from here on */
	struct va_class_cache *c = b->own[k];
	if (c) {
		va_check_move(a, VAH(LAZY), VA_CACHED);
		a->lazy_next = c->head;
		c->head = a;
		if (unlikely(++c->count >= 2 * va_mag_areas(k + 1))) va_pool_batch_spill(b, k);
		return true;
	}
	if (!b->pool_room[k]) return false;
	b->pool_room[k]--;
	va_check_move(a, VAH(LAZY), VA_CACHED);
	if (!b->filling[k]) b->filling_last[k] = a;
	a->lazy_next = b->filling[k];
	b->filling[k] = a;
	if (++b->filling_n[k] == va_mag_areas(k + 1)) va_pool_batch_close(b, k);
	return true;
}
/* Pushes every magazine of b (the partly filled ones too) onto its class's pool; b is empty after. */
void va_pool_put_flush(struct va_pool_batch *b);
/* Gives the oldest quarter of every pool's magazines back to the index (a pool of fewer than four keeps
 * them): the purge of an idle hart calls it once per purge. Process context, no lock held. */
void va_pool_decay(void);
/* Areas the size-class pools hold now, in all classes (read without the locks). Any context. */
u64 va_pooled_areas(void);

#endif

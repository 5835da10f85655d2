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
		unsigned long f = irq_save();
		bool locked = false;
		if (try) {
			for (u32 n = 0; n < 10000 && !locked; n++) locked = spin_trylock(&b->lock);
		} else {
			irq_restore(f);
			f = busy_lock(b);
			locked = true;
		}
		va_busy_for_each(&b->map, fn, ctx);
		if (locked) spin_unlock(&b->lock);
		irq_restore(f);
	}
}

u64 va_busy_areas(void)
{
	u64 n = 0;
	for (u32 i = 0; i < BUSY_STRIPES; i++) n += READ_ONCE(busy_stripes[i].map.count);
	return n;
}

static u32 class_of(u64 va_size) { return (u32)(va_size >> PAGE_SHIFT) - 1; }

bool va_pools_hold_ranges(void)
{
	struct arena_hart *h = &arena_harts[this_hart_index()];
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++)
		if (READ_ONCE(va_pools[k].count) || h->va[k].count) return true;
	return false;
}

bool va_pool_put(struct vmap_area *a, struct vmap_area **lists, u32 *counts)
{
	if (a->va_size & (PAGE_SIZE - 1) || !a->va_size || a->va_size > ((u64)VA_CACHE_CLASSES << PAGE_SHIFT))
		return false;
	u32 k = class_of(a->va_size);
	if (READ_ONCE(va_pools[k].count) + counts[k] >= VA_POOL_MAX) return false;
	va_check_move(a, VAH(LAZY), VA_CACHED);
	a->lazy_next = lists[k];
	lists[k] = a;
	counts[k]++;
	return true;
}

void va_pool_put_flush(struct vmap_area **lists, u32 *counts)
{
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) {
		if (!lists[k]) continue;
		struct vmap_area *tail = lists[k];
		while (tail->lazy_next) tail = tail->lazy_next;
		struct va_pool *p = &va_pools[k];
		unsigned long f = pool_lock(p);
		tail->lazy_next = p->head;
		p->head = lists[k];
		p->count += counts[k];
		pool_unlock(p, f);
		lists[k] = NULL;
		counts[k] = 0;
	}
}

/* Refills this hart's cache of one class: from the class's pool under the pool's lock, else from the
 * index under one arena lock. Returns false when neither has a range of that size (the caller takes the
 * slow path, which waits for purges). Out of line: once per VA_CACHE_SLOTS allocations. */
static __noinline bool cache_refill(struct va_class_cache *c, u64 va_size)
{
	struct va_pool *p = &va_pools[class_of(va_size)];
	if (READ_ONCE(p->head)) {
		unsigned long f = pool_lock(p);
		while (c->count < VA_CACHE_SLOTS && p->head) {
			struct vmap_area *a = p->head;
			p->head = a->lazy_next;
			p->count--;
			va_check_move(a, VAH(CACHED), VA_CACHED);
			c->areas[c->count++] = a;
		}
		pool_unlock(p, f);
		if (c->count) return true;
	}
	struct vmap_area *got[VA_CACHE_SLOTS];
	u32 n = 0;
	unsigned long f = arena_lock();
	while (n < VA_CACHE_SLOTS) {
		u64 start;
		struct vmap_area *a = node_pool_get(&arena.area_pool);
		if (!a) break;
		if (va_index_alloc(&arena.free, va_size, PAGE_SIZE, &start)) {
			node_pool_put(&arena.area_pool, a);
			break;
		}
		a->va_start = start;
		a->va_size = va_size;
		va_check_set(a, VA_CACHED);
		got[n++] = a;
	}
	arena_unlock(f);
	/* Lowest address on top: the cache hands ranges out in the order the index would have. */
	while (n) c->areas[c->count++] = got[--n];
	return c->count != 0;
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

void va_cache_flush(void)
{
	if (in_interrupt()) return;
	struct arena_hart *h = &arena_harts[this_hart_index()];
	for (u32 k = 0; k < VA_CACHE_CLASSES; k++) {
		struct va_class_cache *c = &h->va[k];
		struct va_pool *p = &va_pools[k];
		unsigned long pf = pool_lock(p);
		struct vmap_area *list = p->head;
		p->head = NULL;
		p->count = 0;
		pool_unlock(p, pf);
		unsigned long f = arena_lock();
		while (c->count && range_return_locked(c->areas[c->count - 1])) c->count--;
		while (list) {
			struct vmap_area *next = list->lazy_next;
			if (!range_return_locked(list)) va_lazy_park_locked(list); /* no node: the next purge retries */
			list = next;
		}
		arena_unlock(f);
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

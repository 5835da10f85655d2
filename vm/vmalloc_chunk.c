/* Per-hart chunks of the region, for the kernel's page-aligned requests above the size classes (17 to 256
 * pages with the guard). Owns each hart's chunk ([chunk_cur, chunk_end) in its struct arena_hart) and
 * stash of area records; the purge (vm/vmalloc_purge.c) gives the ranges back to the index.
 *
 * Why: test_vmalloc's random_size (1-100 pages) took the arena lock 0.87 times per call at any hart count,
 * since size classes stop at 16 pages and a class per size up to 100 would make each hart hold a magazine
 * of each (~200 MiB of the region per hart). vmem's answer, a quantum cache per size, has the same cost;
 * Linux's vmap nodes split the address space per CPU. Here a hart takes up to 64 MiB of the region at a
 * time (chunk_size; from its upper half, apart from the small areas: chunk_take) and carves its requests
 * from it in order, so the arena lock is taken once per ~280 such calls from four harts on. The ranges go
 * back to the index through the purge as any other, each burst's touching ranges merged into one insert
 * (a hart's areas freed in reverse order of carving touch), so a chunk whose areas are all freed is one
 * free extent again, the lowest fit for the next chunk. The cost: a leftover of at most 64 MiB of the
 * region per hart that only its hart uses until a purge gives it back (vm_purge, or an allocation that
 * found the region full: on this hart, or on another, which asks this one: vm_purge_ask_harts).
 *
 * Only the hart itself touches its chunk and stash, in process context (the kernel does not preempt
 * itself, interrupt handlers never allocate here), so neither needs a lock or an atomic. */
#include "vm/vmalloc_chunk.h"
#include "lib/percpu.h"
#include "vm/layout.h"

/* A new chunk, lowest fit in the region's upper half if it has room, else anywhere. Everything else
 * takes the lowest fit, so it fills the region from the bottom: chunks kept apart from it do not leave
 * their freed ranges for small areas to scatter into, which would push the next chunk ever higher (and
 * every new 2 MiB of address space touched costs a level-0 table, kept once made). Arena lock held. */
static int chunk_take(u64 *start, u64 size)
{
	u64 mid = arena.free.start + (arena.free.end - arena.free.start) / 2;
	if (!va_index_alloc_in(&arena.free, size, PAGE_SIZE, mid, arena.free.end, start)) return 0;
	return va_index_alloc(&arena.free, size, PAGE_SIZE, start);
}

/* VA_CHUNK_STEP on one hart, twice that on two or three, VA_CHUNK_MAX from four (vm/vmalloc_chunk.h says
 * why). */
static u64 chunk_size(void)
{
	u32 harts = __atomic_load_n(&nr_harts_online, __ATOMIC_RELAXED);
	return MIN(VA_CHUNK_MAX, VA_CHUNK_STEP << (fls64(harts) - 1));
}

/* Under one hold of the arena lock: replaces a chunk too small for span (the leftover back to the index
 * first, then a new one, lowest fit) and fills the stash to VA_STASH_REFILL records. False when either
 * cannot be done: the caller goes to the index. Out of line: once per chunk or per VA_STASH_REFILL calls. */
static __noinline bool chunk_refill(struct arena_hart *h, u64 span)
{
	bool ok = true;
	unsigned long f = arena_lock();
	if (h->chunk_end - h->chunk_cur < span) {
		u64 start, size = chunk_size();
		if (h->chunk_end > h->chunk_cur &&
		    va_index_free(&arena.free, h->chunk_cur, h->chunk_end - h->chunk_cur) == -ENOMEM) {
			ok = false; /* no node to record the leftover: keep it, serve this call from the index */
		} else if (chunk_take(&start, size)) {
			h->chunk_cur = h->chunk_end = 0;
			ok = false;
		} else {
			h->chunk_cur = start;
			h->chunk_end = start + size;
		}
	}
	while (ok && h->stashed < VA_STASH_REFILL) {
		struct vmap_area *a = node_pool_get(&arena.area_pool);
		if (!a) break;
		va_check_set(a, VA_NONE);
		a->lazy_next = h->stash;
		h->stash = a;
		h->stashed++;
	}
	arena_unlock(f);
	return ok && h->stash;
}

struct vmap_area *va_chunk_get(u64 span, unsigned vmflags, u64 pages, const void *caller)
{
	struct arena_hart *h = &arena_harts[this_hart_index()];
	if (unlikely(h->chunk_end - h->chunk_cur < span || !h->stash) && !chunk_refill(h, span)) return NULL;
	struct vmap_area *a = h->stash;
	h->stash = a->lazy_next;
	h->stashed--;
	u64 start = h->chunk_cur;
	h->chunk_cur = start + span;
	va_area_init(a, start, span, PAGE_SIZE, vmflags, VM_OWNER_KERNEL, caller);
	va_busy_add_in(a, h->stat[0]);
	arena_count_in_bank(h->stat[0], a, pages);
	return a;
}

bool va_stash_keep(struct vmap_area *a, unsigned from)
{
	if (in_interrupt()) return false;
	struct arena_hart *h = &arena_harts[this_hart_index()];
	if (h->stashed >= VA_STASH_MAX) return false;
	va_check_move(a, from, VA_NONE);
	a->lazy_next = h->stash;
	h->stash = a;
	h->stashed++;
	return true;
}

void va_chunk_flush(void)
{
	if (in_interrupt()) return;
	struct arena_hart *h = &arena_harts[this_hart_index()];
	unsigned long f = arena_lock();
	if (h->chunk_end > h->chunk_cur &&
	    va_index_free(&arena.free, h->chunk_cur, h->chunk_end - h->chunk_cur) != -ENOMEM)
		h->chunk_cur = h->chunk_end = 0;
	while (h->stash) {
		struct vmap_area *a = h->stash;
		h->stash = a->lazy_next;
		node_pool_put(&arena.area_pool, a);
	}
	h->stashed = 0;
	arena_unlock(f);
}

/* The user heap: malloc and friends over one private shm object. The object is mapped once with a 1 GiB
 * address reservation, so it grows with shm_resize without ever moving in the task's address space, and
 * it shrinks when its top is free. Blocks carry boundary tags (a header word, and a footer while free) so
 * a free merges with both neighbours at once; free blocks sit on one doubly linked list searched first
 * fit, the top block last so the heap's end stays free to give back. Tasks are single-threaded.
 * Every public entry names its caller as the user call site of the system calls it makes (vmk_call_site,
 * user/vmk.h), so the trace shows the program's line that grew the heap, not this file. */
#include "user/vmk.h"

#define ALIGN 16
#define HDR 8                      /* header word before each payload */
#define MIN_BLOCK 32               /* header, two list links, footer */
#define IN_USE 1UL                 /* this block is allocated */
#define PREV_IN_USE 2UL            /* the block before it is allocated (so it has no footer to read) */
#define FLAGS (IN_USE | PREV_IN_USE)

#define HEAP_MAX VMK_SHM_MAX_SIZE    /* the mapping's reservation: the most the heap can grow to */
#define HEAP_INITIAL (64UL << 10)    /* size at the first allocation, and the least it shrinks to */
#define HEAP_RESERVE (2UL << 20)     /* kernel-side range asked for at creation (see heap_init) */
#define HEAP_HINT 0x2f00000000UL     /* near the top of the shm window, away from where programs map */
#define GROW_STEP_MAX (16UL << 20)   /* growth doubles the heap, but by at most this much at once */
#define TRIM_THRESHOLD (256UL << 10) /* a free top this large is given back ... */
#define TRIM_KEEP (64UL << 10)       /* ... down to this much, so a free/malloc cycle does not thrash */

struct free_links {
	u64 next, prev; /* block addresses, 0 at the ends */
};

static struct {
	u64 handle, base, size, reserved;
	u64 free_head;
	u64 grows, shrinks, moves, used;
} heap;

static u64 *hdr(u64 b) { return (u64 *)(uptr)b; }
static u64 bsize(u64 b) { return *hdr(b) & ~FLAGS; }
static bool in_use(u64 b) { return *hdr(b) & IN_USE; }
static struct free_links *links(u64 b) { return (struct free_links *)(uptr)(b + HDR); }
static u64 epilogue(void) { return heap.base + heap.size - HDR; }
static void *payload(u64 b) { return (void *)(uptr)(b + HDR); }

static void list_insert(u64 b)
{
	links(b)->prev = 0;
	links(b)->next = heap.free_head;
	if (heap.free_head) links(heap.free_head)->prev = b;
	heap.free_head = b;
}

static void list_remove(u64 b)
{
	struct free_links *l = links(b);
	if (l->prev) links(l->prev)->next = l->next;
	else heap.free_head = l->next;
	if (l->next) links(l->next)->prev = l->prev;
}

/* Writes a free block's header and footer and tells its successor. */
static void set_free(u64 b, u64 size, u64 prev_flag)
{
	*hdr(b) = size | prev_flag;
	*hdr(b + size - 8) = size;
	*hdr(b + size) &= ~PREV_IN_USE;
}

/* Frees block b (its size already in its header), merging it with free neighbours; returns the merged
 * block, which is on the free list. */
static u64 release(u64 b)
{
	u64 size = bsize(b), prev_flag = *hdr(b) & PREV_IN_USE;
	u64 next = b + size;
	if (!in_use(next)) {
		list_remove(next);
		size += bsize(next);
	}
	if (!prev_flag) {
		u64 prev = b - *hdr(b - 8); /* the footer of the free block before */
		list_remove(prev);
		size += bsize(prev);
		b = prev;
		prev_flag = *hdr(b) & PREV_IN_USE;
	}
	set_free(b, size, prev_flag);
	list_insert(b);
	return b;
}

/* Marks free block b (off the list) allocated with `need` bytes, returning any worthwhile tail. */
static void place(u64 b, u64 need)
{
	u64 size = bsize(b), prev_flag = *hdr(b) & PREV_IN_USE;
	if (size - need >= MIN_BLOCK) {
		*hdr(b) = need | IN_USE | prev_flag;
		u64 tail = b + need;
		*hdr(tail) = (size - need) | PREV_IN_USE;
		release(tail);
	} else {
		*hdr(b) = size | IN_USE | prev_flag;
		*hdr(b + size) |= PREV_IN_USE;
	}
	heap.used += bsize(b);
}

/* The first allocation creates the heap. shm_resize grows the kernel's area in place only inside the
 * range the area was created with, so the object is created HEAP_RESERVE bytes large (less if the
 * quota says no) and at once shrunk to HEAP_INITIAL: the range stays reserved, the pages go back. */
static bool heap_init(void)
{
	u64 reserve = HEAP_RESERVE;
	long h;
	while ((h = vmk_shm_create(reserve, 0)) == -ENOMEM && reserve > HEAP_INITIAL) reserve /= 2;
	if (h < 0) return false;
	if (reserve > HEAP_INITIAL && vmk_shm_resize((u64)h, HEAP_INITIAL) < 0) {
		vmk_shm_close((u64)h);
		return false;
	}
	long a = vmk_shm_map((u64)h, HEAP_HINT, HEAP_MAX, PROT_READ | PROT_WRITE);
	if (a < 0) {
		vmk_shm_close((u64)h);
		return false;
	}
	heap.handle = (u64)h;
	heap_handle_set(heap.handle);
	heap.base = (u64)a;
	heap.size = HEAP_INITIAL;
	heap.reserved = reserve;
	/* The first block starts 8 bytes in, so payloads are 16-byte aligned; the epilogue (an allocated
	 * block of size 0) stops merges at the end. */
	u64 first = heap.base + HDR;
	*hdr(epilogue()) = IN_USE;
	set_free(first, heap.size - 2 * HDR, PREV_IN_USE);
	list_insert(first);
	return true;
}

static bool heap_resize(u64 size)
{
	if (vmk_shm_resize(heap.handle, size) < 0) return false;
	if (size > heap.size) {
		heap.grows++;
		if (size > heap.reserved) {
			heap.moves++; /* the kernel moved its area; ours stays where it is mapped */
			heap.reserved = size;
		}
	} else {
		heap.shrinks++;
	}
	heap.size = size;
	return true;
}

/* Grows the heap so that it ends at or after `end`, the new space joining the top free block. Asks for
 * double the size first (up to GROW_STEP_MAX more), then for just enough when the quota refuses. */
static bool heap_grow(u64 end)
{
	u64 want = ALIGN_UP(end - heap.base, PAGE_SIZE), old = heap.size;
	if (end - heap.base > HEAP_MAX) return false;
	u64 ample = MIN(MAX(want, old + MIN(old, GROW_STEP_MAX)), HEAP_MAX);
	if (!heap_resize(ample) && !heap_resize(want)) return false;
	u64 b = heap.base + old - HDR; /* the old epilogue becomes the new space's header */
	*hdr(b) = (heap.size - old) | (*hdr(b) & PREV_IN_USE);
	*hdr(epilogue()) = IN_USE;
	release(b);
	return true;
}

/* Gives back the heap's top when it is free and large. */
static void heap_trim(u64 top)
{
	if (epilogue() != top + bsize(top) || bsize(top) < TRIM_THRESHOLD) return;
	u64 end = MAX(ALIGN_UP(top + TRIM_KEEP, PAGE_SIZE), heap.base + HEAP_INITIAL);
	if (end >= heap.base + heap.size) return;
	u64 prev_flag = *hdr(top) & PREV_IN_USE;
	/* Shrink the block first: the kernel unmaps the cut tail, so nothing may be written there after. */
	list_remove(top);
	u64 old_size = heap.size;
	heap.size = end - heap.base;
	set_free(top, end - HDR - top, prev_flag);
	*hdr(epilogue()) = IN_USE;
	list_insert(top);
	if (!heap_resize(end - heap.base)) {
		/* Cannot happen for a shrink of our own object; keep the bookkeeping true if it does. */
		list_remove(top);
		set_free(top, heap.base + old_size - HDR - top, prev_flag);
		heap.size = old_size;
		*hdr(epilogue()) = IN_USE;
		list_insert(top);
	}
}

static u64 block_need(size_t n) { return MAX(ALIGN_UP((u64)n + HDR, ALIGN), (u64)MIN_BLOCK); }

static void *heap_malloc(size_t n)
{
	if (n > HEAP_MAX - 2 * HDR || (!heap.base && !heap_init())) {
		errno = ENOMEM;
		return NULL;
	}
	u64 need = block_need(n), top = 0;
	for (u64 b = heap.free_head; b; b = links(b)->next) {
		if (bsize(b) < need) continue;
		if (b + bsize(b) == epilogue()) {
			top = b; /* the top only when nothing else fits, so the heap's end stays free */
			continue;
		}
		list_remove(b);
		place(b, need);
		return payload(b);
	}
	if (!top) {
		u64 e = epilogue();
		u64 start = (*hdr(e) & PREV_IN_USE) ? e : e - *hdr(e - 8);
		if (!heap_grow(start + need + HDR)) {
			errno = ENOMEM;
			return NULL;
		}
		top = start;
	}
	list_remove(top);
	place(top, need);
	return payload(top);
}

/* The block of a pointer malloc returned; anything else is a bug in the program, which ends here. */
static u64 block_of(void *p, const char *who)
{
	u64 b = (u64)(uptr)p - HDR;
	if (!heap.base || (u64)(uptr)p < heap.base + 2 * HDR || (u64)(uptr)p >= epilogue() || ((u64)(uptr)p & (ALIGN - 1)) ||
	    !in_use(b) || bsize(b) < MIN_BLOCK || b + bsize(b) > epilogue()) {
		fprintf(stderr, "%s(%p): not an allocated block\n", who, p);
		abort();
	}
	return b;
}

static void heap_free(void *p)
{
	if (!p) return;
	u64 b = block_of(p, "free");
	heap.used -= bsize(b);
	*hdr(b) &= ~IN_USE;
	heap_trim(release(b));
}

static void *heap_calloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = heap_malloc(n * size);
	if (p) memset(p, 0, n * size);
	return p;
}

/* Cuts allocated block b down to `need` bytes when the rest makes a block of its own; `trim` gives a
 * large free top back to the kernel (not wanted right after growing the heap on purpose). */
static void shrink_block(u64 b, u64 need, bool trim)
{
	u64 size = bsize(b);
	if (size - need < MIN_BLOCK) return;
	*hdr(b) = need | (*hdr(b) & FLAGS);
	*hdr(b + need) = (size - need) | PREV_IN_USE;
	heap.used -= size - need;
	u64 tail = release(b + need);
	if (trim) heap_trim(tail);
}

static void *heap_realloc(void *p, size_t n)
{
	if (!p) return heap_malloc(n);
	if (!n) {
		heap_free(p);
		return NULL;
	}
	u64 b = block_of(p, "realloc");
	if (n > HEAP_MAX - 2 * HDR) {
		errno = ENOMEM;
		return NULL;
	}
	u64 need = block_need(n), size = bsize(b);
	if (need <= size) {
		shrink_block(b, need, true);
		return p;
	}
	u64 next = b + size;
	/* At the top: grow the heap under the block rather than copy it. */
	if (next == epilogue() || (!in_use(next) && next + bsize(next) == epilogue() && size + bsize(next) < need)) {
		if (!heap_grow(b + need + HDR)) {
			errno = ENOMEM;
			return NULL;
		}
		next = b + size; /* now a free block reaching to the new end */
	}
	if (!in_use(next) && size + bsize(next) >= need) {
		list_remove(next);
		heap.used += bsize(next);
		*hdr(b) = (size + bsize(next)) | (*hdr(b) & FLAGS);
		*hdr(b + bsize(b)) |= PREV_IN_USE;
		shrink_block(b, need, false);
		return p;
	}
	void *q = heap_malloc(n);
	if (!q) return NULL;
	memcpy(q, p, size - HDR);
	heap_free(p);
	return q;
}

static void *heap_memalign(size_t align, size_t n)
{
	if (!is_pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	if (align <= ALIGN) return heap_malloc(n);
	if (align > HEAP_MAX - MIN_BLOCK || n > HEAP_MAX - align - MIN_BLOCK) { /* the first: no wrap below */
		errno = ENOMEM;
		return NULL;
	}
	u8 *p = heap_malloc(n + align + MIN_BLOCK);
	if (!p) return NULL;
	u64 a = ALIGN_UP((u64)(uptr)p, (u64)align);
	if (a != (u64)(uptr)p && a - (u64)(uptr)p < MIN_BLOCK) a += align;
	if (a != (u64)(uptr)p) {
		/* The lead becomes a free block of its own; the aligned block starts after it. */
		u64 b = (u64)(uptr)p - HDR, lead = a - (u64)(uptr)p, size = bsize(b);
		u64 nb = a - HDR;
		*hdr(nb) = (size - lead) | IN_USE;
		*hdr(b) = lead | (*hdr(b) & PREV_IN_USE);
		heap.used -= lead;
		release(b);
	}
	shrink_block(a - HDR, block_need(n), false);
	return (void *)(uptr)a;
}

/* The public entries: each sets the user call site around the work (user/vmk.h). */
__attribute__((noinline)) void *malloc(size_t n)
{
	VMK_CALL_SITE_BEGIN();
	void *p = heap_malloc(n);
	VMK_CALL_SITE_END();
	return p;
}

__attribute__((noinline)) void free(void *p)
{
	VMK_CALL_SITE_BEGIN();
	heap_free(p);
	VMK_CALL_SITE_END();
}

__attribute__((noinline)) void *calloc(size_t n, size_t size)
{
	VMK_CALL_SITE_BEGIN();
	void *p = heap_calloc(n, size);
	VMK_CALL_SITE_END();
	return p;
}

__attribute__((noinline)) void *realloc(void *p, size_t n)
{
	VMK_CALL_SITE_BEGIN();
	void *q = heap_realloc(p, n);
	VMK_CALL_SITE_END();
	return q;
}

__attribute__((noinline)) void *memalign(size_t align, size_t n)
{
	VMK_CALL_SITE_BEGIN();
	void *p = heap_memalign(align, n);
	VMK_CALL_SITE_END();
	return p;
}

__attribute__((noinline)) void *aligned_alloc(size_t align, size_t n)
{
	VMK_CALL_SITE_BEGIN();
	void *p = heap_memalign(align, n);
	VMK_CALL_SITE_END();
	return p;
}

__attribute__((noinline)) int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || !is_pow2(align)) return EINVAL;
	VMK_CALL_SITE_BEGIN();
	void *p = heap_memalign(align, n);
	VMK_CALL_SITE_END();
	if (!p) return ENOMEM;
	*out = p;
	return 0;
}

size_t malloc_usable_size(void *p) { return p ? bsize(block_of(p, "malloc_usable_size")) - HDR : 0; }

void heap_get_stats(struct heap_stats *st)
{
	*st = (struct heap_stats){heap.handle, heap.base, heap.base ? heap.size : 0, heap.reserved,
				  heap.grows, heap.shrinks, heap.moves, heap.used};
}

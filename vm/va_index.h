/* Free-space index of the vmalloc arena: free extents by address, lowest fit for (size, align). */
#ifndef VM_VA_INDEX_H
#define VM_VA_INDEX_H

#include "lib/types.h"
#include "lib/rbtree.h"
#include "vm/node_pool.h"

/*
 * One free extent [start, end). Extents are kept in an rbtree ordered by address; each node also
 * caches the largest extent length in its subtree, so a search can skip any subtree that cannot
 * hold the request and find the lowest-address fit in O(log n).
 */
struct va_extent {
	struct rb_node rb;
	u64 start, end;
	u64 subtree_max;
};

/* Object size the node pool handed to va_index_init must provide (at least). */
#define VA_INDEX_NODE_SIZE sizeof(struct va_extent)

/*
 * Not thread-safe: callers serialise. Contains tree pointers into itself, so never copy or move
 * a live index. At most one node is consumed per alloc or free, so a caller that must not fail
 * reserves one with node_pool_reserve(pool, 1) beforehand.
 */
struct va_index {
	struct rb_root root;
	struct node_pool *pool;
	u64 start, end;
	u64 free_bytes;
	u64 extents;
	/* Holds the whole range at init, which therefore needs no pool node and cannot fail. */
	struct va_extent initial;
};

/*
 * The index covers [start, end) (rounded inwards to pages), all free. If the range is empty or
 * the pool's objects are too small for a va_extent, the index is usable but refuses everything
 * that would need what is missing (allocations -ENOMEM, frees -EINVAL / -ENOMEM).
 */
void va_index_init(struct va_index *ix, struct node_pool *pool, u64 start, u64 end);

/*
 * Take the lowest-address range of `size` bytes aligned to `align` (a power of two >= PAGE_SIZE;
 * size a non-zero multiple of PAGE_SIZE). -EINVAL for a malformed request, -ENOMEM when nothing
 * fits or a split needs a node the pool cannot supply (then nothing changed).
 */
int va_index_alloc(struct va_index *ix, u64 size, u64 align, u64 *addr);

/* As va_index_alloc, but the range must lie inside [lo, hi); -EINVAL if lo >= hi. */
int va_index_alloc_in(struct va_index *ix, u64 size, u64 align, u64 lo, u64 hi, u64 *addr);

/*
 * Return [addr, addr + size) (page-aligned, non-empty) to the index, merging with free
 * neighbours. -EINVAL if it lies outside the index or overlaps free space (a double free),
 * -ENOMEM if it needs a node the pool cannot supply; nothing changes on error.
 */
int va_index_free(struct va_index *ix, u64 addr, u64 size);

static inline u64 va_index_free_bytes(const struct va_index *ix) { return ix->free_bytes; }
static inline u64 va_index_extents(const struct va_index *ix) { return ix->extents; }
#ifdef HOST_TEST /* test support: only host tests call these */
/* Bytes in the largest free extent, 0 when there is none: the root's cached maximum, so O(1) and only as
 * right as the cached maxima (va_index_check verifies them). Callers serialise, as for every call. */
u64 va_index_largest(const struct va_index *ix);

/* Calls fn for every free extent in ascending address order; fn must not modify the index. */
void va_index_for_each(const struct va_index *ix, void (*fn)(void *ctx, u64 start, u64 end), void *ctx);

/* Full invariant check (tree shape, ordering, merging, cached maxima, totals); O(n), for tests. */
bool va_index_check(const struct va_index *ix);
#endif

#endif

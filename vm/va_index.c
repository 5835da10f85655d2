/* Free-space index: augmented rbtree of free extents, lowest-address fit, carve and merge. */
#include "vm/va_index.h"

/* Keeps rare cases out of the hot functions, so those stay small and light on registers. */
#define __noinline __attribute__((noinline))

static inline struct va_extent *ext_of(const struct rb_node *n)
{
	return rb_entry(n, struct va_extent, rb);
}

static inline u64 sub_max(const struct rb_node *n) { return n ? ext_of(n)->subtree_max : 0; }

static inline u64 compute_max(const struct va_extent *e)
{
	u64 m = e->end - e->start;
	u64 l = sub_max(e->rb.left), r = sub_max(e->rb.right);

	m = l > m ? l : m;
	return r > m ? r : m;
}

/* Recompute upward after something shrank or moved; ancestors of an unchanged node are right. Inlined
 * into the allocation fast path too. */
static inline void aug_propagate(struct rb_node *n, struct rb_node *stop)
{
	while (n != stop) {
		struct va_extent *e = ext_of(n);
		u64 m = compute_max(e);
		if (m == e->subtree_max)
			break;
		e->subtree_max = m;
		n = rb_parent(n);
	}
}

static void aug_copy(struct rb_node *old, struct rb_node *new_node)
{
	ext_of(new_node)->subtree_max = ext_of(old)->subtree_max;
}

static void aug_rotate(struct rb_node *old, struct rb_node *new_node)
{
	ext_of(new_node)->subtree_max = ext_of(old)->subtree_max;
	ext_of(old)->subtree_max = compute_max(ext_of(old));
}

static const struct rb_augment_ops va_aug = {
	.propagate = aug_propagate,
	.copy = aug_copy,
	.rotate = aug_rotate,
};

/* After n's extent (or subtree) grew to at least len: raise the cached maxima, only as far as needed. */
static inline void grow_propagate(struct rb_node *n, u64 len)
{
	while (n && ext_of(n)->subtree_max < len) {
		ext_of(n)->subtree_max = len;
		n = rb_parent(n);
	}
}

void va_index_init(struct va_index *ix, struct node_pool *pool, u64 start, u64 end)
{
	u64 aligned_start = ALIGN_UP(start, PAGE_SIZE);

	end = ALIGN_DOWN(end, PAGE_SIZE);
	ix->root.node = NULL;
	ix->pool = pool && pool->objsize >= VA_INDEX_NODE_SIZE ? pool : NULL;
	ix->free_bytes = 0;
	ix->extents = 0;
	/* ALIGN_UP wraps to 0 in the top page of the address space; that range is empty anyway. */
	if (aligned_start < start || aligned_start >= end) {
		ix->start = ix->end = 0;
		return;
	}
	start = aligned_start;
	ix->start = start;
	ix->end = end;
	ix->initial.start = start;
	ix->initial.end = end;
	ix->initial.subtree_max = end - start;
	rb_link_node(&ix->initial.rb, NULL, &ix->root.node);
	rb_insert_augmented(&ix->root, &ix->initial.rb, &va_aug);
	ix->free_bytes = end - start;
	ix->extents = 1;
}

#ifdef HOST_TEST /* test support: only host tests call these */
u64 va_index_largest(const struct va_index *ix) { return sub_max(ix->root.node); }
#endif

static inline struct va_extent *node_get(struct va_index *ix)
{
	return ix->pool ? node_pool_get(ix->pool) : NULL;
}

static void remove_extent(struct va_index *ix, struct va_extent *e)
{
	rb_erase_augmented(&ix->root, &e->rb, &va_aug);
	ix->extents--;
	if (e != &ix->initial)
		node_pool_put(ix->pool, e);
}

/*
 * Page alignment (the common case) makes every extent of length >= size a fit, so the lowest one
 * is found by a single descent with no backtracking: go left while the left subtree can hold
 * size, else take this node if it can, else the fit must be to the right. Precondition: the
 * root's maximum is >= size.
 */
static struct va_extent *lowest_fit_page_aligned(struct rb_node *n, u64 size)
{
	while (n) {
		struct rb_node *l = n->left;
		if (l && ext_of(l)->subtree_max >= size) {
			n = l;
			continue;
		}
		struct va_extent *e = ext_of(n);
		if (e->end - e->start >= size)
			return e;
		n = n->right;
	}
	return NULL;
}

/* Lowest aligned start of a size-byte range inside e clipped to [lo, hi); overflow-free. */
static inline bool fit_in(const struct va_extent *e, u64 size, u64 align, u64 lo, u64 hi, u64 *addr)
{
	u64 s = e->start > lo ? e->start : lo;
	u64 t = e->end < hi ? e->end : hi;

	if (t <= s || t - s < size)
		return false;
	u64 pad = (0 - s) & (align - 1);
	if (t - s - size < pad)
		return false;
	*addr = s + pad;
	return true;
}

/*
 * General case (alignment above a page, or a window): an extent of length >= size may still
 * miss because of its start's alignment, so this is an in-order walk over the extents that
 * could fit, pruned by the cached maxima and the window, stopping at the first real fit. Any
 * extent of length >= size + align - PAGE_SIZE always fits, so the walk never passes the lowest
 * such extent; between there and the start it only visits near-miss extents.
 */
static __noinline struct va_extent *lowest_fit(struct rb_node *n, u64 size, u64 align, u64 lo, u64 hi,
					       u64 *addr)
{
	for (;;) {
		/* Descend to the lowest node whose left side cannot matter. */
		struct rb_node *l = n->left;
		if (l && ext_of(l)->subtree_max >= size && ext_of(n)->start > lo) {
			n = l;
			continue;
		}
		/* Visit n; then either enter its right subtree or climb to the next unvisited ancestor. */
		for (;;) {
			struct va_extent *e = ext_of(n);
			if (e->start >= hi)
				return NULL;
			if (fit_in(e, size, align, lo, hi, addr))
				return e;
			struct rb_node *r = n->right;
			if (r && ext_of(r)->subtree_max >= size && e->end < hi) {
				n = r;
				break;
			}
			struct rb_node *p;
			while ((p = rb_parent(n)) && n == p->right)
				n = p;
			if (!p)
				return NULL;
			n = p;
		}
	}
}

/* The extent containing addr, or NULL if addr is not free. */
static struct va_extent *extent_containing(struct rb_node *n, u64 addr)
{
	struct va_extent *below = NULL;

	while (n) {
		struct va_extent *e = ext_of(n);
		if (addr < e->start) {
			n = n->left;
		} else {
			below = e;
			n = n->right;
		}
	}
	return below && addr < below->end ? below : NULL;
}

/*
 * With an alignment so large that [lo, hi) holds only a few aligned addresses, the in-order walk
 * could crawl through every small extent in between; probing each candidate costs O(log n) apiece.
 */
#define PROBE_MAX_CANDIDATES 64

static __noinline struct va_extent *probe_candidates(struct rb_node *root, u64 size, u64 align, u64 lo,
						     u64 hi, u64 *addr)
{
	u64 pad = (0 - lo) & (align - 1);

	if (pad >= hi - lo)
		return NULL;
	for (u64 a = lo + pad; hi - a >= size; a += align) {
		struct va_extent *e = extent_containing(root, a);
		if (e && e->end - a >= size) {
			*addr = a;
			return e;
		}
		if (hi - a <= align)
			break;
	}
	return NULL;
}

/* Lowest fit for any alignment inside [lo, hi), choosing the cheaper of the two searches. */
static struct va_extent *find_fit(struct rb_node *root, u64 size, u64 align, u64 lo, u64 hi, u64 *addr)
{
	if ((hi - lo) / align < PROBE_MAX_CANDIDATES)
		return probe_candidates(root, size, align, lo, hi, addr);
	return lowest_fit(root, size, align, lo, hi, addr);
}

/* Link a new extent as the in-order successor of e, which always has room on that side. */
static void insert_after(struct va_index *ix, struct va_extent *e, struct va_extent *n)
{
	struct rb_node *parent = &e->rb, **link = &e->rb.right;

	while (*link) {
		parent = *link;
		link = &parent->left;
	}
	n->subtree_max = n->end - n->start;
	rb_link_node(&n->rb, parent, link);
	grow_propagate(parent, n->subtree_max);
	rb_insert_augmented(&ix->root, &n->rb, &va_aug);
	ix->extents++;
}

static inline void shrink_propagate(struct rb_node *n) { aug_propagate(n, NULL); }

/* Cut [a, a + size) out of the middle of e: the tail becomes a new extent. */
static __noinline int carve_middle(struct va_index *ix, struct va_extent *e, u64 a, u64 size)
{
	struct va_extent *n = node_get(ix);

	if (unlikely(!n))
		return -ENOMEM;
	n->start = a + size;
	n->end = e->end;
	e->end = a;
	aug_propagate(&e->rb, NULL);
	insert_after(ix, e, n);
	ix->free_bytes -= size;
	return 0;
}

static __noinline int carve_whole(struct va_index *ix, struct va_extent *e)
{
	ix->free_bytes -= e->end - e->start;
	remove_extent(ix, e);
	return 0;
}

/* Take [a, a + size) out of e. Only a cut from the middle needs a node. */
static inline int carve(struct va_index *ix, struct va_extent *e, u64 a, u64 size)
{
	u64 tail = a + size;

	if (a == e->start) {
		if (unlikely(tail == e->end))
			return carve_whole(ix, e);
		e->start = tail;
	} else if (tail == e->end) {
		e->end = a;
	} else {
		return carve_middle(ix, e, a, size);
	}
	shrink_propagate(&e->rb);
	ix->free_bytes -= size;
	return 0;
}

/* size: non-zero page multiple; align: power of two >= PAGE_SIZE; size + align must not wrap. */
static inline bool bad_request(u64 size, u64 align)
{
	return !size || (size & (PAGE_SIZE - 1)) || (align & (align - 1)) || align < PAGE_SIZE ||
	       size > ~(u64)0 - align;
}

int va_index_alloc(struct va_index *ix, u64 size, u64 align, u64 *addr)
{
	struct va_extent *e;
	u64 a;

	if (unlikely(bad_request(size, align)))
		return -EINVAL;
	if (unlikely(sub_max(ix->root.node) < size))
		return -ENOMEM;
	if (likely(align == PAGE_SIZE)) {
		e = lowest_fit_page_aligned(ix->root.node, size);
		if (unlikely(!e))
			return -ENOMEM;
		a = e->start;
	} else {
		e = find_fit(ix->root.node, size, align, ix->start, ix->end, &a);
		if (!e)
			return -ENOMEM;
	}
	int err = carve(ix, e, a, size);
	if (likely(!err))
		*addr = a;
	return err;
}

int va_index_alloc_in(struct va_index *ix, u64 size, u64 align, u64 lo, u64 hi, u64 *addr)
{
	struct va_extent *e;
	u64 a;

	if (unlikely(bad_request(size, align) || lo >= hi))
		return -EINVAL;
	if (sub_max(ix->root.node) < size || hi - lo < size)
		return -ENOMEM;
	e = find_fit(ix->root.node, size, align, lo, hi, &a);
	if (!e)
		return -ENOMEM;
	int err = carve(ix, e, a, size);
	if (!err)
		*addr = a;
	return err;
}

/* The freed range closes the gap between prev and next: they become one extent. */
static __noinline int free_bridging(struct va_index *ix, struct va_extent *prev, struct va_extent *next,
				    u64 size)
{
	u64 merged_end = next->end;

	remove_extent(ix, next);
	prev->end = merged_end;
	grow_propagate(&prev->rb, merged_end - prev->start);
	ix->free_bytes += size;
	return 0;
}

/* No free neighbour touches the range: it becomes a new extent at the slot the search found. */
static __noinline int free_isolated(struct va_index *ix, u64 addr, u64 size, struct rb_node *parent,
				    struct rb_node **link)
{
	struct va_extent *n = node_get(ix);

	if (unlikely(!n))
		return -ENOMEM;
	n->start = addr;
	n->end = addr + size;
	n->subtree_max = size;
	rb_link_node(&n->rb, parent, link);
	grow_propagate(parent, size);
	rb_insert_augmented(&ix->root, &n->rb, &va_aug);
	ix->extents++;
	ix->free_bytes += size;
	return 0;
}

int va_index_free(struct va_index *ix, u64 addr, u64 size)
{
	struct rb_node **link = &ix->root.node, *parent = NULL;
	struct va_extent *prev = NULL, *next = NULL;

	if (unlikely(!size || ((addr | size) & (PAGE_SIZE - 1)) || addr < ix->start ||
		     addr >= ix->end || size > ix->end - addr))
		return -EINVAL;
	u64 end = addr + size;

	/* One descent finds both neighbours and, if neither touches us, the insertion slot. */
	while (*link) {
		parent = *link;
		struct va_extent *e = ext_of(parent);
		if (addr < e->start) {
			next = e;
			link = &parent->left;
		} else {
			prev = e;
			link = &parent->right;
		}
	}
	if (unlikely((prev && prev->end > addr) || (next && next->start < end)))
		return -EINVAL;

	if (prev && prev->end == addr) {
		if (unlikely(next && next->start == end))
			return free_bridging(ix, prev, next, size);
		prev->end = end;
		grow_propagate(&prev->rb, end - prev->start);
	} else if (next && next->start == end) {
		next->start = addr;
		grow_propagate(&next->rb, next->end - addr);
	} else {
		return free_isolated(ix, addr, size, parent, link);
	}
	ix->free_bytes += size;
	return 0;
}

#ifdef HOST_TEST /* test support: only host tests call these */
void va_index_for_each(const struct va_index *ix, void (*fn)(void *ctx, u64 start, u64 end), void *ctx)
{
	for (struct rb_node *n = rb_first(&ix->root); n; n = rb_next(n))
		fn(ctx, ext_of(n)->start, ext_of(n)->end);
}

bool va_index_check(const struct va_index *ix)
{
	u64 bytes = 0, count = 0, prev_end = 0;
	bool first = true;

	if (!rb_validate(&ix->root))
		return false;
	for (struct rb_node *n = rb_first(&ix->root); n; n = rb_next(n)) {
		const struct va_extent *e = ext_of(n);
		if (e->start >= e->end || ((e->start | e->end) & (PAGE_SIZE - 1)))
			return false;
		if (e->start < ix->start || e->end > ix->end)
			return false;
		/* Strictly after the previous extent and not touching it: touching means a missed merge. */
		if (!first && e->start <= prev_end)
			return false;
		if (e->subtree_max != compute_max(e))
			return false;
		bytes += e->end - e->start;
		count++;
		prev_end = e->end;
		first = false;
	}
	return bytes == ix->free_bytes && count == ix->extents;
}
#endif

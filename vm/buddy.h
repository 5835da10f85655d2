/* Physical page allocator: a binary buddy allocator over per-bank zones, with per-node preference. */
#ifndef VM_BUDDY_H
#define VM_BUDDY_H

#include "lib/types.h"

/*
 * The allocator only keeps metadata: it never reads or writes the memory it manages, so callers
 * zero pages themselves when they need to, and the whole thing runs unchanged in host tests.
 * It takes no locks; the kernel serialises calls.
 *
 * Blocks of 2^order pages (order 0..BUDDY_MAX_ORDER) are naturally aligned in physical address:
 * an order-9 block is a 2 MiB-aligned megapage, usable as one Sv39 leaf.
 */
#define BUDDY_MAX_ORDER 10
#define BUDDY_MAX_ZONES 16
#define PA_ANY_NODE (-1)

/* buddy_alloc flags. Any other bit makes the call fail. */
#define BUDDY_THISNODE 0x1u /* only the requested node's zones; no fallback */

/* struct page flags. */
#define PG_FREE 0x01     /* head of a block on a free list (order is the block's order) */
#define PG_RESERVED 0x02 /* not available: firmware, kernel image, metadata, holes */
#define PG_HEAD 0x04     /* head of an allocated block (order is the block's order) */
#define PG_PINNED 0x08   /* with PG_RESERVED: reserved by buddy_reserve_range, buddy_free_range skips it */

/*
 * One per managed page, in an array per zone that the caller provides (buddy_zone_meta_bytes).
 * Only block heads carry meaning in flags/order; other pages of a block have flags 0.
 *
 * Owner fields: while a block is allocated, `private` and `owner` of every page of the block
 * belong to whoever allocated it (vmalloc keeps a back pointer or a tag there). buddy_alloc clears
 * them on the head page only. `private` shares storage with the free-list links, so it is
 * meaningless once the block is freed. Owners must never write flags, order or zone.
 */
struct page {
	union {
		struct {
			u32 next; /* page index within the zone; all ones ends the list */
			u32 prev;
		} link;
		u64 private;
	};
	u8 order;
	u8 flags;
	u8 zone; /* index of the zone this page belongs to, so page_to_pa is O(1) */
	u8 _pad;
	u32 owner;
};

_Static_assert(sizeof(struct page) == 16, "struct page must stay 16 bytes");

struct buddy_stats {
	u64 free_pages;     /* pages on free lists */
	u64 total_pages;    /* pages not reserved: free + allocated */
	u64 reserved_pages; /* pages in zones that are reserved */
	u64 allocs;         /* successful buddy_alloc calls */
	u64 frees;          /* accepted buddy_free calls */
	u64 failed;         /* buddy_alloc calls that returned 0 */
	u64 bad_frees;      /* buddy_free calls rejected: unmanaged, unaligned, not allocated, wrong order */
	u64 node_fallbacks; /* allocations for a node served from another because that node had none */
	u64 nr_free[BUDDY_MAX_ORDER + 1]; /* free blocks per order on the buddy lists, all zones */
};

/* Bytes of struct page needed for the zone [base, base+size) (base rounded up and end rounded
 * down to pages, as buddy_add_zone does). 0 if the zone holds no whole page. */
size_t buddy_zone_meta_bytes(u64 base, u64 size);

/* Registers a memory bank as a zone on NUMA node `node` (>= 0). Every page starts RESERVED;
 * buddy_free_range then hands out the usable parts. Returns 0, -EINVAL (empty, node < 0, meta NULL,
 * address overflow), -ERANGE (more than 2^32-2 pages), -EEXIST (overlaps a zone), -ENOSPC (too
 * many zones). */
int buddy_add_zone(u64 base, u64 size, int node, struct page *meta);

/* Makes the whole pages inside [pa, pa+size) free, merging with free neighbours. Only pages still
 * reserved from buddy_add_zone change: free, allocated and buddy_reserve_range'd pages are left alone,
 * so boot code may reserve before or after freeing the banks. Physical page 0 is never freed,
 * so that 0 can mean failure. Parts outside every zone are ignored. */
void buddy_free_range(u64 pa, u64 size);

/* Reserves every page touching [pa, pa+size) for good, splitting free blocks around it.
 * Idempotent. Allocated pages are left to their owner (and become free when it frees them).
 * Parts outside every zone are ignored. */
void buddy_reserve_range(u64 pa, u64 size);

/* Allocates 2^order contiguous pages aligned to their size and returns the physical address, or
 * 0 on failure. node = PA_ANY_NODE or a node id whose zones are tried first. O(1). */
u64 buddy_alloc(unsigned order, int node, unsigned flags);

/* Up to n single pages (each freed on its own with buddy_free(pa, 0)) into pas, node's zones first as
 * buddy_alloc(0, node, flags) would take them, and leaving the free lists as n such calls would; returns
 * how many (fewer when memory runs out: each page counts as an allocation, a short batch as one failure).
 * O(blocks taken + pages). Same locking as buddy_alloc. */
u32 buddy_alloc_pages(u64 *pas, u32 n, int node, unsigned flags);

/* Frees a block from buddy_alloc, merging it with its free buddies at once. A free of anything else
 * (unmanaged address, not the head of an allocated block, wrong order, double free) is counted in
 * bad_frees and ignored. */
void buddy_free(u64 pa, unsigned order);

/* Turns an allocated block of 2^order pages (from buddy_alloc) into 2^order allocated single pages, each
 * then freed on its own with buddy_free(pa, 0); they merge back as they come. Lets a caller carve one
 * large block into pieces it hands out and takes back one by one. -EINVAL (and nothing changes) if pa
 * is not the head of an allocated block of that order. Caller holds the allocator's lock. */
int buddy_split(u64 pa, unsigned order);

struct page *pa_to_page(u64 pa); /* NULL if pa is not in a zone */
u64 page_to_pa(const struct page *p); /* 0 if p is not a zone's struct page */

/* The first zone's struct pages (set when it is added, never changed after): page_to_pa_first_zone's. */
struct buddy_zone_span {
	const struct page *pages;
	u64 bytes; /* its pages * sizeof(struct page) */
	u64 base_pfn;
};
extern struct buddy_zone_span buddy_zone0;
/* page_to_pa for a page of the first zone (most machines have one bank), inline; 0 for any other page,
 * which the caller then gives to page_to_pa. For a fast path that must call nothing: under QEMU a call's
 * return costs a translation-block lookup, and a call makes the caller save registers. Any context. */
static inline u64 page_to_pa_first_zone(const struct page *p)
{
	uptr off = (uptr)p - (uptr)buddy_zone0.pages;
	if (likely(off < buddy_zone0.bytes && !(off % sizeof(struct page))))
		return (buddy_zone0.base_pfn + off / sizeof(struct page)) << PAGE_SHIFT;
	return 0;
}

/*
 * Counters summed over the zones without a lock (callers outside vm/page_cache.c cannot take its buddy
 * lock): while other harts allocate, a result is a snapshot that may already be stale, exact only when
 * nothing runs. Pages in vm/page_cache.c's caches, depot and groups count as allocated here
 * (page_cache_pages counts them). Any context; none fails.
 *   buddy_free_pages:      pages on the free lists.
 *   buddy_total_pages:     pages not reserved (free + allocated).
 *   buddy_free_pages_node: free pages of node's zones; 0 for a node without zones, PA_ANY_NODE included.
 */
u64 buddy_free_pages(void);
u64 buddy_total_pages(void);
u64 buddy_free_pages_node(int node);
int buddy_node_of(u64 pa); /* the NUMA node of the zone holding pa, -1 if unmanaged; O(zones) */
/* Fills all of *s: the zone counters summed as above (the same snapshot caveat; the fields are not read
 * at one instant) and the call counters since boot. Any context; cannot fail. */
void buddy_get_stats(struct buddy_stats *s);

/* Walks every free list and checks links, flags, alignment and counters. 0 if consistent,
 * -EIO otherwise. O(pages); meant for tests and debugging. */
int buddy_check(void);

#ifdef HOST_TEST /* test support: only host tests call these */
/* Forgets every zone and counter (host tests). */
void buddy_reset(void);
#endif

#endif

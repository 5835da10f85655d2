/* Buddy allocator for physical pages: zones, free lists per order, split on alloc, merge on free. */
#include "vm/buddy.h"
#include "lib/string.h"

#define PA_NIL 0xffffffffu
#define PA_MAX_ZONE_PAGES (PA_NIL - 1)

/*
 * Free lists are doubly linked through 32-bit page indices in the zone's own struct page array,
 * so there is no separate node memory and unlinking a buddy in the middle of a list is O(1).
 * `nonempty` mirrors which lists have entries: finding the smallest order that can satisfy a
 * request is one shift and one count-trailing-zeros, never a scan.
 *
 * There is no cache of single pages here: page_cache.c's per-hart caches stand in front of this
 * allocator and take and return order-0 pages in batches, so every free merges at once.
 */
struct buddy_zone {
	struct page *pages;
	u64 base_pfn;
	u32 npages;
	u32 nonempty; /* bit k set iff free_head[k] != PA_NIL */
	int node;
	u32 free_head[BUDDY_MAX_ORDER + 1];
	u64 nr_free[BUDDY_MAX_ORDER + 1]; /* blocks on each list */
	u64 free_pages;
	u64 total_pages; /* pages not reserved */
};

static struct buddy_zone zones[BUDDY_MAX_ZONES];
static unsigned nr_zones;
struct buddy_zone_span buddy_zone0;
static u64 nr_allocs, nr_frees, nr_failed, nr_bad_frees, nr_node_fallbacks;

/* Zone 0 is tested first and alone on the fast path: most machines have a single bank. The
 * unsigned subtraction folds "below base" into "beyond end". */
static inline struct buddy_zone *zone_of_pfn(u64 pfn)
{
	if (likely(pfn - zones[0].base_pfn < zones[0].npages)) return &zones[0];
	for (unsigned i = 1; i < nr_zones; i++)
		if (pfn - zones[i].base_pfn < zones[i].npages) return &zones[i];
	return NULL;
}

static inline void list_push(struct buddy_zone *z, unsigned order, u32 idx)
{
	struct page *p = &z->pages[idx];
	u32 head = z->free_head[order];

	p->link.next = head;
	p->link.prev = PA_NIL;
	p->flags = PG_FREE;
	p->order = (u8)order;
	if (head != PA_NIL) z->pages[head].link.prev = idx;
	z->free_head[order] = idx;
	z->nonempty |= 1u << order;
	z->nr_free[order]++;
}

static inline void list_del(struct buddy_zone *z, unsigned order, u32 idx)
{
	struct page *p = &z->pages[idx];
	u32 next = p->link.next, prev = p->link.prev;

	if (prev != PA_NIL)
		z->pages[prev].link.next = next;
	else
		z->free_head[order] = next;
	if (next != PA_NIL) z->pages[next].link.prev = prev;
	if (z->free_head[order] == PA_NIL) z->nonempty &= ~(1u << order);
	z->nr_free[order]--;
	p->flags = 0;
}

/* Puts a block whose pages all have flags 0 on the free lists, merging it with its buddy for as
 * long as the buddy is a whole free block of the same order. Does not touch counters. */
static void free_block(struct buddy_zone *z, u32 idx, unsigned order)
{
	u64 pfn = z->base_pfn + idx;

	while (order < BUDDY_MAX_ORDER) {
		u64 buddy = (pfn ^ (1ull << order)) - z->base_pfn;
		struct page *b;

		if (buddy >= z->npages) break;
		b = &z->pages[buddy];
		if (b->flags != PG_FREE || b->order != order) break;
		list_del(z, order, (u32)buddy);
		pfn &= ~(1ull << order);
		order++;
	}
	list_push(z, order, (u32)(pfn - z->base_pfn));
}

static inline u64 take_block(struct buddy_zone *z, struct page *p, u32 idx, unsigned order)
{
	p->flags = PG_HEAD;
	p->order = (u8)order;
	p->private = 0;
	p->owner = 0;
	z->free_pages -= 1u << order;
	return (z->base_pfn + idx) << PAGE_SHIFT;
}

static u64 zone_alloc(struct buddy_zone *z, unsigned order)
{
	u32 avail = z->nonempty >> order;
	unsigned k;
	u32 idx, next;
	struct page *p;

	if (unlikely(!avail)) return 0;
	k = order + ctz32(avail);
	idx = z->free_head[k];
	p = &z->pages[idx];
	next = p->link.next;
	z->free_head[k] = next;
	if (next != PA_NIL)
		z->pages[next].link.prev = PA_NIL;
	else
		z->nonempty &= ~(1u << k);
	z->nr_free[k]--;
	/* Keep the low half and hand the upper halves back, largest first. */
	while (k > order) {
		k--;
		list_push(z, k, idx + (1u << k));
	}
	return take_block(z, p, idx, order);
}

/* Up to n single pages into pas, smallest free block first, as n zone_alloc(z, 0) calls would take them:
 * a whole block at a time (each page made a head of order 0), and of a block larger than what is still
 * wanted its first pages, the rest handed back as the aligned blocks those calls' splits would leave. So
 * the free lists end up holding the same blocks, for one list operation per block instead of a split
 * chain per page (a page cache batch of 64 cost ~15,000 instructions taken one page at a time). */
static u32 zone_alloc_pages(struct buddy_zone *z, u64 *pas, u32 n)
{
	u32 got = 0;
	while (got < n && z->nonempty) {
		unsigned k = ctz32(z->nonempty);
		u32 idx = z->free_head[k], size = 1u << k, take = MIN(size, n - got);
		list_del(z, k, idx);
		for (u32 i = idx; i < idx + take; i++) pas[got++] = take_block(z, &z->pages[i], i, 0);
		for (u32 off = take; off < size; off += 1u << ctz32(off)) list_push(z, ctz32(off), idx + off);
	}
	return got;
}

u32 buddy_alloc_pages(u64 *pas, u32 n, int node, unsigned flags)
{
	u32 got = 0, i;
	if (unlikely(flags & ~BUDDY_THISNODE)) return 0;
	for (i = 0; i < nr_zones && got < n; i++)
		if (node == PA_ANY_NODE || zones[i].node == node) got += zone_alloc_pages(&zones[i], pas + got, n - got);
	if (node != PA_ANY_NODE && !(flags & BUDDY_THISNODE)) {
		u32 own = got;
		for (i = 0; i < nr_zones && got < n; i++)
			if (zones[i].node != node) got += zone_alloc_pages(&zones[i], pas + got, n - got);
		if (got > own) nr_node_fallbacks++;
	}
	nr_allocs += got;
	if (got < n) nr_failed++;
	return got;
}

u64 buddy_alloc(unsigned order, int node, unsigned flags)
{
	u64 pa = 0;
	unsigned i;

	if (unlikely(order > BUDDY_MAX_ORDER || (flags & ~BUDDY_THISNODE))) goto fail;
	if (node == PA_ANY_NODE) {
		for (i = 0; i < nr_zones && !pa; i++) pa = zone_alloc(&zones[i], order);
	} else {
		for (i = 0; i < nr_zones && !pa; i++)
			if (zones[i].node == node) pa = zone_alloc(&zones[i], order);
		if (!pa && !(flags & BUDDY_THISNODE)) {
			for (i = 0; i < nr_zones && !pa; i++)
				if (zones[i].node != node) pa = zone_alloc(&zones[i], order);
			if (pa) nr_node_fallbacks++;
		}
	}
	if (likely(pa)) {
		nr_allocs++;
		return pa;
	}
fail:
	nr_failed++;
	return 0;
}

void buddy_free(u64 pa, unsigned order)
{
	struct buddy_zone *z;
	struct page *p;
	u32 idx;

	if (unlikely(order > BUDDY_MAX_ORDER || (pa & ((PAGE_SIZE << order) - 1)))) goto bad;
	z = zone_of_pfn(pa >> PAGE_SHIFT);
	if (unlikely(!z)) goto bad;
	idx = (u32)((pa >> PAGE_SHIFT) - z->base_pfn);
	p = &z->pages[idx];
	if (unlikely(p->flags != PG_HEAD || p->order != order)) goto bad;
	z->free_pages += 1u << order;
	nr_frees++;
	p->flags = 0;
	free_block(z, idx, order);
	return;
bad:
	nr_bad_frees++;
}

int buddy_split(u64 pa, unsigned order)
{
	if (order > BUDDY_MAX_ORDER || (pa & ((PAGE_SIZE << order) - 1))) return -EINVAL;
	struct buddy_zone *z = zone_of_pfn(pa >> PAGE_SHIFT);
	if (!z) return -EINVAL;
	u32 idx = (u32)((pa >> PAGE_SHIFT) - z->base_pfn);
	if (z->pages[idx].flags != PG_HEAD || z->pages[idx].order != order) return -EINVAL;
	/* The other pages of an allocated block have flags 0; each becomes a head of order 0, as
	 * take_block leaves one. The free page count does not change: the pages stay allocated. */
	for (u32 i = idx; i < idx + (1u << order); i++) {
		struct page *p = &z->pages[i];
		p->flags = PG_HEAD;
		p->order = 0;
		p->private = 0;
		p->owner = 0;
	}
	nr_allocs += (1u << order) - 1; /* each piece is freed as an allocation of its own */
	return 0;
}

/* Frees [i, end) of a zone, all of whose pages are reserved, as the largest naturally aligned
 * blocks that fit: an unaligned zone edge only costs smaller blocks near the edge. */
static void free_reserved_run(struct buddy_zone *z, u32 i, u32 end)
{
	while (i < end) {
		u64 pfn = z->base_pfn + i;
		unsigned order = pfn ? (unsigned)__builtin_ctzll(pfn) : BUDDY_MAX_ORDER;

		if (order > BUDDY_MAX_ORDER) order = BUDDY_MAX_ORDER;
		while ((1u << order) > end - i) order--;
		for (u32 j = i; j < i + (1u << order); j++) z->pages[j].flags = 0;
		z->free_pages += 1u << order;
		z->total_pages += 1u << order;
		free_block(z, i, order);
		i += 1u << order;
	}
}

/* Only pages still reserved since buddy_add_zone qualify: PG_PINNED ones stay out. */
static void zone_free_range(struct buddy_zone *z, u32 i, u32 end)
{
	while (i < end) {
		u32 run = i;

		while (run < end && z->pages[run].flags == PG_RESERVED) run++;
		if (run > i) {
			free_reserved_run(z, i, run);
			i = run;
		} else {
			i++;
		}
	}
}

/* The free block holding page idx: the first aligned candidate head, going up in order, that
 * is a free head large enough to reach idx. Free blocks never overlap, so the first is the one. */
static bool find_free_block(struct buddy_zone *z, u32 idx, u32 *head, unsigned *order)
{
	u64 pfn = z->base_pfn + idx;

	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		u64 h = (pfn & ~((1ull << k) - 1)) - z->base_pfn;
		struct page *p;

		if (h >= z->npages) return false; /* below the zone: larger orders are too */
		p = &z->pages[h];
		if (p->flags == PG_FREE && p->order >= k) {
			*head = (u32)h;
			*order = p->order;
			return true;
		}
	}
	return false;
}

static void zone_reserve_range(struct buddy_zone *z, u32 i, u32 end)
{
	while (i < end) {
		struct page *p = &z->pages[i];
		u32 head, block_end;
		unsigned order;

		if (p->flags & PG_RESERVED) {
			p->flags = PG_RESERVED | PG_PINNED;
			i++;
			continue;
		}
		if (p->flags == PG_HEAD) { /* allocated: its owner keeps it */
			i += 1u << p->order;
			continue;
		}
		if (!find_free_block(z, i, &head, &order)) { /* inside an allocated block */
			i++;
			continue;
		}
		/* Take the whole block out, then give back the parts outside the range: they can
		 * only merge among themselves since the reserved pages sit between them. */
		list_del(z, order, head);
		block_end = head + (1u << order);
		z->free_pages -= 1u << order;
		z->total_pages -= 1u << order;
		for (u32 j = head; j < block_end; j++) z->pages[j].flags = PG_RESERVED;
		if (head < i) free_reserved_run(z, head, i);
		for (; i < block_end && i < end; i++) z->pages[i].flags = PG_RESERVED | PG_PINNED;
		if (block_end > end) free_reserved_run(z, end, block_end);
	}
}

/* Applies fn to the part of [first_pfn, end_pfn) inside each zone. */
static void for_each_zone_part(u64 first_pfn, u64 end_pfn, void (*fn)(struct buddy_zone *, u32, u32))
{
	for (unsigned n = 0; n < nr_zones; n++) {
		struct buddy_zone *z = &zones[n];
		u64 s = MAX(first_pfn, z->base_pfn);
		u64 e = MIN(end_pfn, z->base_pfn + z->npages);

		if (s < e) fn(z, (u32)(s - z->base_pfn), (u32)(e - z->base_pfn));
	}
}

static u64 range_end(u64 pa, u64 size) { return size > ~0ull - pa ? ~0ull : pa + size; }

void buddy_free_range(u64 pa, u64 size)
{
	u64 first = (pa >> PAGE_SHIFT) + ((pa & ~PAGE_MASK) != 0);
	u64 end = range_end(pa, size) >> PAGE_SHIFT;

	if (first == 0) first = 1; /* pa 0 is the failure value */
	for_each_zone_part(first, end, zone_free_range);
}

void buddy_reserve_range(u64 pa, u64 size)
{
	u64 last = range_end(pa, size);
	u64 end = (last >> PAGE_SHIFT) + ((last & ~PAGE_MASK) != 0);

	if (size == 0) return;
	for_each_zone_part(pa >> PAGE_SHIFT, end, zone_reserve_range);
}

/* Whole pages in [base, base+size), as (first pfn, count); count 0 if none. */
static u64 zone_span(u64 base, u64 size, u64 *first_pfn)
{
	u64 first = (base >> PAGE_SHIFT) + ((base & ~PAGE_MASK) != 0);
	u64 end = range_end(base, size) >> PAGE_SHIFT;

	*first_pfn = first;
	return end > first ? end - first : 0;
}

size_t buddy_zone_meta_bytes(u64 base, u64 size)
{
	u64 first;

	return (size_t)(zone_span(base, size, &first) * sizeof(struct page));
}

int buddy_add_zone(u64 base, u64 size, int node, struct page *meta)
{
	u64 first, npages = zone_span(base, size, &first);
	struct buddy_zone *z;

	if (!meta || ((uptr)meta & (_Alignof(struct page) - 1)) || node < 0 || size == 0 ||
	    size > ~0ull - base || npages == 0)
		return -EINVAL;
	if (npages > PA_MAX_ZONE_PAGES) return -ERANGE;
	for (unsigned i = 0; i < nr_zones; i++)
		if (first < zones[i].base_pfn + zones[i].npages &&
		    zones[i].base_pfn < first + npages)
			return -EEXIST;
	if (nr_zones == BUDDY_MAX_ZONES) return -ENOSPC;

	for (u64 i = 0; i < npages; i++) {
		meta[i].private = 0;
		meta[i].order = 0;
		meta[i].flags = PG_RESERVED;
		meta[i].zone = (u8)nr_zones;
		meta[i]._pad = 0;
		meta[i].owner = 0;
	}
	z = &zones[nr_zones];
	memset(z, 0, sizeof(*z));
	z->pages = meta;
	z->base_pfn = first;
	z->npages = (u32)npages;
	z->node = node;
	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) z->free_head[k] = PA_NIL;
	if (!nr_zones) buddy_zone0 = (struct buddy_zone_span){meta, npages * sizeof(struct page), first};
	nr_zones++;
	return 0;
}

struct page *pa_to_page(u64 pa)
{
	u64 pfn = pa >> PAGE_SHIFT;
	struct buddy_zone *z = zone_of_pfn(pfn);

	return z ? &z->pages[pfn - z->base_pfn] : NULL;
}

u64 page_to_pa(const struct page *p)
{
	const struct buddy_zone *z;
	uptr off;

	if (!p || p->zone >= nr_zones) return 0;
	z = &zones[p->zone];
	off = (uptr)p - (uptr)z->pages;
	if (off % sizeof(struct page) || off / sizeof(struct page) >= z->npages) return 0;
	return (z->base_pfn + off / sizeof(struct page)) << PAGE_SHIFT;
}

u64 buddy_free_pages(void)
{
	u64 n = 0;

	for (unsigned i = 0; i < nr_zones; i++) n += zones[i].free_pages;
	return n;
}

u64 buddy_total_pages(void)
{
	u64 n = 0;

	for (unsigned i = 0; i < nr_zones; i++) n += zones[i].total_pages;
	return n;
}

int buddy_node_of(u64 pa)
{
	struct buddy_zone *z = zone_of_pfn(pa >> PAGE_SHIFT);

	return z ? z->node : -1;
}

u64 buddy_free_pages_node(int node)
{
	u64 n = 0;

	for (unsigned i = 0; i < nr_zones; i++)
		if (zones[i].node == node) n += zones[i].free_pages;
	return n;
}

void buddy_get_stats(struct buddy_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < nr_zones; i++) {
		const struct buddy_zone *z = &zones[i];

		s->free_pages += z->free_pages;
		s->total_pages += z->total_pages;
		s->reserved_pages += z->npages - z->total_pages;
		for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) s->nr_free[k] += z->nr_free[k];
	}
	s->allocs = nr_allocs;
	s->frees = nr_frees;
	s->failed = nr_failed;
	s->bad_frees = nr_bad_frees;
	s->node_fallbacks = nr_node_fallbacks;
}

/* Every listed block: in range, aligned, flagged as a free head of its list's order, with
 * consistent back links and flag-free tail pages. Then the counters must match what was seen,
 * and no page outside the lists may claim to be a free head. */
static int check_zone(const struct buddy_zone *z)
{
	u64 free = 0, heads = 0, reserved = 0;

	for (unsigned k = 0; k <= BUDDY_MAX_ORDER; k++) {
		u64 count = 0;
		u32 prev = PA_NIL;

		if (!!(z->nonempty & (1u << k)) != (z->free_head[k] != PA_NIL)) return -EIO;
		for (u32 i = z->free_head[k]; i != PA_NIL; i = z->pages[i].link.next) {
			const struct page *p;

			if (i >= z->npages || ++count > z->npages) return -EIO;
			p = &z->pages[i];
			if (p->flags != PG_FREE || p->order != k || p->link.prev != prev) return -EIO;
			if (((z->base_pfn + i) & ((1ull << k) - 1)) || (u64)i + (1u << k) > z->npages)
				return -EIO;
			for (u32 j = i + 1; j < i + (1u << k); j++)
				if (z->pages[j].flags) return -EIO;
			prev = i;
		}
		if (count != z->nr_free[k]) return -EIO;
		free += count << k;
		heads += count;
	}
	for (u32 i = 0; i < z->npages; i++) {
		if (z->pages[i].flags == PG_FREE) heads--;
		if (z->pages[i].flags & PG_RESERVED) reserved++;
	}
	if (heads || free != z->free_pages || reserved != z->npages - z->total_pages ||
	    z->free_pages > z->total_pages)
		return -EIO;
	return 0;
}

int buddy_check(void)
{
	for (unsigned i = 0; i < nr_zones; i++)
		if (check_zone(&zones[i])) return -EIO;
	return 0;
}

#ifdef HOST_TEST /* test support: only host tests call these */
void buddy_reset(void)
{
	memset(zones, 0, sizeof(zones));
	nr_zones = 0;
	buddy_zone0 = (struct buddy_zone_span){0};
	nr_allocs = nr_frees = nr_failed = nr_bad_frees = nr_node_fallbacks = 0;
}
#endif

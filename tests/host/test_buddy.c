/* Host tests for the buddy page allocator (vm/buddy.c): zones, splitting, merging, reservations,
 * node preference, bad frees, and a long random run checked against a per-page reference model. */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "tests/host/htest.h"
#include "vm/buddy.h"
#include "tests/host/test_buddy.h"


static struct page *metas[BUDDY_MAX_ZONES + 4];
static int nr_metas;

void reset_all(void)
{
	buddy_reset();
	for (int i = 0; i < nr_metas; i++) free(metas[i]);
	nr_metas = 0;
}

/* Adds a zone with freshly allocated metadata; the metadata is filled with junk first so that
 * a buddy_add_zone that forgot to initialise a field shows up. */
int add_zone(u64 base, u64 size, int node)
{
	size_t bytes = buddy_zone_meta_bytes(base, size);
	struct page *meta = malloc(bytes ? bytes : sizeof(struct page));
	int err;

	memset(meta, 0xa5, bytes ? bytes : sizeof(struct page));
	err = buddy_add_zone(base, size, node, meta);
	if (err)
		free(meta);
	else
		metas[nr_metas++] = meta;
	return err;
}

static u64 xorshift_state = 0x9e3779b97f4a7c15ull;
u64 rnd(void)
{
	u64 x = xorshift_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return xorshift_state = x;
}

/* What a buddy allocator must end up with after freeing [first, end) pfns into an empty zone:
 * the greedy cover by the largest naturally aligned blocks (pfn 0 is never freed). */
static void expected_blocks(u64 first, u64 end, u64 counts[BUDDY_MAX_ORDER + 1])
{
	if (first == 0) first = 1;
	while (first < end) {
		unsigned k = BUDDY_MAX_ORDER;
		while ((first & ((1ull << k) - 1)) || first + (1ull << k) > end) k--;
		counts[k]++;
		first += 1ull << k;
	}
}

static void check_counts(const u64 want[BUDDY_MAX_ORDER + 1])
{
	struct buddy_stats s;

	buddy_get_stats(&s);
	for (int k = 0; k <= BUDDY_MAX_ORDER; k++) CHECK_EQ(s.nr_free[k], want[k]);
}

static void test_struct_page_layout(void)
{
	CHECK(sizeof(struct page) <= 16);
	CHECK_EQ(buddy_zone_meta_bytes(RAM_BASE, 8 * MiB), 2048 * sizeof(struct page));
	/* Unaligned edges: only whole pages count. */
	CHECK_EQ(buddy_zone_meta_bytes(RAM_BASE + 1, 3 * PAGE_SIZE), 2 * sizeof(struct page));
	CHECK_EQ(buddy_zone_meta_bytes(RAM_BASE + 1, PAGE_SIZE), 0);
	CHECK_EQ(buddy_zone_meta_bytes(~0ull - PAGE_SIZE, 10 * PAGE_SIZE), 0);
}

static void test_add_zone_errors(void)
{
	struct page dummy[2];

	reset_all();
	CHECK_EQ(buddy_add_zone(RAM_BASE, MiB, 0, NULL), -EINVAL);
	CHECK_EQ(buddy_add_zone(RAM_BASE, 0, 0, dummy), -EINVAL);
	CHECK_EQ(buddy_add_zone(RAM_BASE, MiB, -1, dummy), -EINVAL);
	CHECK_EQ(buddy_add_zone(RAM_BASE + 1, PAGE_SIZE, 0, dummy), -EINVAL);
	CHECK_EQ(buddy_add_zone(~0ull - PAGE_SIZE, 4 * PAGE_SIZE, 0, dummy), -EINVAL);
	CHECK_EQ(buddy_add_zone(RAM_BASE, 1ull << 45, 0, dummy), -ERANGE);
	CHECK_EQ(buddy_add_zone(RAM_BASE, MiB, 0, (struct page *)((char *)dummy + 4)), -EINVAL);
	CHECK_EQ(add_zone(RAM_BASE, MiB, 0), 0);
	CHECK_EQ(add_zone(RAM_BASE + MiB - PAGE_SIZE, MiB, 0), -EEXIST);
	CHECK_EQ(add_zone(RAM_BASE - MiB + 1, MiB + PAGE_SIZE, 0), -EEXIST);
	CHECK_EQ(add_zone(RAM_BASE - MiB, MiB, 0), 0); /* touching is fine */
	for (int i = 2; i < BUDDY_MAX_ZONES; i++) CHECK_EQ(add_zone(RAM_BASE + i * 16 * MiB, MiB, i), 0);
	CHECK_EQ(add_zone(RAM_BASE + 512 * MiB, MiB, 0), -ENOSPC);
	CHECK_EQ(buddy_total_pages(), 0);
	CHECK_EQ(buddy_free_pages(), 0);
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

static void test_zone_starts_reserved(void)
{
	struct buddy_stats s;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, 4 * MiB, 0), 0);
	CHECK_EQ(buddy_alloc(0, PA_ANY_NODE, 0), 0);
	buddy_get_stats(&s);
	CHECK_EQ(s.failed, 1);
	CHECK_EQ(s.reserved_pages, 1024);
	CHECK(pa_to_page(RAM_BASE)->flags & PG_RESERVED);
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

/* Zones with odd starts and sizes free into exactly the maximal aligned blocks. */
static void test_free_range_maximal_blocks(void)
{
	u64 want[BUDDY_MAX_ORDER + 1] = {0};
	u64 b0 = RAM_BASE + 3 * PAGE_SIZE, s0 = 5 * MiB + 5 * PAGE_SIZE;
	u64 b1 = RAM_BASE + 64 * MiB + 4 * MiB - 7 * PAGE_SIZE, s1 = 9 * MiB + 123;

	reset_all();
	CHECK_EQ(add_zone(b0, s0, 0), 0);
	CHECK_EQ(add_zone(b1, s1, 1), 0);
	/* Freed in pieces and out of order: the result must not depend on it. */
	buddy_free_range(b0 + 100, PAGE_SIZE); /* holds no whole page */
	CHECK_EQ(buddy_total_pages(), 0);
	buddy_free_range(b1 + MiB, s1);
	buddy_free_range(b0 + 2 * MiB + 100, s0);
	buddy_free_range(b0 - MiB, MiB + 2 * MiB + PAGE_SIZE + 100);
	buddy_free_range(b1, MiB);
	buddy_free_range(b1, MiB); /* already free: no change */
	expected_blocks(b0 >> PAGE_SHIFT, (b0 + s0) >> PAGE_SHIFT, want);
	expected_blocks(b1 >> PAGE_SHIFT, (b1 + s1) >> PAGE_SHIFT, want);
	check_counts(want);
	CHECK_EQ(buddy_total_pages(), (s0 >> PAGE_SHIFT) + (s1 >> PAGE_SHIFT));
	CHECK_EQ(buddy_free_pages(), buddy_total_pages());
	CHECK_EQ(buddy_free_pages_node(1), s1 >> PAGE_SHIFT);
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

/* Physical page 0 is never handed out, so that 0 can mean failure. */
static void test_page_zero_never_allocated(void)
{
	reset_all();
	CHECK_EQ(add_zone(0, 64 * PAGE_SIZE, 0), 0);
	buddy_free_range(0, 64 * PAGE_SIZE);
	CHECK_EQ(buddy_free_pages(), 63);
	for (int i = 0; i < 63; i++) CHECK(buddy_alloc(0, PA_ANY_NODE, 0) != 0);
	CHECK_EQ(buddy_alloc(0, PA_ANY_NODE, 0), 0);
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}


static const struct zone_desc odd_zones[] = {
	{RAM_BASE + 5 * PAGE_SIZE, 3 * MiB + 11 * PAGE_SIZE, 0},
	{RAM_BASE + 32 * MiB + 2 * MiB + PAGE_SIZE, 6 * MiB - 3 * PAGE_SIZE, 1},
	{RAM_BASE + 128 * MiB, 4 * MiB, 0},
	{RAM_BASE + 256 * MiB - 13 * PAGE_SIZE, 77 * PAGE_SIZE, 2},
};

static u64 setup_odd_zones(u64 want[BUDDY_MAX_ORDER + 1])
{
	u64 pages = 0;

	reset_all();
	for (unsigned i = 0; i < ARRAY_SIZE(odd_zones); i++) {
		const struct zone_desc *d = &odd_zones[i];

		CHECK_EQ(add_zone(d->base, d->size, d->node), 0);
		buddy_free_range(d->base, d->size);
		if (want) expected_blocks(d->base >> PAGE_SHIFT, (d->base + d->size) >> PAGE_SHIFT, want);
		pages += d->size >> PAGE_SHIFT;
	}
	return pages;
}

static int zone_index_of(u64 pfn)
{
	for (unsigned i = 0; i < ARRAY_SIZE(odd_zones); i++) {
		u64 first = odd_zones[i].base >> PAGE_SHIFT;
		if (pfn >= first && pfn < ((odd_zones[i].base + odd_zones[i].size) >> PAGE_SHIFT))
			return (int)i;
	}
	return -1;
}


/* Allocate everything at mixed orders, then every remaining page: no overlap, natural alignment,
 * full coverage. Freeing it all in random order must give back the initial maximal blocks. */
static void test_alloc_all_then_coalesce(void)
{
	u64 want[BUDDY_MAX_ORDER + 1] = {0};
	u64 total = setup_odd_zones(want);
	u64 span = (256 * MiB) >> PAGE_SHIFT, got = 0, base_pfn = RAM_BASE >> PAGE_SHIFT;
	u8 *used = calloc(span, 1);
	struct block *blocks = malloc(total * sizeof(*blocks));
	u64 nblocks = 0;
	bool overlap = false, misaligned = false, outside = false;

	for (int pass = 0; pass < 2; pass++) {
		for (;;) {
			unsigned order = pass == 0 ? (unsigned)(rnd() % (BUDDY_MAX_ORDER + 1)) : 0;
			u64 pa = buddy_alloc(order, PA_ANY_NODE, 0);
			u64 pfn = pa >> PAGE_SHIFT;

			if (!pa) {
				if (pass == 0 && order == 0) break;
				if (pass == 1) break;
				continue;
			}
			if (pa & ((PAGE_SIZE << order) - 1)) misaligned = true;
			if (zone_index_of(pfn) < 0 || zone_index_of(pfn) != zone_index_of(pfn + (1u << order) - 1))
				outside = true;
			for (u64 p = pfn; p < pfn + (1u << order) && p - base_pfn < span; p++) {
				if (used[p - base_pfn]) overlap = true;
				used[p - base_pfn] = 1;
			}
			blocks[nblocks++] = (struct block){pa, order};
			got += 1u << order;
		}
	}
	CHECK(!overlap);
	CHECK(!misaligned);
	CHECK(!outside);
	CHECK_EQ(got, total);
	CHECK_EQ(buddy_free_pages(), 0);
	for (int k = 0; k <= BUDDY_MAX_ORDER; k++) CHECK_EQ(buddy_alloc(k, PA_ANY_NODE, 0), 0);
	CHECK_EQ(buddy_check(), 0);

	for (u64 i = nblocks; i > 1; i--) { /* Fisher-Yates */
		u64 j = rnd() % i;
		struct block t = blocks[i - 1];
		blocks[i - 1] = blocks[j];
		blocks[j] = t;
	}
	for (u64 i = 0; i < nblocks; i++) {
		buddy_free(blocks[i].pa, blocks[i].order);
		if (i % 97 == 0) CHECK_EQ(buddy_check(), 0);
	}
	CHECK_EQ(buddy_free_pages(), total);
	CHECK_EQ(buddy_check(), 0);
	check_counts(want);
	CHECK_EQ(buddy_check(), 0);
	free(used);
	free(blocks);
	reset_all();
}

/* Reservations split free blocks, round outward, are idempotent, survive a later buddy_free_range,
 * and the reserved pages are never handed out. */
static void test_reserve_splits_blocks(void)
{
	u64 base = RAM_BASE, size = 8 * MiB, npages = size >> PAGE_SHIFT;
	u64 r1 = base + 3 * MiB + 5 * PAGE_SIZE + 17, r1_len = 2 * PAGE_SIZE; /* touches 3 pages */
	u64 r2 = base + 6 * MiB - PAGE_SIZE, r2_len = 2 * PAGE_SIZE;          /* straddles 4 MiB blocks */
	u64 r3 = base + 7 * MiB, r3_len = 64 * PAGE_SIZE;                     /* reserved before freeing */
	u8 *seen = calloc(npages, 1);
	u64 got = 0;
	bool bad = false;

	reset_all();
	CHECK_EQ(add_zone(base, size, 0), 0);
	buddy_reserve_range(r3, r3_len);
	buddy_free_range(base, size);
	CHECK_EQ(buddy_total_pages(), npages - 64);
	buddy_reserve_range(r1, r1_len);
	buddy_reserve_range(r2, r2_len);
	CHECK_EQ(buddy_total_pages(), npages - 64 - 3 - 2);
	CHECK_EQ(buddy_free_pages(), buddy_total_pages());
	CHECK_EQ(buddy_check(), 0);
	buddy_reserve_range(r1, r1_len); /* idempotent */
	buddy_reserve_range(r2 - PAGE_SIZE, 0);
	buddy_free_range(base, size);    /* explicit reservations stay */
	CHECK_EQ(buddy_total_pages(), npages - 69);
	CHECK_EQ(buddy_check(), 0);
	/* The two 4 MiB halves are broken, so no order-10 block may exist any more. */
	CHECK_EQ(buddy_alloc(BUDDY_MAX_ORDER, PA_ANY_NODE, 0), 0);
	for (u64 pa; (pa = buddy_alloc(0, PA_ANY_NODE, 0)) != 0; got++) {
		u64 i = (pa - base) >> PAGE_SHIFT;
		if (pa >= r1 - 17 && pa < r1 + r1_len) bad = true;
		if (pa >= r2 && pa < r2 + r2_len) bad = true;
		if (pa >= r3 && pa < r3 + r3_len) bad = true;
		if (i >= npages || seen[i]) bad = true;
		else seen[i] = 1;
	}
	CHECK(!bad);
	CHECK_EQ(got, npages - 69);
	CHECK(pa_to_page(r1)->flags & PG_RESERVED);
	free(seen);
	reset_all();
}

/* Reserving a range that holds allocated pages leaves them to their owner; ranges crossing zones
 * and holes are clipped per zone. */
static void test_reserve_allocated_and_across_zones(void)
{
	u64 a, b, total;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, MiB, 0), 0);
	CHECK_EQ(add_zone(RAM_BASE + 2 * MiB, MiB, 1), 0);
	buddy_free_range(0, ~0ull);
	total = buddy_total_pages();
	CHECK_EQ(total, 512);
	a = buddy_alloc(2, 0, 0);
	CHECK_EQ(a, RAM_BASE);
	b = buddy_alloc(0, 1, 0);
	CHECK(b >= RAM_BASE + 2 * MiB);
	/* From the middle of zone 0 through the hole into zone 1's first 2 pages. */
	buddy_reserve_range(RAM_BASE + MiB / 2, MiB / 2 + MiB + 2 * PAGE_SIZE);
	CHECK_EQ(buddy_total_pages(), 512 - 128 - 2 + (b < RAM_BASE + 2 * MiB + 2 * PAGE_SIZE));
	buddy_reserve_range(RAM_BASE, 4 * PAGE_SIZE); /* allocated: left alone */
	CHECK_EQ(pa_to_page(a)->flags, PG_HEAD);
	buddy_free(a, 2);
	buddy_free(b, 0);
	CHECK_EQ(buddy_check(), 0);
	CHECK_EQ(buddy_free_pages(), buddy_total_pages());
	reset_all();
}

static struct buddy_stats stats(void)
{
	struct buddy_stats st;
	buddy_get_stats(&st);
	return st;
}

static void test_node_preference(void)
{
	u64 pa, n1 = 0;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, MiB, 0), 0);
	CHECK_EQ(add_zone(RAM_BASE + 16 * MiB, 64 * PAGE_SIZE, 1), 0);
	buddy_free_range(RAM_BASE, 32 * MiB);
	CHECK_EQ(buddy_free_pages_node(0), 256);
	CHECK_EQ(buddy_free_pages_node(1), 64);
	CHECK_EQ(buddy_free_pages_node(7), 0);
	/* Node 1 first, until it runs dry... */
	while ((pa = buddy_alloc(0, 1, BUDDY_THISNODE)) != 0) {
		CHECK(pa >= RAM_BASE + 16 * MiB && pa < RAM_BASE + 16 * MiB + 64 * PAGE_SIZE);
		n1++;
	}
	CHECK_EQ(n1, 64);
	CHECK_EQ(buddy_free_pages_node(1), 0);
	CHECK_EQ(stats().node_fallbacks, 0); /* served from the asked node: no fallback counted */
	CHECK_EQ(buddy_node_of(RAM_BASE + 16 * MiB), 1);
	CHECK_EQ(buddy_node_of(RAM_BASE), 0);
	CHECK_EQ(buddy_node_of(RAM_BASE + 8 * MiB), -1);
	/* ...then BUDDY_THISNODE fails and a plain request falls back to node 0, counted. */
	CHECK_EQ(buddy_alloc(0, 1, BUDDY_THISNODE), 0);
	pa = buddy_alloc(0, 1, 0);
	CHECK(pa >= RAM_BASE && pa < RAM_BASE + MiB);
	CHECK_EQ(buddy_free_pages_node(0), 255);
	CHECK_EQ(stats().node_fallbacks, 1);
	/* An unknown node falls back too, but not with BUDDY_THISNODE. */
	CHECK(buddy_alloc(3, 5, 0) != 0);
	CHECK_EQ(buddy_alloc(0, 5, BUDDY_THISNODE), 0);
	CHECK_EQ(stats().node_fallbacks, 2);
	CHECK(buddy_alloc(0, PA_ANY_NODE, 0) != 0); /* no node asked: never a fallback */
	CHECK_EQ(stats().node_fallbacks, 2);
	/* A node 1 page freed goes back to node 1 and is preferred again. */
	buddy_free(RAM_BASE + 16 * MiB + 8 * PAGE_SIZE, 0);
	CHECK_EQ(buddy_alloc(0, 1, BUDDY_THISNODE), RAM_BASE + 16 * MiB + 8 * PAGE_SIZE);
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

static void test_exhaustion_and_bad_args(void)
{
	struct buddy_stats s;
	u64 pa;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, 4 * MiB, 0), 0);
	buddy_free_range(RAM_BASE, 4 * MiB);
	CHECK_EQ(buddy_alloc(BUDDY_MAX_ORDER + 1, PA_ANY_NODE, 0), 0);
	CHECK_EQ(buddy_alloc(0, PA_ANY_NODE, 0x80), 0);
	pa = buddy_alloc(BUDDY_MAX_ORDER, PA_ANY_NODE, 0);
	CHECK_EQ(pa, RAM_BASE);
	CHECK_EQ(buddy_alloc(0, PA_ANY_NODE, 0), 0);
	CHECK_EQ(buddy_alloc(0, 0, 0), 0);
	buddy_get_stats(&s);
	CHECK_EQ(s.allocs, 1);
	CHECK_EQ(s.failed, 4);
	CHECK_EQ(s.free_pages, 0);
	buddy_free(pa, BUDDY_MAX_ORDER);
	CHECK_EQ(buddy_free_pages(), 1024);
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

/* Every kind of wrong free is counted and changes nothing. */
static void test_bad_frees_harmless(void)
{
	struct buddy_stats before, after;
	u64 big, small, free_before;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, 8 * MiB, 0), 0);
	buddy_free_range(RAM_BASE + PAGE_SIZE, 8 * MiB); /* first page stays reserved */
	big = buddy_alloc(3, PA_ANY_NODE, 0);
	small = buddy_alloc(0, PA_ANY_NODE, 0);
	CHECK(big && small);
	free_before = buddy_free_pages();
	buddy_get_stats(&before);

	buddy_free(RAM_BASE - PAGE_SIZE, 0);        /* outside every zone */
	buddy_free(0, 0);                           /* address 0 */
	buddy_free(big + 1, 0);                     /* not page aligned */
	buddy_free(big, 2);                         /* wrong order, smaller */
	buddy_free(big, 4);                         /* wrong order, larger */
	buddy_free(big + PAGE_SIZE, 0);             /* tail page of a block */
	buddy_free(big, BUDDY_MAX_ORDER + 1);          /* impossible order */
	buddy_free(RAM_BASE, 0);                    /* reserved page */
	buddy_free(RAM_BASE + 6 * MiB, 0);          /* free page */
	buddy_free(RAM_BASE + 4 * MiB, BUDDY_MAX_ORDER); /* head of a free block */
	buddy_free(small, 0);                       /* valid */
	buddy_free(small, 0);                       /* double free */
	buddy_free(big + 4 * PAGE_SIZE, 2);         /* aligned but inside an allocated block */

	buddy_get_stats(&after);
	CHECK_EQ(after.bad_frees - before.bad_frees, 12);
	CHECK_EQ(after.frees - before.frees, 1);
	CHECK_EQ(buddy_free_pages(), free_before + 1);
	CHECK_EQ(buddy_check(), 0);
	buddy_free(big, 3);
	CHECK_EQ(buddy_free_pages(), buddy_total_pages());
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

static void test_page_lookup_and_owner_fields(void)
{
	u64 pa, pa2;
	struct page *p;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE + 3 * PAGE_SIZE, MiB, 0), 0);
	CHECK_EQ(add_zone(RAM_BASE + 8 * MiB, MiB, 1), 0);
	buddy_free_range(RAM_BASE, 16 * MiB);
	CHECK(pa_to_page(RAM_BASE) == NULL);
	CHECK(pa_to_page(RAM_BASE + 4 * MiB) == NULL);
	CHECK_EQ(page_to_pa(NULL), 0);
	pa = buddy_alloc(1, 1, BUDDY_THISNODE);
	p = pa_to_page(pa);
	CHECK(p != NULL);
	CHECK_EQ(page_to_pa(p), pa);
	CHECK_EQ(page_to_pa(pa_to_page(pa + PAGE_SIZE + 123)), pa + PAGE_SIZE);
	CHECK_EQ(page_to_pa(pa_to_page(RAM_BASE + 3 * PAGE_SIZE)), RAM_BASE + 3 * PAGE_SIZE);
	CHECK_EQ(p->flags, PG_HEAD);
	CHECK_EQ(p->order, 1);
	CHECK_EQ(p->private, 0);
	CHECK_EQ(p->owner, 0);
	/* The owner's fields, tail pages included, are theirs while allocated... */
	p->private = 0xdeadbeefcafef00dull;
	p->owner = 42;
	p[1].private = ~0ull;
	p[1].owner = ~0u;
	buddy_free(pa, 1);
	CHECK_EQ(buddy_check(), 0);
	/* ...and cleared for the next owner. */
	pa2 = buddy_alloc(1, 1, BUDDY_THISNODE);
	CHECK_EQ(pa2, pa);
	CHECK_EQ(p->private, 0);
	CHECK_EQ(p->owner, 0);
	buddy_free(pa2, 1);
	CHECK_EQ(buddy_free_pages(), buddy_total_pages());
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

/* Order-0 frees merge at once (the per-hart page caches above batch single pages, so the buddy allocator
 * keeps none of its own): after 1024 single pages come back, the zone is one top-order block again. */
static void test_single_frees_merge_at_once(void)
{
	static u64 pas[1024];
	struct buddy_stats s;
	u64 pa;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, 4 * MiB, 0), 0);
	buddy_free_range(RAM_BASE, 4 * MiB);
	for (int i = 0; i < 1024; i++) CHECK((pas[i] = buddy_alloc(0, PA_ANY_NODE, 0)) != 0);
	for (int i = 0; i < 1024; i++) buddy_free(pas[i], 0);
	buddy_get_stats(&s);
	CHECK_EQ(s.free_pages, 1024);
	CHECK_EQ(s.nr_free[BUDDY_MAX_ORDER], 1);
	CHECK_EQ(buddy_check(), 0);
	CHECK_EQ(buddy_alloc(BUDDY_MAX_ORDER, PA_ANY_NODE, 0), RAM_BASE);
	buddy_free(RAM_BASE, BUDDY_MAX_ORDER);
	/* A page freed a moment ago can be reserved, and is then gone for good. */
	pa = buddy_alloc(0, PA_ANY_NODE, 0);
	buddy_free(pa, 0);
	buddy_reserve_range(pa, PAGE_SIZE);
	CHECK(pa_to_page(pa)->flags & PG_RESERVED);
	CHECK_EQ(buddy_total_pages(), 1023);
	CHECK_EQ(buddy_free_pages(), 1023);
	for (int i = 0; i < 1023; i++) CHECK(buddy_alloc(0, PA_ANY_NODE, 0) != pa);
	CHECK_EQ(buddy_free_pages(), 0);
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

/* A block split into single pages: each is freed on its own, in any order, and the whole block is one
 * free block again after the last; a split of anything but an allocated block's head changes nothing. */
static void test_split_frees_page_by_page(void)
{
	struct buddy_stats s;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, 4 * MiB, 0), 0);
	buddy_free_range(RAM_BASE, 4 * MiB);
	u64 pa = buddy_alloc(9, PA_ANY_NODE, 0);
	CHECK(pa != 0);
	CHECK_EQ(buddy_split(pa + PAGE_SIZE, 0), -EINVAL);           /* not a head */
	CHECK_EQ(buddy_split(pa, 8), -EINVAL);     /* wrong order */
	CHECK_EQ(buddy_split(RAM_BASE + 8 * MiB, 0), -EINVAL);       /* outside every zone */
	CHECK_EQ(buddy_split(pa + (PAGE_SIZE << 9), 9), -EINVAL); /* free */
	CHECK_EQ(buddy_free_pages(), 512);
	CHECK_EQ(buddy_split(pa, 9), 0);
	CHECK_EQ(buddy_free_pages(), 512);
	CHECK_EQ(buddy_check(), 0);
	for (u64 i = 0; i < 512; i++) { /* odd pages first, then even: no merge before its buddy is back */
		u64 k = i < 256 ? 2 * i + 1 : 2 * (i - 256);
		buddy_free(pa + k * PAGE_SIZE, 0);
	}
	buddy_get_stats(&s);
	CHECK_EQ(s.bad_frees, 0);
	CHECK_EQ(s.free_pages, 1024);
	CHECK_EQ(s.nr_free[BUDDY_MAX_ORDER], 1);
	CHECK_EQ(s.allocs, s.frees);
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

/* A fragmented zone, the same every time: 4 MiB freed, pages of mixed orders taken, about half given back. */
static void fragment(u64 *held, int *nheld)
{
	static const unsigned orders[] = {0, 3, 1, 0, 5, 2, 0, 4, 1, 7, 0, 2};
	u64 pa[600];
	unsigned ord[600];
	int n = 0;
	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, 4 * MiB, 0), 0);
	buddy_free_range(RAM_BASE, 4 * MiB);
	for (int i = 0; i < 600; i++) {
		ord[n] = orders[i % 12];
		if ((pa[n] = buddy_alloc(ord[n], PA_ANY_NODE, 0)) != 0) n++;
	}
	*nheld = 0;
	for (int i = 0; i < n; i++) {
		if ((i * 7) % 11 < 5) buddy_free(pa[i], ord[i]);
		else held[(*nheld)++] = pa[i];
	}
}

static int u64_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;
	return x < y ? -1 : x > y;
}

/* buddy_alloc_pages takes the pages n buddy_alloc(0) calls would and leaves the same free blocks, for
 * every batch size from a fragmented zone: the page cache's batches keep the single-page policy. Short
 * when memory runs out, each page freed on its own afterwards. */
static void test_alloc_pages_as_single_allocs(void)
{
	static u64 held[600], bulk[1100], single[1100];
	int nheld;
	for (u32 n = 1; n <= 1100; n = n < 80 ? n + 1 : n * 3 / 2) {
		struct buddy_stats a, b;
		fragment(held, &nheld);
		u32 got = buddy_alloc_pages(bulk, n, PA_ANY_NODE, 0);
		buddy_get_stats(&a);
		CHECK_EQ(buddy_check(), 0);
		fragment(held, &nheld);
		u32 one = 0;
		while (one < n && (single[one] = buddy_alloc(0, PA_ANY_NODE, 0)) != 0) one++;
		buddy_get_stats(&b);
		CHECK_EQ(got, one);
		CHECK_EQ(a.free_pages, b.free_pages);
		for (int k = 0; k <= BUDDY_MAX_ORDER; k++) CHECK_EQ(a.nr_free[k], b.nr_free[k]);
		qsort(bulk, got, sizeof(u64), u64_cmp);
		qsort(single, one, sizeof(u64), u64_cmp);
		CHECK(memcmp(bulk, single, got * sizeof(u64)) == 0);
	}
	/* All of memory in one call (short), then every page back on its own: one free block again. */
	fragment(held, &nheld);
	for (int i = 0; i < nheld; i++) buddy_free(held[i], pa_to_page(held[i])->order);
	static u64 all[1100];
	u32 got = buddy_alloc_pages(all, 1100, PA_ANY_NODE, 0);
	CHECK_EQ(got, 1024);
	CHECK_EQ(buddy_free_pages(), 0);
	for (u32 i = 0; i < got; i++) buddy_free(all[i], 0);
	struct buddy_stats s;
	buddy_get_stats(&s);
	CHECK_EQ(s.nr_free[BUDDY_MAX_ORDER], 1);
	CHECK_EQ(s.bad_frees, 0);
	CHECK_EQ(buddy_alloc_pages(all, 4, PA_ANY_NODE, 0x80), 0); /* an unknown flag */
	CHECK_EQ(buddy_check(), 0);
	reset_all();
}

int main(void)
{
	htest_begin("buddy", 17);
	htest_run("struct_page_layout", test_struct_page_layout);
	htest_run("add_zone_errors", test_add_zone_errors);
	htest_run("zone_starts_reserved", test_zone_starts_reserved);
	htest_run("free_range_maximal_blocks", test_free_range_maximal_blocks);
	htest_run("page_zero_never_allocated", test_page_zero_never_allocated);
	htest_run("alloc_all_then_coalesce", test_alloc_all_then_coalesce);
	htest_run("reserve_splits_blocks", test_reserve_splits_blocks);
	htest_run("reserve_allocated_and_across_zones", test_reserve_allocated_and_across_zones);
	htest_run("node_preference", test_node_preference);
	htest_run("exhaustion_and_bad_args", test_exhaustion_and_bad_args);
	htest_run("bad_frees_harmless", test_bad_frees_harmless);
	htest_run("page_lookup_and_owner_fields", test_page_lookup_and_owner_fields);
	htest_run("single_frees_merge_at_once", test_single_frees_merge_at_once);
	htest_run("split_frees_page_by_page", test_split_frees_page_by_page);
	htest_run("alloc_pages_as_single_allocs", test_alloc_pages_as_single_allocs);
	htest_run("random_ops_vs_model", test_random_ops_vs_model);
	htest_run("order0_speed", test_order0_speed);
	return htest_end();
}

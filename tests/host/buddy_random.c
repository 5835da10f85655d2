/* Host tests for the buddy allocator, part two: a million random operations checked against a
 * reference model of every page, and the order-0 speed figure (printed; its checks are correctness). */
#include <stdint.h>
#include <string.h>
#include <time.h>
#define HTEST_PART
#include "tests/host/htest.h"
#include "vm/buddy.h"
#include "tests/host/test_buddy.h"

/* Reference model for the random run: one state per pfn in [model_base, model_base+model_span). */
enum { M_NONE, M_RESERVED, M_FREE, M_USED };
static u8 *model;
static u64 model_base, model_span;

static const struct zone_desc rand_zones[] = {
	{RAM_BASE + 3 * PAGE_SIZE, 2900 * PAGE_SIZE, 0},
	{RAM_BASE + 4101 * PAGE_SIZE, 1700 * PAGE_SIZE, 1},
	{RAM_BASE + 8192 * PAGE_SIZE, 1031 * PAGE_SIZE, 0},
};

/* Does zone z have 2^order free pages at a naturally aligned pfn? The buddy allocator merges
 * eagerly, so it must then have a free block of at least that order. */
static bool model_zone_fits(unsigned z, unsigned order)
{
	u64 first = rand_zones[z].base >> PAGE_SHIFT, end = first + (rand_zones[z].size >> PAGE_SHIFT);
	u64 run = 0;

	for (u64 pfn = first; pfn < end; pfn++) {
		if ((pfn & ((1ull << order) - 1)) == 0) run = 0;
		if (model[pfn - model_base] != M_FREE) {
			run = (u64)-1;
			continue;
		}
		if (run != (u64)-1 && ++run == 1ull << order) return true;
	}
	return false;
}

/* The zone buddy_alloc must pick: the first fitting zone of the node, then (without BUDDY_THISNODE)
 * the first fitting zone of the others; -1 when none fits. */
static int model_expected_zone(unsigned order, int node, unsigned flags)
{
	for (int pass = 0; pass < 2; pass++)
		for (unsigned z = 0; z < ARRAY_SIZE(rand_zones); z++) {
			bool mine = node == PA_ANY_NODE || rand_zones[z].node == node;
			if (pass == 0 ? mine : (!mine && !(flags & BUDDY_THISNODE)))
				if (model_zone_fits(z, order)) return (int)z;
		}
	return -1;
}

static int rand_zone_of(u64 pfn)
{
	for (unsigned z = 0; z < ARRAY_SIZE(rand_zones); z++) {
		u64 first = rand_zones[z].base >> PAGE_SHIFT;
		if (pfn >= first && pfn < first + (rand_zones[z].size >> PAGE_SHIFT)) return (int)z;
	}
	return -1;
}

static unsigned random_order(void)
{
	u64 r = rnd() % 100;
	return r < 60 ? 0 : r < 85 ? 1 + (unsigned)(rnd() % 3) : 4 + (unsigned)(rnd() % 7);
}

void test_random_ops_vs_model(void)
{
	const u64 ops = 1000000;
	u64 total = 0, free_pages, live_pages = 0, nlive = 0, allocs = 0, frees = 0, failed = 0, bad = 0;
	struct block *live;
	struct buddy_stats s;
	bool ok = true;

	reset_all();
	model_base = RAM_BASE >> PAGE_SHIFT;
	model_span = 8192 + 1031;
	model = calloc(model_span, 1);
	for (unsigned z = 0; z < ARRAY_SIZE(rand_zones); z++) {
		u64 first = rand_zones[z].base >> PAGE_SHIFT;
		CHECK_EQ(add_zone(rand_zones[z].base, rand_zones[z].size, rand_zones[z].node), 0);
		for (u64 i = 0; i < rand_zones[z].size >> PAGE_SHIFT; i++) model[first - model_base + i] = M_FREE;
	}
	buddy_free_range(RAM_BASE, 64 * MiB);
	/* A few reservations, including one that splits a large block of the middle zone. */
	buddy_reserve_range(RAM_BASE + 1000 * PAGE_SIZE, 3 * PAGE_SIZE);
	buddy_reserve_range(RAM_BASE + 5000 * PAGE_SIZE + 1, PAGE_SIZE);
	for (u64 pfn = 1000; pfn < 1003; pfn++) model[pfn] = M_RESERVED;
	model[5000] = model[5001] = M_RESERVED;
	for (u64 i = 0; i < model_span; i++) total += model[i] == M_FREE;
	free_pages = total;
	CHECK_EQ(buddy_total_pages(), total);
	live = malloc(total * sizeof(*live));

	for (u64 op = 0; op < ops && ok; op++) {
		u64 r = rnd() % 100;
		bool want_alloc = live_pages < total / 2 ? r < 60 : r < 40;

		if (r >= 97 && nlive) {
			/* A wrong free: a live block at the wrong order, a page nobody holds, or a
			 * tail page of a live block. */
			struct block *b = &live[rnd() % nlive];
			u64 pfn = model_base + rnd() % model_span;
			u64 kind = rnd() % 3;
			if (kind == 0)
				buddy_free(b->pa, b->order == BUDDY_MAX_ORDER ? b->order - 1 : b->order + 1);
			else if (kind == 1 && model[pfn - model_base] != M_USED)
				buddy_free(pfn << PAGE_SHIFT, 0);
			else if (b->order > 0)
				buddy_free(b->pa + (PAGE_SIZE << (rnd() % b->order)), 0);
			else
				buddy_free(b->pa + 1, 0);
			bad++;
		} else if (want_alloc || !nlive) {
			unsigned order = random_order();
			int node = (int)(rnd() % 3) - 1;
			unsigned flags = rnd() % 4 == 0 ? BUDDY_THISNODE : 0;
			int expect = model_expected_zone(order, node, flags);
			u64 pa = buddy_alloc(order, node, flags);
			u64 pfn = pa >> PAGE_SHIFT;

			if (!pa) {
				failed++;
				if (expect != -1) ok = false;
				continue;
			}
			if (pa & ((PAGE_SIZE << order) - 1)) ok = false;
			if (rand_zone_of(pfn) != expect) ok = false;
			for (u64 p = pfn; ok && p < pfn + (1u << order); p++) {
				if (p - model_base >= model_span || model[p - model_base] != M_FREE) ok = false;
				else model[p - model_base] = M_USED;
			}
			live[nlive++] = (struct block){pa, order};
			live_pages += 1u << order;
			free_pages -= 1u << order;
			allocs++;
		} else {
			u64 i = rnd() % nlive;
			struct block b = live[i];
			live[i] = live[--nlive];
			buddy_free(b.pa, b.order);
			for (u64 p = b.pa >> PAGE_SHIFT; p < (b.pa >> PAGE_SHIFT) + (1u << b.order); p++)
				model[p - model_base] = M_FREE;
			live_pages -= 1u << b.order;
			free_pages += 1u << b.order;
			frees++;
		}
		if (op % 100000 == 50000) {
			/* Reserve a few pages wherever they are: free ones go, held ones stay held. */
			u64 first = rnd() % (model_span - 8), n = 1 + rnd() % 8;
			buddy_reserve_range((model_base + first) << PAGE_SHIFT, n << PAGE_SHIFT);
			for (u64 i = first; i < first + n; i++)
				if (model[i] == M_FREE) {
					model[i] = M_RESERVED;
					free_pages--;
					total--;
				}
		}
		if (buddy_free_pages() != free_pages) ok = false;
		if (op % 50000 == 0 && buddy_check() != 0) ok = false;
	}
	for (u64 i = 0; i < model_span; i++) {
		struct page *p = pa_to_page((model_base + i) << PAGE_SHIFT);
		if ((p == NULL) != (model[i] == M_NONE)) ok = false;
		else if (p && !!(p->flags & PG_RESERVED) != (model[i] == M_RESERVED)) ok = false;
	}
	CHECK(ok);
	buddy_get_stats(&s);
	CHECK_EQ(s.allocs, allocs);
	CHECK_EQ(s.failed, failed);
	CHECK_EQ(s.frees, frees);
	CHECK_EQ(s.bad_frees, bad);
	CHECK_EQ(s.total_pages, total);
	CHECK_EQ(buddy_check(), 0);
	while (nlive) {
		nlive--;
		buddy_free(live[nlive].pa, live[nlive].order);
	}
	CHECK_EQ(buddy_free_pages(), total);
	CHECK_EQ(buddy_check(), 0);
	printf("# random: %llu allocs, %llu frees, %llu failed, %llu bad frees\n",
	       (unsigned long long)allocs, (unsigned long long)frees, (unsigned long long)failed,
	       (unsigned long long)bad);
	free(live);
	free(model);
	reset_all();
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Informational only: the figure is printed, never asserted; the checks are about correctness. */
void test_order0_speed(void)
{
	enum { BATCH = 4096, ROUNDS = 250 };
	static u64 pas[BATCH];
	u64 total, zeros = 0;
	double t0, t1, t2;

	reset_all();
	CHECK_EQ(add_zone(RAM_BASE, 64 * MiB, 0), 0);
	buddy_free_range(RAM_BASE, 64 * MiB);
	total = buddy_free_pages();
	t0 = now_ns();
	for (int i = 0; i < BATCH * ROUNDS; i++) {
		u64 pa = buddy_alloc(0, PA_ANY_NODE, 0);
		zeros += !pa;
		buddy_free(pa, 0);
	}
	t1 = now_ns();
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < BATCH; i++) zeros += !(pas[i] = buddy_alloc(0, PA_ANY_NODE, 0));
		for (int i = 0; i < BATCH; i++) buddy_free(pas[i], 0);
	}
	t2 = now_ns();
	CHECK_EQ(zeros, 0);
	CHECK_EQ(buddy_free_pages(), total);
	CHECK_EQ(buddy_check(), 0);
	printf("# order-0 alloc+free pair: %.1f ns (alloc/free alternating), %.1f ns (batches of %d)\n",
	       (t1 - t0) / (BATCH * ROUNDS), (t2 - t1) / (BATCH * ROUNDS), BATCH);
	reset_all();
}

/* test_va_index cases for the vmalloc free-space index: its edge cases, a million random operations
 * against the reference model, node-pool exhaustion, and informational timing. */
#define HTEST_PART
#include <time.h>
#include "tests/host/test_va_index.h"

void test_va_index_basic(void)
{
	struct node_pool pool;
	struct va_index ix;
	u64 base = VMALLOC_START, a;

	node_pool_init(&pool, VA_INDEX_NODE_SIZE);
	va_index_init(&ix, &pool, base, base + 64 * PAGE_SIZE);
	CHECK(va_index_check(&ix));
	CHECK_EQ(va_index_free_bytes(&ix), 64 * PAGE_SIZE);
	CHECK_EQ(va_index_alloc(&ix, 2 * PAGE_SIZE, PAGE_SIZE, &a), 0);
	CHECK_EQ(a, base);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 4 * PAGE_SIZE, &a), 0); /* skips pages 2..3 */
	CHECK_EQ(a, base + 4 * PAGE_SIZE);
	CHECK_EQ(va_index_extents(&ix), 2);
	CHECK_EQ(va_index_alloc(&ix, 2 * PAGE_SIZE, PAGE_SIZE, &a), 0); /* fills the gap exactly */
	CHECK_EQ(a, base + 2 * PAGE_SIZE);
	CHECK_EQ(va_index_extents(&ix), 1);
	CHECK_EQ(va_index_largest(&ix), 59 * PAGE_SIZE);
	/* Malformed requests. */
	CHECK_EQ(va_index_alloc(&ix, 0, PAGE_SIZE, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, 100, PAGE_SIZE, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 3 * PAGE_SIZE, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 512, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, ~(u64)0 & PAGE_MASK, 1UL << 20, &a), -EINVAL);
	CHECK_EQ(va_index_alloc(&ix, 60 * PAGE_SIZE, PAGE_SIZE, &a), -ENOMEM);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 1UL << 63, &a), -ENOMEM);
	CHECK_EQ(va_index_alloc_in(&ix, PAGE_SIZE, PAGE_SIZE, base + PAGE_SIZE, base, &a), -EINVAL);
	/* Frees: double, outside, wrapping, unaligned are rejected; then the merges. */
	CHECK_EQ(va_index_free(&ix, base + 10 * PAGE_SIZE, PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base + 4 * PAGE_SIZE, 2 * PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base - PAGE_SIZE, PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base + 64 * PAGE_SIZE, PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base, ~(u64)0 & PAGE_MASK), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base + 1, PAGE_SIZE), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base, 0), -EINVAL);
	CHECK_EQ(va_index_free(&ix, base + PAGE_SIZE, PAGE_SIZE), 0); /* isolated */
	CHECK_EQ(va_index_extents(&ix), 2);
	CHECK_EQ(va_index_free(&ix, base + 2 * PAGE_SIZE, PAGE_SIZE), 0); /* joins left */
	CHECK_EQ(va_index_free(&ix, base + 4 * PAGE_SIZE, PAGE_SIZE), 0); /* joins right */
	CHECK_EQ(va_index_extents(&ix), 2);
	CHECK_EQ(va_index_free(&ix, base + 3 * PAGE_SIZE, PAGE_SIZE), 0); /* joins both */
	CHECK_EQ(va_index_free(&ix, base, PAGE_SIZE), 0);
	CHECK_EQ(va_index_extents(&ix), 1);
	CHECK_EQ(va_index_free_bytes(&ix), 64 * PAGE_SIZE);
	CHECK(va_index_check(&ix));
	/* Windowed allocation. */
	CHECK_EQ(va_index_alloc_in(&ix, 2 * PAGE_SIZE, 2 * PAGE_SIZE, base + PAGE_SIZE,
				   base + 8 * PAGE_SIZE, &a), 0);
	CHECK_EQ(a, base + 2 * PAGE_SIZE);
	CHECK_EQ(va_index_alloc_in(&ix, 8 * PAGE_SIZE, PAGE_SIZE, base, base + 8 * PAGE_SIZE, &a), -ENOMEM);
	CHECK(va_index_check(&ix));
	node_pool_release_all(&pool);

	/* Degenerate set-ups refuse work instead of crashing. */
	va_index_init(&ix, &pool, base + PAGE_SIZE, base + PAGE_SIZE);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, PAGE_SIZE, &a), -ENOMEM);
	CHECK_EQ(va_index_free(&ix, base, PAGE_SIZE), -EINVAL);
	CHECK(va_index_check(&ix));
	va_index_init(&ix, &pool, ~(u64)0 - 10, ~(u64)0);
	CHECK_EQ(va_index_extents(&ix), 0);
	struct node_pool tiny;
	node_pool_init(&tiny, 16);
	va_index_init(&ix, &tiny, base, base + 8 * PAGE_SIZE);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 2 * PAGE_SIZE, &a), 0); /* no split needed */
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, 4 * PAGE_SIZE, &a), -ENOMEM); /* split needs a node */
	CHECK_EQ(node_pool_pages(&tiny), 0);
	CHECK(va_index_check(&ix));
}

#define REGION_PAGES (1UL << 20)

void test_va_index_vs_model(void)
{
	struct node_pool pool;
	struct va_index ix;
	long ops = 1000000, failures = 0;

	node_pool_init(&pool, VA_INDEX_NODE_SIZE);
	va_index_init(&ix, &pool, VMALLOC_START, VMALLOC_START + REGION_PAGES * PAGE_SIZE);
	model_init(VMALLOC_START, VMALLOC_START + REGION_PAGES * PAGE_SIZE);
	nlive = 0;
	for (long op = 0; op < ops && failures < 5; op++) {
		if (!random_op(&ix, NULL)) {
			printf("# mismatch at op %ld\n", op);
			failures++;
		}
		if (op % 2000 == 0 && !index_matches_model(&ix)) {
			printf("# index diverged from model by op %ld\n", op);
			failures++;
		}
	}
	CHECK_EQ(failures, 0);
	CHECK(index_matches_model(&ix));
	printf("# %ld ops, %ld live areas, %ld free extents at the end\n", ops, nlive, model_n);
	/* Every node but possibly the built-in initial one comes from the pool. */
	CHECK(node_pool_in_use(&pool) <= va_index_extents(&ix));
	CHECK(node_pool_in_use(&pool) + 1 >= va_index_extents(&ix));
	while (nlive > 0) {
		bool nn;
		long pos;
		struct area ar = live[--nlive];
		CHECK_EQ(model_free_check(ar.addr, ar.size, &nn, &pos), 0);
		model_free(ar.addr, ar.size, pos);
		CHECK_EQ(va_index_free(&ix, ar.addr, ar.size), 0);
	}
	CHECK(index_matches_model(&ix));
	CHECK_EQ(va_index_extents(&ix), 1);
	CHECK_EQ(va_index_free_bytes(&ix), REGION_PAGES * PAGE_SIZE);
	node_pool_release_all(&pool);
	CHECK_EQ(blocks_out, 0);
}

/* With the pool drained and no pages to be had, exactly the ops that need a node fail, harmlessly. */
void test_va_index_pool_failure(void)
{
	struct node_pool pool;
	struct va_index ix;
	static void *held[1 << 16];
	long nheld = 0, failures = 0;
	u64 base = VMALLOC_START, a;

	node_pool_init(&pool, VA_INDEX_NODE_SIZE);
	va_index_init(&ix, &pool, base, base + REGION_PAGES * PAGE_SIZE);
	model_init(base, base + REGION_PAGES * PAGE_SIZE);
	nlive = 0;
	for (int i = 0; i < 20000; i++)
		random_op(&ix, NULL);
	CHECK(index_matches_model(&ix));

	fail_blocks = true;
	while (nheld < (long)ARRAY_SIZE(held) && (held[nheld] = node_pool_get(&pool)) != NULL)
		nheld++;
	CHECK(node_pool_get(&pool) == NULL);
	node_refusals = 0;
	for (int i = 0; i < 50000 && failures < 5; i++) {
		/* Merges hand nodes back; half the time take them away again so refusals stay common. */
		if (rnd_below(2))
			while (nheld < (long)ARRAY_SIZE(held) && (held[nheld] = node_pool_get(&pool)) != NULL)
				nheld++;
		if (!random_op(&ix, &pool))
			failures++;
		if (i % 1000 == 0 && !index_matches_model(&ix))
			failures++;
	}
	CHECK_EQ(failures, 0);
	CHECK(node_refusals > 100); /* the failure path was really exercised */
	printf("# %ld operations refused for want of a node\n", node_refusals);
	CHECK(index_matches_model(&ix));

	/* Deterministic: an aligned fit from the middle of an extent fails and changes nothing... */
	while (nheld < (long)ARRAY_SIZE(held) && (held[nheld] = node_pool_get(&pool)) != NULL)
		nheld++;
	bool split_tried = false;
	for (u64 align = 2 * PAGE_SIZE; align <= (1UL << 24) && !split_tried; align *= 2) {
		for (u64 size = PAGE_SIZE; size <= 4 * PAGE_SIZE && !split_tried; size += PAGE_SIZE) {
			long i = model_find(size, align, base, base + REGION_PAGES * PAGE_SIZE, &a);
			if (i < 0 || !model_carve_needs_node(i, a, size))
				continue;
			split_tried = true;
			CHECK_EQ(va_index_alloc(&ix, size, align, &a), -ENOMEM);
			CHECK(index_matches_model(&ix));
		}
	}
	CHECK(split_tried);
	/* ...while a carve from an extent's start, and the free that rejoins it, need no node. */
	long i = model_find(PAGE_SIZE, PAGE_SIZE, base, base + REGION_PAGES * PAGE_SIZE, &a);
	CHECK(i >= 0);
	CHECK_EQ(va_index_alloc(&ix, PAGE_SIZE, PAGE_SIZE, &a), 0);
	CHECK_EQ(a, model[i].start);
	model_carve(i, a, PAGE_SIZE);
	CHECK_EQ(va_index_free(&ix, a, PAGE_SIZE), 0); /* rejoins its extent: no node */
	long pos;
	bool nn;
	model_free_check(a, PAGE_SIZE, &nn, &pos);
	model_free(a, PAGE_SIZE, pos);
	CHECK(index_matches_model(&ix));

	fail_blocks = false;
	while (nheld > 0)
		node_pool_put(&pool, held[--nheld]);
	/* A reservation made while pages were available carries the free path through a failure. */
	CHECK_EQ(node_pool_reserve(&pool, 1), 0);
	fail_blocks = true;
	while (node_pool_available(&pool) > 1)
		held[nheld++] = node_pool_get(&pool);
	struct area ar = { 0, 0 };
	for (long k = 0; k < nlive; k++) {
		bool need;
		if (model_free_check(live[k].addr, live[k].size, &need, &pos) == 0 && need) {
			ar = live[k];
			break;
		}
	}
	if (ar.size) {
		CHECK_EQ(va_index_free(&ix, ar.addr, ar.size), 0);
		model_free_check(ar.addr, ar.size, &nn, &pos);
		model_free(ar.addr, ar.size, pos);
		CHECK(index_matches_model(&ix));
	}
	fail_blocks = false;
	while (nheld > 0)
		node_pool_put(&pool, held[--nheld]);
	node_pool_release_all(&pool);
	CHECK_EQ(blocks_out, 0);
}

/* ------------------------------------ informational timing ------------------------------------ */

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * ns per (alloc 2 pages, free) pair with n live areas in the 64 GiB arena, either packed (one
 * free extent above them) or with a hole beside every area. Printed, never asserted.
 */
static void bench_live(long n, bool holes)
{
	struct node_pool pool;
	struct va_index ix;
	static struct area areas[200000];
	long iters = 1000000, errors = 0, made = holes ? 2 * n : n;
	u64 a;

	node_pool_init(&pool, VA_INDEX_NODE_SIZE);
	va_index_init(&ix, &pool, VMALLOC_START, VMALLOC_END);
	for (long i = 0; i < made; i++) {
		areas[i].size = (holes ? 1 + rnd_below(4) : 2) * PAGE_SIZE;
		errors += va_index_alloc(&ix, areas[i].size, PAGE_SIZE, &areas[i].addr) != 0;
	}
	for (long i = 0; holes && i < made; i += 2)
		errors += va_index_free(&ix, areas[i].addr, areas[i].size) != 0;
	double t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		errors += va_index_alloc(&ix, 2 * PAGE_SIZE, PAGE_SIZE, &a) != 0;
		errors += va_index_free(&ix, a, 2 * PAGE_SIZE) != 0;
	}
	double dt = now_ns() - t0;
	printf("# bench: %6ld live areas, %6llu free extents: %.1f ns per alloc+free pair\n", n,
	       (unsigned long long)va_index_extents(&ix), dt / iters);
	CHECK_EQ(errors, 0);
	CHECK_EQ(va_index_extents(&ix), holes ? (u64)n + 1 : 1);
	CHECK(va_index_check(&ix));
	node_pool_release_all(&pool);
}

void test_bench(void)
{
	bench_live(100, false);
	bench_live(100000, false);
	bench_live(100, true);
	bench_live(100000, true);
}

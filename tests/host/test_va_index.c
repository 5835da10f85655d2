/* Host tests for the rbtree, node pool, vmalloc free-space index (against a reference model) and busy
 * map: the hooks those modules expect from their embedder, the one random stream, and main, which runs
 * the cases of rbtree_node_pool.c, va_index_cases.c and va_busy_cases.c in a fixed order. */
#include "tests/host/test_va_index.h"

/* ---- hooks the modules expect from their embedder, with failure injection and leak counts ---- */

bool fail_pages, fail_tables;
long pages_out, tables_out, table_size_mismatch;

void *node_pool_page_alloc(void)
{
	if (fail_pages)
		return NULL;
	pages_out++;
	return aligned_alloc(4096, 4096);
}

void node_pool_page_free(void *page)
{
	pages_out--;
	free(page);
}

/* A header remembers each table's size so a free with the wrong size is caught. */
void *va_busy_table_alloc(size_t bytes)
{
	if (fail_tables)
		return NULL;
	size_t *p = malloc(bytes + 16);
	if (!p)
		return NULL;
	p[0] = bytes;
	tables_out++;
	return (char *)p + 16;
}

void va_busy_table_free(void *table, size_t bytes)
{
	size_t *p = (size_t *)((char *)table - 16);
	if (p[0] != bytes)
		table_size_mismatch++;
	tables_out--;
	free(p);
}

static u64 rng_state = 0x2545f4914f6cdd1dULL;
static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}
u64 rnd_below(u64 n) { return rnd() % n; }

int main(void)
{
	const char *seed = getenv("VA_SEED");
	if (seed)
		rng_state = strtoull(seed, NULL, 0) | 1;
	printf("# seed %#llx\n", (unsigned long long)rng_state);
	htest_begin("va_index", 10);
	htest_run("rbtree_plain_random", test_rbtree_plain);
	htest_run("rbtree_augmented_random", test_rbtree_augmented);
	htest_run("rbtree_edges", test_rbtree_edges);
	htest_run("node_pool", test_node_pool);
	htest_run("va_index_basic", test_va_index_basic);
	htest_run("va_index_vs_model_1e6", test_va_index_vs_model);
	htest_run("va_index_pool_failure", test_va_index_pool_failure);
	htest_run("va_busy_vs_model_1e6", test_va_busy_vs_model);
	htest_run("va_busy_growth_and_spread", test_va_busy_growth_and_spread);
	htest_run("bench_alloc_free_pair", test_bench);
	return htest_end();
}

/* Host tests for the rbtree, node pool, vmalloc free-space index (against a reference model) and busy
 * map: the page source those modules draw from, the one random stream, and main, which runs
 * the cases of rbtree_node_pool.c, va_index_cases.c and va_busy_cases.c in a fixed order. */
#include "tests/host/test_va_index.h"

/* ---- vm's page source (vm/page_cache.h), simulated with failure injection and a leak count ---- */

bool fail_blocks;
long blocks_out, block_size_mismatch;

/* A header page remembers each block's size so a free with the wrong size is caught; blocks are
 * page-aligned, as the kernel's are, and zeroed by vm_block_alloc. vm_block_alloc_uninit's are filled with
 * junk instead, so that a node pool user reading a field it never wrote shows up in the model checks. */
static void *block_alloc(size_t bytes, int fill)
{
	if (fail_blocks)
		return NULL;
	size_t len = 4096 + ((bytes + 4095) & ~(size_t)4095);
	char *p = aligned_alloc(4096, len);
	if (!p)
		return NULL;
	memset(p, fill, len);
	*(size_t *)p = bytes;
	blocks_out++;
	return p + 4096;
}

void *vm_block_alloc(size_t bytes) { return block_alloc(bytes, 0); }
void *vm_block_alloc_uninit(size_t bytes) { return block_alloc(bytes, 0xa5); }

void vm_block_free(void *block, size_t bytes)
{
	char *p = (char *)block - 4096;
	if (*(size_t *)p != bytes)
		block_size_mismatch++;
	blocks_out--;
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
	htest_begin("va_index", 13);
	htest_run("rbtree_plain_random", test_rbtree_plain);
	htest_run("rbtree_augmented_random", test_rbtree_augmented);
	htest_run("rbtree_edges", test_rbtree_edges);
	htest_run("node_pool", test_node_pool);
	htest_run("node_pool_get_many", test_node_pool_get_many);
	htest_run("va_index_basic", test_va_index_basic);
	htest_run("va_index_vs_model_1e6", test_va_index_vs_model);
	htest_run("va_index_pool_failure", test_va_index_pool_failure);
	htest_run("va_busy_vs_model_1e6", test_va_busy_vs_model);
	htest_run("va_busy_growth_and_spread", test_va_busy_growth_and_spread);
	htest_run("va_busy_shards_keep_spread", test_va_busy_shards_keep_spread);
	htest_run("va_busy_shard_follows_region", test_va_busy_shard_follows_region);
	htest_run("bench_alloc_free_pair", test_bench);
	return htest_end();
}

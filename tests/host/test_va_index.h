/* What the files of the test_va_index host binary share: the simulated page source's failure switch and leak
 * count, one random stream, the reference model of the vmalloc free space with its random driver, and
 * the case functions that test_va_index.c runs in order. */
#ifndef TESTS_HOST_TEST_VA_INDEX_H
#define TESTS_HOST_TEST_VA_INDEX_H

#include <stdlib.h>
#include "lib/types.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/node_pool.h"
#include "vm/va_index.h"
#include "vm/va_busy.h"
#include "tests/host/htest.h"

/* test_va_index.c */
extern bool fail_blocks;
extern long blocks_out, block_size_mismatch;
/* One stream for every case, seeded by main (VA_SEED), so a printed seed replays the whole run. */
u64 rnd_below(u64 n);

/* va_index_model.c */
struct mext {
	u64 start, end;
};
#define MODEL_MAX 200000
extern struct mext model[MODEL_MAX];
extern long model_n;
void model_init(u64 lo, u64 hi);
long model_find(u64 size, u64 align, u64 lo, u64 hi, u64 *addr);
bool model_carve_needs_node(long i, u64 a, u64 size);
void model_carve(long i, u64 a, u64 size);
int model_free_check(u64 addr, u64 size, bool *needs_node, long *pos);
void model_free(u64 addr, u64 size, long pos);
bool index_matches_model(struct va_index *ix);

struct area {
	u64 addr, size;
};
#define MAX_LIVE 4096
extern struct area live[MAX_LIVE];
extern long nlive;
extern long node_refusals; /* ops the model said must fail for want of a node */
bool random_op(struct va_index *ix, const struct node_pool *starved);

/* rbtree_node_pool.c */
void test_rbtree_plain(void);
void test_rbtree_augmented(void);
void test_rbtree_edges(void);
void test_node_pool(void);
void test_node_pool_get_many(void);

/* va_index_cases.c */
void test_va_index_basic(void);
void test_va_index_vs_model(void);
void test_va_index_pool_failure(void);
void test_bench(void);

/* va_busy_cases.c */
void test_va_busy_vs_model(void);
void test_va_busy_growth_and_spread(void);
void test_va_busy_shards_keep_spread(void);
void test_va_busy_shard_follows_region(void);

#endif

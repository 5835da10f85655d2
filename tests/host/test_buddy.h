/* What the files of the test_buddy host binary share: zones with malloc'd metadata, the random source,
 * and the cases buddy_random.c adds to the ones test_buddy.c runs. */
#ifndef TESTS_HOST_TEST_BUDDY_H
#define TESTS_HOST_TEST_BUDDY_H

#include "lib/types.h"

#define MiB (1ull << 20)
#define RAM_BASE 0x80000000ull

struct zone_desc {
	u64 base, size;
	int node;
};

struct block {
	u64 pa;
	unsigned order;
};

void reset_all(void);                     /* buddy_reset, and the zones' metadata freed */
int add_zone(u64 base, u64 size, int node); /* metadata filled with junk first: uninitialised fields show */
u64 rnd(void);                            /* xorshift: the same sequence every run */

/* buddy_random.c */
void test_random_ops_vs_model(void);
void test_order0_speed(void);

#endif

/* What the files of the test_pt host binary share: the simulated physical memory behind vm's page source,
 * the independent walker, the mapping checks and the case functions that test_pt.c runs in order. */
#ifndef TESTS_HOST_TEST_PT_H
#define TESTS_HOST_TEST_PT_H

#include <stdlib.h>
#include "lib/types.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/pt.h"
#include "tests/host/htest.h"

#define SIM_BASE 0x80000000UL
#define SIM_SIZE (64UL << 20)
#define SIM_PAGES (SIM_SIZE / PAGE_SIZE)
/* Host tests name a page by its physical address: pt_sim.c's page_to_pa undoes this cast. */
struct page;
#define SIM_PAGE(pa) ((struct page *)(uintptr_t)(pa))
#define GiB (1UL << 30)
#define MiB (1UL << 20)
#define KiB 1024UL
#define TOP_PAGE 0xfffffffffffff000UL
#define LEAF_BITS (PTE_V | PTE_A | PTE_D)

/* pt_sim.c */
extern long live_tables, live_data_pages, hook_errors, sw_errors;
extern long fail_after; /* allocations still granted before failing; -1: never fail */
extern bool sim_bulk_refuse; /* page_cache_take_bulk / give_bulk refuse: pt.c goes page by page */
pte_t *sim_table(u64 pa);

struct sw_leaf {
	u64 pa, pte;
	int level;
};
bool sw_translate(u64 root, u64 va, struct sw_leaf *out);

struct sw_stats {
	long tables, empty_tables, pages, leaves[3];
};
typedef void (*sw_leaf_cb)(u64 va, u64 pte, int level);
struct sw_stats sw_scan(u64 root, sw_leaf_cb cb);

u64 setup(void);
void teardown_checks(void);
bool mapped_as(u64 root, u64 va, u64 pa, u64 prot, int level);
bool unmapped(u64 root, u64 va);
/* One xorshift stream for every case, so each case's draws depend on the cases run before it. */
extern u64 rng;
u64 rnd(void);

/* pt_map.c */
void test_helpers(void);
void test_every_leaf_size(void);
void test_huge_choice(void);
void test_invalid(void);
void test_kernel_range(void);
void test_kernel_range_failures(void);
void test_kernel_range_block(void);
void test_kernel_range_small(void);
void test_prepopulate(void);

/* pt_modify.c */
void test_eexist_rollback(void);
void test_enomem_rollback(void);
void test_unmap_split(void);
void test_table_reclaim(void);
void test_unmap_deferred(void);
void test_rollback_deferred(void);
void test_destroy_and_share(void);

/* pt_random.c */
void test_random_differential(void);

#endif

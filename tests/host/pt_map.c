/* test_pt cases that build mappings: the pte helpers, every leaf size and when a huge one is chosen,
 * refused arguments, page arrays, direct leaf slots and prepopulated kernel ranges. */
#define HTEST_PART
#include "tests/host/test_pt.h"

void test_helpers(void)
{
	CHECK(pt_va_canonical(0) && pt_va_canonical(USER_TOP - 1) && pt_va_canonical(VMALLOC_START));
	CHECK(pt_va_canonical(~0UL) && !pt_va_canonical(USER_TOP) && !pt_va_canonical(VMALLOC_START - 1));
	CHECK(!pt_va_canonical(1UL << 63));
	CHECK_EQ(pte_make(0x80201000UL, PTE_V | PTE_R), (0x80201UL << 10) | 3);
	CHECK_EQ(pte_pa(pte_make(0xfffffffffff000UL, PTE_V | PTE_R | PTE_D)), 0xfffffffffff000UL);
	CHECK(pte_is_leaf(PTE_V | PTE_X) && !pte_is_leaf(PTE_V | PTE_A | PTE_D | PTE_G));
}

void test_every_leaf_size(void)
{
	u64 root = setup(), rw = PTE_R | PTE_W, k = PTE_R | PTE_W | PTE_G;
	CHECK_EQ(pt_map(root, GiB, 4 * GiB, GiB, rw | PTE_U, PT_HUGE), 0);
	CHECK_EQ(live_tables, 1);
	CHECK(mapped_as(root, GiB + 0x12345, 4 * GiB + 0x12345, rw | PTE_U, 2));
	struct pt_walk w;
	CHECK(!pt_walk(root, 2 * GiB - 1, &w) && w.slot == &sim_table(root)[1]);
	CHECK_EQ(pt_map(root, 2 * MiB, 6 * GiB + 2 * MiB, 2 * MiB, PTE_R, PT_HUGE), 0);
	CHECK(mapped_as(root, 3 * MiB + 7, 6 * GiB + 3 * MiB + 7, PTE_R, 1));
	CHECK_EQ(pt_map(root, 0x1000, 0x5000, PAGE_SIZE, PTE_R | PTE_X, 0), 0);
	CHECK(mapped_as(root, 0x1fff, 0x5fff, PTE_R | PTE_X, 0));
	CHECK(unmapped(root, 0) && unmapped(root, 0x2000) && unmapped(root, 4 * MiB) && unmapped(root, 2 * GiB));
	CHECK_EQ(live_tables, 3);
	/* The kernel half, from its first byte to the last byte of the address space. */
	CHECK_EQ(pt_map(root, VMALLOC_START, 0x1c0000000UL, GiB, k, PT_HUGE), 0);
	CHECK(mapped_as(root, VMALLOC_START, 0x1c0000000UL, k, 2));
	CHECK(!pt_walk(root, VMALLOC_START, &w) && w.slot == &sim_table(root)[256]);
	CHECK_EQ(pt_map(root, VMALLOC_START + GiB + 2 * MiB, 0x200000, 2 * MiB, k, PT_HUGE), 0);
	CHECK(mapped_as(root, VMALLOC_START + GiB + 4 * MiB - 1, 0x3fffff, k, 1));
	CHECK_EQ(pt_map(root, TOP_PAGE, 0xabcd000, PAGE_SIZE, k, PT_HUGE), 0);
	CHECK(mapped_as(root, ~0UL, 0xabcdfff, k, 0));
	CHECK(unmapped(root, TOP_PAGE - PAGE_SIZE));
	CHECK_EQ(pt_unmap(root, TOP_PAGE, PAGE_SIZE, NULL, NULL), 1);
	CHECK(unmapped(root, ~0UL));
	/* Slot 511 keeps its (now empty) level-1 table, so a huge mapping there is built from 2 MiB leaves. */
	CHECK_EQ(pt_map(root, ~0UL - GiB + 1, 3 * GiB, GiB, k, PT_HUGE), 0);
	CHECK(mapped_as(root, ~0UL, 4 * GiB - 1, k, 1));
	u64 root2 = pt_alloc_table();
	CHECK_EQ(pt_map(root2, ~0UL - GiB + 1, 3 * GiB, GiB, k, PT_HUGE), 0);
	CHECK(mapped_as(root2, ~0UL, 4 * GiB - 1, k, 2));
	CHECK_EQ(pt_unmap(root2, ~0UL - GiB + 1, GiB, NULL, NULL), 1L << 18);
	CHECK(unmapped(root2, ~0UL));
	CHECK_EQ(sw_scan(root2, NULL).tables, 1);
	teardown_checks();
}

void test_huge_choice(void)
{
	u64 root = setup();
	struct sw_stats s;
	/* pa not congruent with va: 4 KiB leaves only. */
	CHECK_EQ(pt_map(root, 2 * MiB, 2 * MiB + PAGE_SIZE, 4 * MiB, PTE_R, PT_HUGE), 0);
	s = sw_scan(root, NULL);
	CHECK(s.leaves[0] == 1024 && s.leaves[1] == 0);
	/* Unaligned ends get 4 KiB leaves, the aligned middle a 2 MiB one. */
	u64 va = GiB + 2 * MiB - PAGE_SIZE;
	CHECK_EQ(pt_map(root, va, va + GiB, 2 * MiB + 2 * PAGE_SIZE, PTE_R, PT_HUGE), 0);
	s = sw_scan(root, NULL);
	CHECK(s.leaves[0] == 1026 && s.leaves[1] == 1);
	CHECK(mapped_as(root, GiB + 3 * MiB, 2 * GiB + 3 * MiB, PTE_R, 1));
	/* 1 GiB + 2 MiB, all aligned: one of each. */
	CHECK_EQ(pt_map(root, 4 * GiB, 8 * GiB, GiB + 2 * MiB, PTE_R, PT_HUGE), 0);
	s = sw_scan(root, NULL);
	CHECK(s.leaves[2] == 1 && s.leaves[1] == 2);
	/* Without PT_HUGE: 4 KiB leaves even when everything is aligned. */
	CHECK_EQ(pt_map(root, 6 * GiB, 6 * GiB, 2 * MiB, PTE_R, 0), 0);
	CHECK(mapped_as(root, 6 * GiB, 6 * GiB, PTE_R, 0));
	/* An existing table is used rather than replaced: 511 2 MiB leaves then 511 4 KiB ones. */
	CHECK_EQ(pt_map(root, 8 * GiB - PAGE_SIZE, 0, PAGE_SIZE, PTE_R, 0), 0);
	CHECK_EQ(pt_map(root, 7 * GiB, 7 * GiB, GiB - PAGE_SIZE, PTE_R, PT_HUGE), 0);
	CHECK(mapped_as(root, 7 * GiB, 7 * GiB, PTE_R, 1) && mapped_as(root, 8 * GiB - 2 * PAGE_SIZE,
								       8 * GiB - 2 * PAGE_SIZE, PTE_R, 0));
	CHECK(mapped_as(root, 8 * GiB - PAGE_SIZE, 0, PTE_R, 0));
	CHECK_EQ(sw_scan(root, NULL).empty_tables, 0);
	teardown_checks();
}

void test_invalid(void)
{
	u64 root = setup(), r = PTE_R;
	u64 pas[2] = {0x1000, 0x2000};
	CHECK_EQ(pt_map(root, 0, 0, 0, r, 0), -EINVAL);
	CHECK_EQ(pt_map(root, 0x800, 0, PAGE_SIZE, r, 0), -EINVAL);
	CHECK_EQ(pt_map(root, 0, 0x800, PAGE_SIZE, r, 0), -EINVAL);
	CHECK_EQ(pt_map(root, 0, 0, 0x1800, r, 0), -EINVAL);
	CHECK_EQ(pt_map(root, USER_TOP, 0, PAGE_SIZE, r, 0), -EINVAL);
	CHECK_EQ(pt_map(root, 1UL << 63, 0, PAGE_SIZE, r, 0), -EINVAL);
	CHECK_EQ(pt_map(root, VMALLOC_START - PAGE_SIZE, 0, PAGE_SIZE, r, 0), -EINVAL);
	CHECK_EQ(pt_map(root, USER_TOP - PAGE_SIZE, 0, 2 * PAGE_SIZE, r, 0), -EINVAL); /* runs off the half */
	CHECK_EQ(pt_map(root, TOP_PAGE, 0, 2 * PAGE_SIZE, r, 0), -EINVAL);             /* wraps */
	CHECK_EQ(pt_map(root, 0, TOP_PAGE, 2 * PAGE_SIZE, r, 0), -EINVAL);             /* pa wraps */
	CHECK_EQ(pt_map(root, 0, PT_PA_LIMIT - PAGE_SIZE, 2 * PAGE_SIZE, r, 0), -EINVAL);
	CHECK_EQ(pt_map(root, 0, 0, PAGE_SIZE, r, 2), -EINVAL);
	const u64 bad_prot[] = {0, PTE_W, PTE_W | PTE_X, PTE_X, PTE_U, r | PTE_V, r | PTE_A, r | PTE_D, r | 1UL << 8,
				r | 1UL << 60};
	for (size_t i = 0; i < ARRAY_SIZE(bad_prot); i++) {
		CHECK_EQ(pt_map(root, 0, 0, PAGE_SIZE, bad_prot[i], 0), -EINVAL);
		CHECK_EQ(pt_map_pages(root, 0, pas, 1, bad_prot[i]), -EINVAL);
	}
	CHECK_EQ(pt_map_pages(root, 0, pas, 0, r), -EINVAL);
	CHECK_EQ(pt_map_pages(root, 0x10, pas, 1, r), -EINVAL);
	CHECK_EQ(pt_map_pages(root, USER_TOP - PAGE_SIZE, pas, 2, r), -EINVAL);
	CHECK_EQ(pt_map_pages(root, TOP_PAGE, pas, 2, r), -EINVAL);
	CHECK_EQ(pt_map_pages(root, 0, pas, (size_t)1 << 52, r), -EINVAL);
	CHECK_EQ(pt_map_pages(root, 0, pas, ~(size_t)0, r), -EINVAL);
	CHECK_EQ(pt_unmap(root, 0, 0, NULL, NULL), -EINVAL);
	CHECK_EQ(pt_unmap(root, 0x10, PAGE_SIZE, NULL, NULL), -EINVAL);
	CHECK_EQ(pt_unmap(root, USER_TOP - PAGE_SIZE, 2 * PAGE_SIZE, NULL, NULL), -EINVAL);
	CHECK_EQ(pt_unmap(root, TOP_PAGE, 2 * PAGE_SIZE, NULL, NULL), -EINVAL);
	CHECK_EQ(pt_protect(root, 0, 0, r), -EINVAL);
	CHECK_EQ(pt_protect(root, USER_TOP, PAGE_SIZE, r), -EINVAL);
	struct pt_walk w;
	CHECK_EQ(pt_walk(root, USER_TOP, &w), -EINVAL);
	CHECK(pt_leaf_slot(root, USER_TOP, true) == NULL);
	CHECK_EQ(pt_prepopulate(root, 0, GiB), -EINVAL);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START + PAGE_SIZE, VMALLOC_END), -EINVAL);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_START), -EINVAL);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_END, VMALLOC_START), -EINVAL);
	/* A bad page address in the middle of an array: everything before it is undone. */
	u64 many[600];
	for (int i = 0; i < 600; i++) many[i] = (u64)(i + 1) << 12;
	many[550] = 0x123;
	CHECK_EQ(pt_map_pages(root, 2 * MiB - 8 * PAGE_SIZE, many, 600, r), -EINVAL);
	many[550] = PT_PA_LIMIT;
	CHECK_EQ(pt_map_pages(root, 2 * MiB - 8 * PAGE_SIZE, many, 600, r), -EINVAL);
	many[0] = 1UL << 63;
	CHECK_EQ(pt_map_pages(root, 2 * MiB, many, 1, r), -EINVAL);
	CHECK_EQ(live_tables, 1);
	CHECK_EQ(sw_scan(root, NULL).pages, 0);
	teardown_checks();
}

void test_map_pages(void)
{
	u64 root = setup();
	static u64 pas[2000];
	for (int i = 0; i < 2000; i++) pas[i] = (rnd() % (1UL << 40)) & PAGE_MASK;
	u64 va = GiB - 600 * PAGE_SIZE;
	CHECK_EQ(pt_map_pages(root, va, pas, 2000, PTE_R | PTE_W), 0);
	bool all = true;
	for (int i = 0; i < 2000; i++) all &= mapped_as(root, va + i * PAGE_SIZE, pas[i], PTE_R | PTE_W, 0);
	CHECK(all && unmapped(root, va - PAGE_SIZE) && unmapped(root, va + 2000 * PAGE_SIZE));
	CHECK_EQ(live_tables, 8); /* root, 2 L1, L0s: 88+512 below 1 GiB, 512+512+376 above */
	CHECK_EQ(pt_unmap(root, va, 2000 * PAGE_SIZE, NULL, NULL), 2000);
	CHECK_EQ(live_tables, 1);
	/* The vmalloc hot path: one page into a prepopulated region, and one at the very top. */
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_END), 0);
	CHECK_EQ(pt_map_pages(root, VMALLOC_START + 3 * GiB + 5 * PAGE_SIZE, pas, 1, PTE_R | PTE_G), 0);
	CHECK(mapped_as(root, VMALLOC_START + 3 * GiB + 5 * PAGE_SIZE, pas[0], PTE_R | PTE_G, 0));
	CHECK_EQ(live_tables, 66);
	CHECK_EQ(pt_map_pages(root, VMALLOC_START + 3 * GiB + 6 * PAGE_SIZE, pas + 1, 1, PTE_R), 0);
	CHECK_EQ(live_tables, 66);
	CHECK_EQ(pt_map_pages(root, TOP_PAGE, pas + 2, 1, PTE_R), 0);
	CHECK(mapped_as(root, ~0UL, pas[2] + PAGE_SIZE - 1, PTE_R, 0));
	teardown_checks();
}

void test_leaf_slot(void)
{
	u64 root = setup();
	CHECK(pt_leaf_slot(root, 5 * GiB, false) == NULL);
	CHECK_EQ(live_tables, 1);
	fail_after = 1;
	CHECK(pt_leaf_slot(root, 5 * GiB, true) == NULL);
	fail_after = -1;
	CHECK_EQ(live_tables, 1);
	pte_t *slot = pt_leaf_slot(root, 5 * GiB + 0x3456, true);
	CHECK(slot && *slot == 0 && live_tables == 3);
	if (slot) *slot = pte_make(0x77000, PTE_V | PTE_R | PTE_A | PTE_D);
	struct pt_walk w;
	CHECK(!pt_walk(root, 5 * GiB + 0x3456, &w) && w.slot == slot && w.pa == 0x77456 && w.level == 0);
	CHECK(pt_leaf_slot(root, 5 * GiB + 0x3000, false) == slot);
	CHECK_EQ(pt_map(root, 6 * GiB, 0, GiB, PTE_R, PT_HUGE), 0);
	CHECK(pt_leaf_slot(root, 6 * GiB + 0x5000, false) == NULL && pt_leaf_slot(root, 6 * GiB, true) == NULL);
	CHECK_EQ(pt_unmap(root, 5 * GiB, 2 * GiB, NULL, NULL), 1 + (1L << 18));
	CHECK_EQ(live_tables, 1);
	teardown_checks();
}

void test_prepopulate(void)
{
	u64 root = setup();
	CHECK_EQ(pt_map(root, VMALLOC_START + 44 * GiB, 0, GiB, PTE_R, PT_HUGE), 0);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_END), -EEXIST);
	CHECK_EQ(live_tables, 1);
	fail_after = 10;
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_START + 40 * GiB), -ENOMEM);
	fail_after = -1;
	CHECK_EQ(live_tables, 1);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_START + 2 * GiB), 0);
	fail_after = 0;
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_START + 3 * GiB), -ENOMEM);
	fail_after = -1;
	CHECK_EQ(live_tables, 3); /* the two that existed before the failed call stay */
	CHECK_EQ(pt_prepopulate(root, ~0UL - 4 * GiB + 1, 0), 0); /* up to 2^64 */
	CHECK_EQ(live_tables, 7);
	CHECK_EQ(sw_scan(root, NULL).pages, 1L << 18);
	teardown_checks();
}

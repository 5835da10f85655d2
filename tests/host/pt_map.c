/* test_pt cases that build mappings: the pte helpers, every leaf size and when a huge one is chosen,
 * refused arguments, page arrays, direct leaf slots and prepopulated kernel ranges. */
#define HTEST_PART
#include "tests/host/test_pt.h"
#include "vm/pt_kr.h"

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
	for (size_t i = 0; i < ARRAY_SIZE(bad_prot); i++) CHECK_EQ(pt_map(root, 0, 0, PAGE_SIZE, bad_prot[i], 0), -EINVAL);
	CHECK_EQ(pt_unmap(root, 0, 0, NULL, NULL), -EINVAL);
	CHECK_EQ(pt_unmap(root, 0x10, PAGE_SIZE, NULL, NULL), -EINVAL);
	CHECK_EQ(pt_unmap(root, USER_TOP - PAGE_SIZE, 2 * PAGE_SIZE, NULL, NULL), -EINVAL);
	CHECK_EQ(pt_unmap(root, TOP_PAGE, 2 * PAGE_SIZE, NULL, NULL), -EINVAL);
	struct pt_walk w;
	CHECK_EQ(pt_walk(root, USER_TOP, &w), -EINVAL);
	CHECK_EQ(pt_prepopulate(root, 0, GiB), -EINVAL);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START + PAGE_SIZE, VMALLOC_END), -EINVAL);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_START), -EINVAL);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_END, VMALLOC_START), -EINVAL);
	CHECK_EQ(live_tables, 1);
	CHECK_EQ(sw_scan(root, NULL).pages, 0);
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

/* The kernel range (vmalloc's region): fill, clear, the page fates, and 2 MiB leaves taking the place of
 * emptied level-0 tables. */
static u64 kr_setup(void)
{
	u64 root = setup();
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_END), 0);
	pt_kr_init(root, VMALLOC_START, VMALLOC_END);
	return root;
}

static bool page_is_zero(u64 pa)
{
	const u64 *p = (const u64 *)sim_table(pa);
	for (int i = 0; p && i < 512; i++)
		if (p[i]) return false;
	return p != NULL;
}

void test_kernel_range(void)
{
	u64 root = kr_setup();
	long base_tables = live_tables;
	u64 va = VMALLOC_START + 5 * GiB + 2 * MiB - 300 * PAGE_SIZE; /* 600 pages over two level-0 tables */
	CHECK_EQ(pt_kr_populate(va, 600, 0, true), 0);
	CHECK_EQ(live_tables, base_tables + 2);
	CHECK_EQ(pt_kr_tables(), 2);
	CHECK_EQ(live_data_pages, 600);
	bool all = true;
	for (u64 k = 0; k < 600; k++) {
		struct pt_walk w;
		/* Zeroed pages are mapped clean (D clear), so an unwritten one is known to be zero at unmap. */
		all &= !pt_walk(root, va + k * PAGE_SIZE, &w) && w.level == 0 && page_is_zero(w.pa) &&
		       (w.pte & (PTE_PROT_MASK | PTE_V | PTE_A | PTE_D)) == (PT_KR_PROT | PTE_V | PTE_A);
	}
	CHECK(all && unmapped(root, va - PAGE_SIZE) && unmapped(root, va + 600 * PAGE_SIZE));
	int level = -1;
	CHECK(pt_kr_lookup(va + 5 * PAGE_SIZE, &level) && level == 0);
	/* A first store's fault marks the page dirty; an address without a leaf is refused. */
	CHECK(pt_kr_mark_dirty(va + 5 * PAGE_SIZE));
	CHECK(pt_kr_lookup(va + 5 * PAGE_SIZE, &level) & PTE_D);
	CHECK(!pt_kr_mark_dirty(va - PAGE_SIZE));
	CHECK(pt_kr_lookup(VMALLOC_END, &level) == 0 && pt_kr_lookup(va - PAGE_SIZE, &level) == 0);
	/* Clearing with a hole in the middle: only valid leaves count; chained pages come back linked. */
	CHECK_EQ(pt_kr_clear(va + 100 * PAGE_SIZE, 10, PT_KR_FREE, NULL), 10);
	CHECK_EQ(live_data_pages, 590);
	u64 chain = 0;
	CHECK_EQ(pt_kr_clear(va, 300, PT_KR_CHAIN, &chain), 290);
	long linked = 0;
	for (u64 pa = chain; pa && linked <= 290; pa = *(u64 *)sim_table(pa)) linked++;
	CHECK_EQ(linked, 290);
	CHECK_EQ(live_data_pages, 590); /* chained, not freed */
	for (u64 pa = chain, next; pa; pa = next) {
		next = *(u64 *)sim_table(pa);
		page_cache_free(pa);
	}
	CHECK_EQ(pt_kr_clear(va + 300 * PAGE_SIZE, 300, PT_KR_FREE, NULL), 300);
	CHECK_EQ(live_data_pages, 0);
	/* Given pages, and the tables: still there, empty, so a detach takes them; a used one stays. */
	struct page *pas[3] = {SIM_PAGE(0x1000), SIM_PAGE(0x7000), SIM_PAGE(0x3000)};
	CHECK_EQ(pt_kr_map_pages(va, pas, 3, PTE_R | PTE_G), 0);
	CHECK(mapped_as(root, va + PAGE_SIZE, 0x7000, PTE_R | PTE_G, 0));
	u64 block = ALIGN_DOWN(va, 2 * MiB), next_block = block + 2 * MiB;
	u64 t = 1;
	CHECK_EQ(pt_kr_detach_table(block, &t), -EBUSY);
	CHECK_EQ(t, 0);
	CHECK_EQ(pt_kr_detach_table(next_block, &t), 0);
	CHECK(t > 0 && sim_table(t) && pt_kr_tables() == 1);
	page_cache_free(t);
	CHECK_EQ(pt_kr_detach_table(next_block, &t), 0); /* nothing there any more */
	CHECK_EQ(t, 0);
	CHECK_EQ(pt_kr_clear(va, 3, PT_KR_KEEP, NULL), 3);
	/* A 2 MiB leaf where the table was, and not over a table or another leaf. */
	CHECK_EQ(pt_kr_map_huge(next_block, 0x40000000), 0);
	CHECK(mapped_as(root, next_block + 12345, 0x40000000 + 12345, PT_KR_PROT, 1));
	CHECK(pt_kr_lookup(next_block + MiB, &level) && level == 1);
	CHECK_EQ(pt_kr_map_huge(next_block, 0x40200000), -EBUSY);
	CHECK_EQ(pt_kr_map_huge(block, 0x40200000), -EBUSY);
	CHECK_EQ(pt_kr_clear_huge(next_block), 0x40000000);
	CHECK_EQ(pt_kr_clear_huge(next_block), 0);
	CHECK(unmapped(root, next_block));
	u64 tables;
	CHECK_EQ(pt_kr_detach_table(block, &tables), 0);
	CHECK(tables > 0);
	page_cache_free(tables);
	CHECK(live_tables == base_tables && pt_kr_tables() == 0);
	teardown_checks();
}

/* The small-range fast paths (a few pages in one existing table, pages in bulk) against the general
 * paths: the same leaves, the same counts, holes skipped, and a failure anywhere leaves nothing mapped. */
void test_kernel_range_small(void)
{
	u64 root = kr_setup();
	u64 va = VMALLOC_START + 9 * GiB + 2 * MiB - 2 * PAGE_SIZE; /* the next table starts 2 pages in */
	CHECK_EQ(pt_kr_populate(va - 8 * PAGE_SIZE, 1, 0, false), 0); /* makes the first table: slow path */
	for (int refuse = 0; refuse < 2; refuse++) {
		sim_bulk_refuse = refuse;
		CHECK_EQ(pt_kr_populate(va - 6 * PAGE_SIZE, 3, 0, false), 0);
		CHECK_EQ(live_data_pages, 4);
		bool all = true;
		for (u64 k = 0; k < 3; k++) {
			struct pt_walk w;
			all &= !pt_walk(root, va - (6 - k) * PAGE_SIZE, &w) && w.level == 0 &&
			       (w.pte & (PTE_PROT_MASK | PTE_V | PTE_A | PTE_D)) == (PT_KR_PROT | PTE_V | PTE_A | PTE_D);
		}
		CHECK(all && unmapped(root, va - 7 * PAGE_SIZE) && unmapped(root, va - 3 * PAGE_SIZE));
		/* Over the hole before it: only the valid leaves count and are freed. */
		CHECK_EQ(pt_kr_clear(va - 7 * PAGE_SIZE, 4, PT_KR_FREE, NULL), 3);
		CHECK_EQ(live_data_pages, 1);
		CHECK(unmapped(root, va - 6 * PAGE_SIZE) && unmapped(root, va - 4 * PAGE_SIZE));
		/* Across two tables (the second made here): the general path, same outcome. */
		CHECK_EQ(pt_kr_populate(va, 3, 0, false), 0);
		CHECK_EQ(live_data_pages, 4);
		CHECK(!unmapped(root, va + 2 * PAGE_SIZE));
		CHECK_EQ(pt_kr_clear(va, 3, PT_KR_FREE, NULL), 3);
		CHECK_EQ(live_data_pages, 1);
	}
	sim_bulk_refuse = false;
	/* Out of pages at each step of a small fill: nothing stays mapped or held. */
	for (long k = 0; k < 3; k++) {
		fail_after = k;
		CHECK_EQ(pt_kr_populate(va - 6 * PAGE_SIZE, 3, 0, false), -ENOMEM);
		fail_after = -1;
		CHECK_EQ(live_data_pages, 1);
		CHECK_EQ(sw_scan(root, NULL).pages, 1);
	}
	CHECK_EQ(pt_kr_clear(va - 8 * PAGE_SIZE, 1, PT_KR_FREE, NULL), 1);
	CHECK_EQ(live_data_pages, 0);
	u64 block = ALIGN_DOWN(va, 2 * MiB), t;
	CHECK_EQ(pt_kr_detach_table(block, &t), 0);
	CHECK(t);
	page_cache_free(t);
	CHECK_EQ(pt_kr_detach_table(block + 2 * MiB, &t), 0);
	CHECK(t);
	page_cache_free(t);
	CHECK_EQ(pt_kr_tables(), 0);
	teardown_checks();
}

void test_kernel_range_failures(void)
{
	u64 root = kr_setup();
	long base_tables = live_tables;
	u64 va = VMALLOC_START + 7 * GiB + 2 * MiB - 5 * PAGE_SIZE;
	/* Out of pages or tables at every step of a 520-page fill: nothing stays mapped or held. Tables
	 * already made stay (they are the region's), so only pages are compared. */
	for (long k = 0; k < 523; k += k < 8 ? 1 : 37) {
		fail_after = k;
		CHECK_EQ(pt_kr_populate(va, 520, 0, false), -ENOMEM);
		fail_after = -1;
		CHECK_EQ(live_data_pages, 0);
		CHECK_EQ(sw_scan(root, NULL).pages, 0);
	}
	CHECK_EQ(pt_kr_populate(va, 520, 0, false), 0);
	CHECK_EQ(sw_scan(root, NULL).pages, 520);
	CHECK_EQ(pt_kr_clear(va, 520, PT_KR_FREE, NULL), 520);
	/* Bad page addresses in the middle of an array: everything before is undone, the pages kept. */
	static struct page *many[600];
	for (int i = 0; i < 600; i++) many[i] = SIM_PAGE((u64)(i + 1) << 12);
	many[550] = SIM_PAGE(0x123);
	CHECK_EQ(pt_kr_map_pages(va, many, 600, PTE_R), -EINVAL);
	many[550] = SIM_PAGE(PT_PA_LIMIT);
	CHECK_EQ(pt_kr_map_pages(va, many, 600, PTE_R), -EINVAL);
	many[550] = NULL;
	CHECK_EQ(pt_kr_map_pages(va, many, 600, PTE_R), -EINVAL);
	CHECK_EQ(pt_kr_map_pages(va, many, 1, PTE_W), -EINVAL);
	CHECK_EQ(pt_kr_map_pages(va, many, 1, PTE_R | PTE_U), -EINVAL);
	CHECK_EQ(sw_scan(root, NULL).pages, 0);
	for (u64 b = ALIGN_DOWN(va, 2 * MiB); b < va + 600 * PAGE_SIZE; b += 2 * MiB) {
		u64 t;
		CHECK_EQ(pt_kr_detach_table(b, &t), 0);
		if (t) page_cache_free(t);
	}
	CHECK(live_tables == base_tables && pt_kr_tables() == 0 && live_data_pages == 0);
	teardown_checks();
}

/* The one-table fast path vm_map_ram's blocks use: the block's table taken once (made when missing,
 * counted), pages mapped and cleared through it exactly as pt_kr_map_pages / pt_kr_clear would, a bad
 * page in the middle undoing the run, and the emptied table detachable as any other. */
void test_kernel_range_block(void)
{
	u64 root = kr_setup();
	long base_tables = live_tables;
	u64 block = VMALLOC_START + 9 * GiB + 6 * MiB;
	pte_t *t = pt_kr_block_table(block);
	CHECK(t != NULL && pt_kr_tables() == 1 && live_tables == base_tables + 1);
	CHECK(pt_kr_block_table(block + 2 * MiB - PAGE_SIZE) == t); /* the same table, not a second one */
	CHECK_EQ(pt_kr_tables(), 1);
	struct page *pas[3] = {SIM_PAGE(0x5000), SIM_PAGE(0x9000), SIM_PAGE(0x2000)};
	u64 va = block + 510 * PAGE_SIZE - 3 * PAGE_SIZE;
	CHECK_EQ(pt_kr_map_pages_in(t, va, pas, 3, PTE_R | PTE_W | PTE_G), 0);
	CHECK(mapped_as(root, va, 0x5000, PTE_R | PTE_W | PTE_G, 0));
	CHECK(mapped_as(root, va + 2 * PAGE_SIZE, 0x2000, PTE_R | PTE_W | PTE_G, 0));
	CHECK(unmapped(root, va - PAGE_SIZE) && unmapped(root, va + 3 * PAGE_SIZE));
	/* Bad pages or prot: -EINVAL with nothing new left mapped. */
	struct page *bad[3] = {SIM_PAGE(0x4000), SIM_PAGE(0x123), SIM_PAGE(0x6000)};
	CHECK_EQ(pt_kr_map_pages_in(t, block, bad, 3, PTE_R), -EINVAL);
	bad[1] = NULL;
	CHECK_EQ(pt_kr_map_pages_in(t, block, bad, 3, PTE_R), -EINVAL);
	bad[1] = SIM_PAGE(PT_PA_LIMIT);
	CHECK_EQ(pt_kr_map_pages_in(t, block, bad, 3, PTE_R), -EINVAL);
	CHECK_EQ(pt_kr_map_pages_in(t, block, pas, 1, PTE_W), -EINVAL);
	CHECK_EQ(pt_kr_map_pages_in(t, block, pas, 1, PTE_R | PTE_U), -EINVAL);
	CHECK_EQ(sw_scan(root, NULL).pages, 3);
	/* Clearing counts only valid leaves: a second clear of the same run finds none (a double unmap). */
	CHECK_EQ(pt_kr_clear_in(t, va + PAGE_SIZE, 2), 2);
	CHECK_EQ(pt_kr_clear_in(t, va, 3), 1);
	CHECK_EQ(pt_kr_clear_in(t, va, 3), 0);
	CHECK_EQ(sw_scan(root, NULL).pages, 0);
	u64 pa;
	CHECK_EQ(pt_kr_detach_table(block, &pa), 0);
	CHECK(pa != 0 && pt_kr_tables() == 0);
	page_cache_free(pa);
	CHECK(live_tables == base_tables);
	/* Out of tables: NULL, nothing counted. */
	fail_after = 0;
	CHECK(pt_kr_block_table(block) == NULL);
	fail_after = -1;
	CHECK(pt_kr_tables() == 0 && live_tables == base_tables);
	teardown_checks();
}

/* test_pt cases that change or remove what is mapped: rollback after -EEXIST and -ENOMEM, unmap with
 * leaf splitting, reclaim of emptied tables, and the teardown of a user address space. */
#define HTEST_PART
#include "tests/host/test_pt.h"

void test_eexist_rollback(void)
{
	u64 root = setup(), r = PTE_R;
	CHECK_EQ(pt_map(root, GiB + 700 * PAGE_SIZE, 0x7000, PAGE_SIZE, r, 0), 0);
	long base = live_tables;
	CHECK_EQ(pt_map(root, GiB - 4 * MiB, 0, 8 * MiB, r, PT_HUGE), -EEXIST);
	CHECK_EQ(live_tables, base);
	CHECK_EQ(sw_scan(root, NULL).pages, 1);
	CHECK(mapped_as(root, GiB + 700 * PAGE_SIZE, 0x7000, r, 0));
	/* Running into a huge leaf, with 4 KiB leaves and with huge ones. */
	CHECK_EQ(pt_map(root, 3 * GiB + 2 * MiB, 0, 2 * MiB, r, PT_HUGE), 0);
	base = live_tables;
	CHECK_EQ(pt_map(root, 3 * GiB, 0, 8 * MiB, r, 0), -EEXIST);
	CHECK_EQ(pt_map(root, 3 * GiB, 0, 8 * MiB, r, PT_HUGE), -EEXIST);
	CHECK_EQ(pt_map(root, 3 * GiB + 2 * MiB, 0, 2 * MiB, r, PT_HUGE), -EEXIST);
	CHECK_EQ(pt_map(root, GiB - 100 * PAGE_SIZE, 0, 1024 * PAGE_SIZE, r, 0), -EEXIST);
	CHECK_EQ(pt_map(root, GiB + 700 * PAGE_SIZE, 0, PAGE_SIZE, r, 0), -EEXIST);
	CHECK_EQ(pt_map(root, 0, 0, 4 * GiB, r, PT_HUGE), -EEXIST);
	CHECK_EQ(live_tables, base);
	struct sw_stats s = sw_scan(root, NULL);
	CHECK(s.pages == 513 && s.empty_tables == 0);
	CHECK(mapped_as(root, GiB + 700 * PAGE_SIZE, 0x7000, r, 0) && mapped_as(root, 3 * GiB + 2 * MiB, 0, r, 1));
	teardown_checks();
}

/* Fails the k-th table allocation of an operation for every k it needs, then lets it succeed. */
static void enomem_sweep(u64 root, int (*op)(u64 root), long want_new_tables)
{
	long base = live_tables, pages = sw_scan(root, NULL).pages, k;
	for (k = 0; k < 64; k++) {
		fail_after = k;
		int err = op(root);
		fail_after = -1;
		if (err != -ENOMEM) {
			CHECK_EQ(err, 0);
			break;
		}
		CHECK_EQ(live_tables, base);
		CHECK_EQ(sw_scan(root, NULL).pages, pages);
	}
	CHECK_EQ(k, want_new_tables);
	CHECK_EQ(live_tables, base + want_new_tables);
}

static int map_span(u64 root) { return pt_map(root, GiB - 3 * MiB, MiB, 6 * MiB, PTE_R | PTE_W, PT_HUGE); }
static int map_span_pages(u64 root)
{
	return pt_map(root, 2 * GiB - 700 * PAGE_SIZE, 0x100000000UL, 1500 * PAGE_SIZE, PTE_R, 0);
}
static int map_fresh(u64 root) { return pt_map(root, 5 * GiB, 0, PAGE_SIZE, PTE_R, PT_HUGE); }
static int map_fresh_page(u64 root) { return pt_map(root, 6 * GiB, 0x1000, PAGE_SIZE, PTE_R, 0); }
static int map_vmalloc(u64 root) { return pt_map(root, VMALLOC_START + GiB - 4 * MiB, 0, 8 * MiB, PTE_R, 0); }

void test_enomem_rollback(void)
{
	u64 root = setup();
	/* Neighbours sharing tables with the failed ranges, which rollback must not take away. */
	CHECK_EQ(pt_map(root, GiB - 4 * MiB, 0x9000, PAGE_SIZE, PTE_R, 0), 0);
	CHECK_EQ(pt_map(root, 2 * GiB + 900 * PAGE_SIZE, 0x9000, PAGE_SIZE, PTE_R, 0), 0);
	/* [1G-3M, 1G+3M): the neighbour's L0, a 2 MiB leaf, a new L1 at slot 1, a 2 MiB leaf, a new L0. */
	enomem_sweep(root, map_span, 2);
	CHECK(mapped_as(root, GiB - 2 * MiB, 2 * MiB, PTE_R | PTE_W, 1));
	/* 1500 pages from 2G-700 pages: two new L0s under slot 1's L1 (made by map_span), a new L0 at 2G,
	 * the neighbour's L0 at 2G+2M. */
	enomem_sweep(root, map_span_pages, 3);
	/* Failing right at the first page of a fresh gigabyte: the level-1 table made for it goes too. */
	enomem_sweep(root, map_fresh, 2);
	enomem_sweep(root, map_fresh_page, 2);
	CHECK_EQ(sw_scan(root, NULL).empty_tables, 0);
	/* Prepopulated kernel range: only level-0 tables come and go. */
	long base = live_tables;
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_END), 0);
	CHECK_EQ(live_tables, base + 64);
	enomem_sweep(root, map_vmalloc, 4);
	CHECK_EQ(pt_unmap(root, VMALLOC_START + GiB - 4 * MiB, 8 * MiB, NULL, NULL), 2048);
	CHECK_EQ(live_tables, base + 64);
	teardown_checks();
}

static long cb_calls, cb_pages[3];
static u64 cb_last_pa;
static void count_leaf(void *ctx, u64 pa, int level)
{
	CHECK(ctx == &cb_calls);
	cb_calls++;
	cb_pages[level] += 1L << (9 * level);
	cb_last_pa = pa;
}
static void reset_cb(void) { cb_calls = cb_pages[0] = cb_pages[1] = cb_pages[2] = 0; }

void test_unmap_split(void)
{
	u64 root = setup(), p = PTE_R | PTE_W | PTE_U;
	CHECK_EQ(pt_map(root, GiB, 4 * GiB, GiB, p, PT_HUGE), 0);
	reset_cb();
	CHECK_EQ(pt_unmap(root, GiB + 5 * MiB + PAGE_SIZE, PAGE_SIZE, count_leaf, &cb_calls), 1);
	CHECK(cb_calls == 1 && cb_pages[0] == 1 && cb_last_pa == 4 * GiB + 5 * MiB + PAGE_SIZE);
	CHECK(mapped_as(root, GiB, 4 * GiB, p, 1) && mapped_as(root, GiB + 700 * MiB, 4 * GiB + 700 * MiB, p, 1));
	CHECK(mapped_as(root, GiB + 5 * MiB, 4 * GiB + 5 * MiB, p, 0) && unmapped(root, GiB + 5 * MiB + PAGE_SIZE));
	CHECK(mapped_as(root, GiB + 5 * MiB + 2 * PAGE_SIZE, 4 * GiB + 5 * MiB + 2 * PAGE_SIZE, p, 0));
	CHECK_EQ(live_tables, 3);
	CHECK_EQ(sw_scan(root, NULL).pages, (1L << 18) - 1);
	/* Across a 2 MiB boundary: both 2 MiB leaves split, 512 4 KiB leaves cleared. */
	reset_cb();
	CHECK_EQ(pt_unmap(root, GiB + MiB, 2 * MiB, count_leaf, &cb_calls), 512);
	CHECK(cb_calls == 512 && cb_pages[0] == 512);
	CHECK(mapped_as(root, GiB + MiB - PAGE_SIZE, 4 * GiB + MiB - PAGE_SIZE, p, 0) && unmapped(root, GiB + MiB));
	CHECK(mapped_as(root, GiB + 3 * MiB, 4 * GiB + 3 * MiB, p, 0) && unmapped(root, GiB + 3 * MiB - 1));
	/* Whole leaves report their level; holes are skipped. */
	reset_cb();
	CHECK_EQ(pt_unmap(root, GiB, GiB, count_leaf, &cb_calls), (1L << 18) - 513);
	CHECK(cb_pages[1] == 509 * 512 && cb_pages[0] == 3 * 512 - 513 && cb_calls == 509 + 3 * 512 - 513);
	CHECK_EQ(live_tables, 1);
	CHECK_EQ(pt_unmap(root, GiB, GiB, count_leaf, &cb_calls), 0);
	CHECK_EQ(pt_map(root, 0, 0, 2 * GiB, p, PT_HUGE), 0);
	reset_cb();
	CHECK_EQ(pt_unmap(root, 0, 2 * GiB, count_leaf, &cb_calls), 1L << 19);
	CHECK(cb_calls == 2 && cb_pages[2] == 1L << 19);
	/* Out of memory while splitting: both ends need splits (3 tables); any failure leaves the leaf whole. */
	CHECK_EQ(pt_map(root, GiB, 4 * GiB, GiB, p, PT_HUGE), 0);
	for (long k = 0; k < 3; k++) {
		fail_after = k;
		CHECK_EQ(pt_unmap(root, GiB + PAGE_SIZE, 10 * MiB, NULL, NULL), -ENOMEM);
		fail_after = -1;
		CHECK_EQ(live_tables, 1);
		CHECK(mapped_as(root, GiB + 3 * MiB, 4 * GiB + 3 * MiB, p, 2));
	}
	CHECK_EQ(pt_unmap(root, GiB + PAGE_SIZE, 10 * MiB, NULL, NULL), 2560);
	CHECK_EQ(live_tables, 4);
	CHECK(mapped_as(root, GiB, 4 * GiB, p, 0) && unmapped(root, GiB + 10 * MiB));
	CHECK(mapped_as(root, GiB + 10 * MiB + PAGE_SIZE, 4 * GiB + 10 * MiB + PAGE_SIZE, p, 0));
	CHECK(mapped_as(root, GiB + 12 * MiB, 4 * GiB + 12 * MiB, p, 1));
	teardown_checks();
}

void test_table_reclaim(void)
{
	u64 root = setup();
	u64 vas[64];
	for (int i = 0; i < 64; i++) {
		vas[i] = (rnd() % (8 * GiB)) & PAGE_MASK;
		if (pt_map(root, vas[i], vas[i], PAGE_SIZE, PTE_R, 0)) vas[i] = ~0UL; /* a repeat */
	}
	for (int i = 63; i >= 0; i--) {
		if (vas[i] != ~0UL) CHECK_EQ(pt_unmap(root, vas[i], PAGE_SIZE, NULL, NULL), 1);
		CHECK_EQ(sw_scan(root, NULL).empty_tables, 0);
	}
	CHECK_EQ(live_tables, 1);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_END), 0);
	CHECK_EQ(pt_prepopulate(root, VMALLOC_START, VMALLOC_START + 2 * GiB), 0); /* already there */
	CHECK_EQ(live_tables, 65);
	CHECK_EQ(pt_map(root, VMALLOC_START + 5 * GiB + 3 * PAGE_SIZE, 0, 3 * MiB, PTE_R, 0), 0);
	CHECK_EQ(pt_map(root, VMALLOC_END - GiB, 0, GiB, PTE_R, PT_HUGE), 0);
	CHECK(mapped_as(root, VMALLOC_END - GiB, 0, PTE_R, 1)); /* the level-1 table stays in use */
	CHECK_EQ(pt_unmap(root, VMALLOC_START, VMALLOC_SIZE, NULL, NULL), 768 + (1L << 18));
	CHECK_EQ(live_tables, 65);
	const pte_t *rt = sim_table(root);
	for (int i = 256; i < 320; i++) CHECK((rt[i] & PTE_V) && !pte_is_leaf(rt[i]));
	/* Elsewhere in the kernel half, level-1 tables are kept too; level-0 ones go. */
	CHECK_EQ(pt_map(root, KERNEL_VBASE, KERNEL_PBASE, 8 * PAGE_SIZE, PTE_R | PTE_X, 0), 0);
	CHECK_EQ(live_tables, 67);
	CHECK_EQ(pt_unmap(root, KERNEL_VBASE, 8 * PAGE_SIZE, NULL, NULL), 8);
	CHECK_EQ(live_tables, 66);
	teardown_checks();
}

/* pt_unmap_deferred: the tables a user unmap empties are unlinked at once but freed only when the caller
 * (after its TLB shootdown) hands the chain to pt_free_tables. */
void test_unmap_deferred(void)
{
	u64 root = setup();
	CHECK_EQ(pt_map(root, 3 * GiB, 0x200000, 4 * MiB, PTE_R | PTE_U, 0), 0); /* two level-0 tables, a level-1 */
	CHECK_EQ(live_tables, 4);
	u64 chain = 0;
	CHECK_EQ(pt_unmap_deferred(root, 3 * GiB, 4 * MiB, NULL, NULL, &chain), 1024);
	CHECK(!mapped_as(root, 3 * GiB, 0x200000, PTE_R | PTE_U, 0));
	CHECK_EQ(sw_scan(root, NULL).empty_tables, 0); /* unlinked: no walk reaches them */
	CHECK_EQ(live_tables, 4);                      /* but not freed */
	u32 n = 0;
	for (u64 t = chain; t; t = sim_table(t)[0]) n++;
	CHECK_EQ(n, 3);
	pt_free_tables(chain);
	CHECK_EQ(live_tables, 1);
	teardown_checks();
}

/* A failed map's rollback in a live address space chains the tables it unlinks, for the caller to free
 * after its fence, as pt_unmap_deferred does: pt_map_pages across two 2 MiB spans, failing at the
 * second's table, and pt_reserve_tables failing at a fresh level-1 table's level-0 one. */
void test_rollback_deferred(void)
{
	u64 root = setup(), pas[600];
	for (u32 i = 0; i < 600; i++) pas[i] = 0x100000 + (u64)i * PAGE_SIZE;
	long base = live_tables;
	u64 chain = 0;
	fail_after = 2; /* the level-1 and the first level-0 table come, the second level-0 does not */
	CHECK_EQ(pt_map_pages(root, 3 * GiB + MiB, pas, 600, PTE_R | PTE_U, &chain), -ENOMEM);
	fail_after = -1;
	CHECK_EQ(sw_scan(root, NULL).pages, 0);
	CHECK_EQ(sw_scan(root, NULL).empty_tables, 0); /* unlinked: no walk reaches them */
	CHECK_EQ(live_tables, base + 2);              /* but not freed */
	u32 n = 0;
	for (u64 t = chain; t; t = sim_table(t)[0]) n++;
	CHECK_EQ(n, 2);
	pt_free_tables(chain);
	CHECK_EQ(live_tables, base);
	chain = 0;
	fail_after = 1;
	CHECK_EQ(pt_reserve_tables(root, 5 * GiB, 4 * MiB, &chain), -ENOMEM);
	fail_after = -1;
	CHECK_EQ(live_tables, base + 1);
	CHECK(chain != 0 && sim_table(chain)[0] == 0);
	pt_free_tables(chain);
	CHECK_EQ(live_tables, base);
	teardown_checks();
}

void test_destroy_and_share(void)
{
	u64 kroot = setup();
	CHECK_EQ(pt_prepopulate(kroot, VMALLOC_START, VMALLOC_END), 0);
	CHECK_EQ(pt_map(kroot, KERNEL_VBASE, KERNEL_PBASE, 16 * PAGE_SIZE, PTE_R | PTE_X | PTE_G, 0), 0);
	long ktables = live_tables;
	u64 uroot = pt_alloc_table();
	pt_copy_kernel_half(uroot, kroot);
	CHECK_EQ(pt_map(uroot, 0, 0, GiB + 2 * MiB + 3 * PAGE_SIZE, PTE_R | PTE_U, PT_HUGE), 0);
	CHECK_EQ(pt_map(uroot, USER_TOP - 2 * PAGE_SIZE, 0x5000, 2 * PAGE_SIZE, PTE_R | PTE_U, 0), 0);
	/* Kernel mappings made after the copy show through, since the level-1 tables are shared. */
	CHECK_EQ(pt_map(kroot, VMALLOC_START + PAGE_SIZE, 0x9000, PAGE_SIZE, PTE_R | PTE_G, 0), 0);
	struct pt_walk kw, uw;
	CHECK(!pt_walk(uroot, VMALLOC_START + PAGE_SIZE, &uw) && !pt_walk(kroot, VMALLOC_START + PAGE_SIZE, &kw));
	CHECK(uw.slot == kw.slot && uw.pa == 0x9000);
	CHECK(mapped_as(uroot, KERNEL_VBASE + PAGE_SIZE, KERNEL_PBASE + PAGE_SIZE, PTE_R | PTE_X | PTE_G, 0));
	ktables = live_tables - 1 - 4; /* user side: root, 2 L1, 2 L0 */
	CHECK_EQ(ktables, 68);
	reset_cb();
	pt_destroy_user(uroot, count_leaf, &cb_calls);
	CHECK(cb_pages[2] == 1L << 18 && cb_pages[1] == 512 && cb_pages[0] == 5 && cb_calls == 7);
	CHECK_EQ(live_tables, ktables + 1);
	struct sw_stats s = sw_scan(uroot, NULL);
	CHECK(s.pages == 17 && s.tables == 68);
	CHECK(!memcmp(&sim_table(uroot)[256], &sim_table(kroot)[256], 256 * sizeof(pte_t)));
	pt_destroy_user(uroot, count_leaf, &cb_calls);
	CHECK_EQ(cb_calls, 7);
	teardown_checks();
}

/* t_huge_frag: a huge shm_create when 2 MiB blocks are scarce but 4 KiB pages are plenty. A create is made
 * in steps: its first block is huge, and the grow that follows cannot fall back (an area is made of
 * blocks or of pages); when the blocks run out part way it is made again of 4 KiB pages, as abi.h
 * promises ("falls back silently") and as a create made in one go did. Run with
 * vmalloc.task_quota_pages=65536 on a small machine (-m 96M), so that two interleaved objects can fill RAM. */
#include "user/vmk.h"

#define PG 4096UL
#define MIB (1UL << 20)

static int is_huge(long h)
{
	struct vmk_shm_info i;
	return vmk_shm_info((u64)h, &i) == 0 ? (int)i.huge : -1;
}

static void test_huge_create_one_block_free(void)
{
	/* One object of two blocks kept aside: its shrink later frees exactly one block, at once. */
	long h0 = vmk_shm_create(4 * MIB, SHM_F_HUGE);
	dprintf(1, "# h0 %ld huge %d\n", h0, is_huge(h0));
	REQUIRE(h0 > 0 && is_huge(h0) == 2); /* huge: its 2 MiB blocks */
	/* Two objects grown a page at a time in turn: their pages interleave, so once b goes, what is free
	 * is plenty of 4 KiB pages and (nearly) no whole 2 MiB block. */
	long a = vmk_shm_create(PG, 0), b = vmk_shm_create(PG, 0);
	REQUIRE(a > 0 && b > 0);
	u64 sa = PG, sb = PG;
	for (;;) {
		if (vmk_shm_resize((u64)a, sa + PG)) break;
		sa += PG;
		if (vmk_shm_resize((u64)b, sb + PG)) break;
		sb += PG;
	}
	dprintf(1, "# grown: a %lu MiB, b %lu MiB\n", sa >> 20, sb >> 20);
	CHECK_EQ(vmk_shm_close((u64)b), 0);
	vmk_sleep(200000000); /* the idle loop purges b's pages back */
	/* Any block still free is taken by 2 MiB huge objects (non-huge ones are dropped at once). */
	long keep[64];
	int nk = 0;
	while (nk < 48) {
		long h = vmk_shm_create(2 * MIB, SHM_F_HUGE);
		if (h <= 0) break;
		if (is_huge(h) != 1) {
			vmk_shm_close((u64)h);
			break;
		}
		keep[nk++] = h;
	}
	dprintf(1, "# blocks still free before: %d\n", nk);
	CHECK_EQ(vmk_shm_resize((u64)h0, 2 * MIB), 0); /* exactly one block free now */
	long h = vmk_shm_create(8 * MIB, SHM_F_HUGE);
	dprintf(1, "# shm_create(8 MiB, SHM_F_HUGE) with one free block -> %ld (huge %d)\n", h, h > 0 ? is_huge(h) : -1);
	CHECK(h > 0);
	/* When it failed: the same size without SHM_F_HUGE fits, so memory was there. */
	if (h <= 0) {
		long p = vmk_shm_create(8 * MIB, 0);
		dprintf(1, "# shm_create(8 MiB, 0) -> %ld\n", p);
		CHECK(p > 0);
		if (p > 0) vmk_shm_close((u64)p);
	}
	if (h > 0) vmk_shm_close((u64)h);
	for (int i = 0; i < nk; i++) vmk_shm_close((u64)keep[i]);
	vmk_shm_close((u64)a);
	vmk_shm_close((u64)h0);
}

int main(void)
{
	ktap_begin("t_huge_frag");
	ktap_run("huge_create_one_block_free", test_huge_create_one_block_free);
	return ktap_end();
}

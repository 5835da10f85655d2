/* Host tests for hart sets (lib/percpu.c): SBI (mask, base) chunks for hart ids up to 64 apart and
 * beyond, with no shift past 63, and the "others" mask that leaves the calling hart out. */
#include "tests/host/htest.h"
#include "lib/percpu.h"

u32 host_this_hart;
static struct hart_local records[MAX_HARTS];

static void set_ids(const u32 *ids, u32 n)
{
	for (u32 i = 0; i < MAX_HARTS; i++) {
		hart_locals[i] = &records[i];
		records[i].hartid = i < n ? ids[i] : 0;
		records[i].index = i;
	}
	harts_online_mask = n == 64 ? ~0ULL : (1ULL << n) - 1;
	nr_harts_online = n;
}

static void test_dense_ids_one_chunk(void)
{
	static const u32 ids[] = {0, 1, 2, 3, 4, 5, 6, 7};
	unsigned long m[MAX_HARTS], b[MAX_HARTS];
	set_ids(ids, 8);
	CHECK_EQ(harts_sbi_chunks(0xfe, m, b), 1);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(m[0], 0xfe);
	host_this_hart = 0;
	unsigned long base, mask = harts_other_sbi_mask(&base);
	CHECK_EQ(mask, 0xfe);
	CHECK_EQ(base, 0);
}

static void test_ids_64_apart_split(void)
{
	/* The old single-mask code shifted 1UL by (100 - 1): undefined, and wrong on RISC-V. */
	static const u32 ids[] = {1, 100, 63, 64, 200};
	unsigned long m[MAX_HARTS], b[MAX_HARTS];
	set_ids(ids, 5);
	u32 n = harts_sbi_chunks(0x1f, m, b);
	CHECK_EQ(n, 3);
	CHECK_EQ(b[0], 0);
	CHECK_EQ(m[0], (1UL << 1) | (1UL << 63));
	CHECK_EQ(b[1], 64);
	CHECK_EQ(m[1], (1UL << (100 - 64)) | 1UL);
	CHECK_EQ(b[2], 192);
	CHECK_EQ(m[2], 1UL << (200 - 192));
}

static void test_all_64_harts(void)
{
	u32 ids[64];
	unsigned long m[MAX_HARTS], b[MAX_HARTS];
	for (u32 i = 0; i < 64; i++) ids[i] = 63 - i;
	set_ids(ids, 64);
	CHECK_EQ(harts_sbi_chunks(~0ULL, m, b), 1);
	CHECK_EQ(m[0], ~0UL);
	host_this_hart = 63; /* hart id 0 */
	unsigned long base, mask = harts_other_sbi_mask(&base);
	CHECK_EQ(mask, ~1UL);
	CHECK_EQ(base, 0);
	host_this_hart = 0;
}

static void test_empty_set(void)
{
	static const u32 ids[] = {5};
	unsigned long m[MAX_HARTS], b[MAX_HARTS], base = 7;
	set_ids(ids, 1);
	CHECK_EQ(harts_sbi_chunks(0, m, b), 0);
	CHECK_EQ(harts_other_sbi_mask(&base), 0);
	CHECK_EQ(base, 0);
}

int main(void)
{
	htest_begin("hart_masks", 4);
	htest_run("dense_ids_one_chunk", test_dense_ids_one_chunk);
	htest_run("ids_64_apart_split", test_ids_64_apart_split);
	htest_run("all_64_harts", test_all_64_harts);
	htest_run("empty_set", test_empty_set);
	return htest_end();
}

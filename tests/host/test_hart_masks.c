/* Host tests for hart sets (lib/hartset.h) and their users in lib/percpu.c: the set operations at the
 * word boundaries (index 63, 64, MAX_HARTS - 1), walking, the atomic forms, SBI (mask, base) chunks for
 * hart ids up to 64 apart and beyond and for more than 64 harts, with no shift past 63, and the "others"
 * set that leaves the calling hart out. Built twice: at the default MAX_HARTS and at 256
 * (test_hart_masks_256), so a width that only compiles is not taken for one that works. */
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
	hartset_first_n(&harts_online, n);
	nr_harts_online = n;
}

/* Indices of s in walking order, into out[]; returns how many. */
static u32 walk(const struct hartset *s, u32 *out)
{
	u32 n = 0;
	hartset_for_each(i, s) out[n++] = i;
	return n;
}

static void test_set_ops_across_words(void)
{
	struct hartset s = HARTSET_EMPTY, t;
	u32 got[MAX_HARTS];
	CHECK(hartset_empty(&s));
	CHECK_EQ(hartset_popcount(&s), 0);
	CHECK_EQ(walk(&s, got), 0);
	CHECK_EQ(hartset_next(&s, 0), MAX_HARTS);
	hartset_set(&s, 0);
	hartset_set(&s, 63);
	hartset_set(&s, 64);
	hartset_set(&s, MAX_HARTS - 1);
	CHECK(!hartset_empty(&s));
	CHECK_EQ(hartset_popcount(&s), 4);
	CHECK(hartset_test(&s, 63) && hartset_test(&s, 64) && !hartset_test(&s, 65) && !hartset_test(&s, 1));
	CHECK(!hartset_test(&s, MAX_HARTS)); /* out of range reads as absent, not past the array */
	CHECK_EQ(s.w[0], (1ULL << 63) | 1);
	CHECK_EQ(s.w[1], MAX_HARTS == 128 ? (1ULL << 63) | 1 : 1); /* index 127 is the second word's top bit */
	CHECK_EQ(walk(&s, got), 4);
	CHECK_EQ(got[0], 0);
	CHECK_EQ(got[1], 63);
	CHECK_EQ(got[2], 64);
	CHECK_EQ(got[3], MAX_HARTS - 1);
	CHECK_EQ(hartset_next(&s, 1), 63);
	CHECK_EQ(hartset_next(&s, 65), MAX_HARTS - 1);
	hartset_clear(&s, 64);
	CHECK(!hartset_test(&s, 64));
	CHECK_EQ(hartset_popcount(&s), 3);

	hartset_first_n(&t, 65); /* 0..64: one bit into the second word */
	CHECK_EQ(t.w[0], ~0ULL);
	CHECK_EQ(t.w[1], 1);
	CHECK_EQ(hartset_popcount(&t), 65);
	hartset_first_n(&t, 64);
	CHECK_EQ(t.w[0], ~0ULL);
	CHECK_EQ(t.w[1], 0);
	hartset_first_n(&t, MAX_HARTS);
	CHECK_EQ(hartset_popcount(&t), MAX_HARTS);
	struct hartset full;
	hartset_fill(&full);
	CHECK(hartset_equal(&t, &full));
	hartset_first_n(&t, 0);
	CHECK(hartset_empty(&t));
}

static void test_and_or_andnot(void)
{
	struct hartset a = HARTSET_EMPTY, b = HARTSET_EMPTY, d;
	hartset_set(&a, 3);
	hartset_set(&a, 70);
	hartset_set(&b, 70);
	hartset_set(&b, 100);
	hartset_and(&d, &a, &b);
	CHECK_EQ(hartset_popcount(&d), 1);
	CHECK(hartset_test(&d, 70));
	hartset_or(&d, &a, &b);
	CHECK_EQ(hartset_popcount(&d), 3);
	hartset_andnot(&d, &a, &b);
	CHECK_EQ(hartset_popcount(&d), 1);
	CHECK(hartset_test(&d, 3));
	hartset_and(&a, &a, &b); /* in place */
	CHECK(hartset_test(&a, 70) && !hartset_test(&a, 3));
	hartset_only(&d, 127);
	CHECK_EQ(hartset_popcount(&d), 1);
	CHECK(hartset_test(&d, 127));
	CHECK(!hartset_equal(&d, &a));
}

static void test_atomic_forms(void)
{
	struct hartset s = HARTSET_EMPTY, src = HARTSET_EMPTY, got;
	hartset_atomic_set(&s, 5, __ATOMIC_SEQ_CST);
	hartset_atomic_set(&s, 90, __ATOMIC_SEQ_CST);
	CHECK(hartset_atomic_test(&s, 90, __ATOMIC_ACQUIRE));
	CHECK(!hartset_atomic_test(&s, 91, __ATOMIC_ACQUIRE));
	CHECK(!hartset_atomic_empty(&s));
	hartset_atomic_clear(&s, 5, __ATOMIC_RELAXED);
	CHECK(!hartset_test(&s, 5));
	hartset_set(&src, 64);
	hartset_set(&src, 1);
	hartset_atomic_or(&s, &src, __ATOMIC_SEQ_CST);
	CHECK_EQ(hartset_popcount(&s), 3);
	hartset_atomic_andnot(&s, &src, __ATOMIC_SEQ_CST);
	CHECK_EQ(hartset_popcount(&s), 1);
	hartset_load(&got, &s, __ATOMIC_ACQUIRE);
	CHECK(hartset_equal(&got, &s));
	hartset_exchange_zero(&s, &got, __ATOMIC_ACQ_REL);
	CHECK(hartset_atomic_empty(&s));
	CHECK_EQ(hartset_popcount(&got), 1);
	CHECK(hartset_test(&got, 90));
}

static void test_dense_ids_one_chunk(void)
{
	static const u32 ids[] = {0, 1, 2, 3, 4, 5, 6, 7};
	unsigned long m[MAX_HARTS], b[MAX_HARTS];
	struct hartset s = {{0xfe}};
	set_ids(ids, 8);
	CHECK_EQ(harts_sbi_chunks(&s, m, b), 1);
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
	struct hartset s;
	set_ids(ids, 5);
	hartset_first_n(&s, 5);
	u32 n = harts_sbi_chunks(&s, m, b);
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
	struct hartset s;
	for (u32 i = 0; i < 64; i++) ids[i] = 63 - i;
	set_ids(ids, 64);
	hartset_first_n(&s, 64);
	CHECK_EQ(harts_sbi_chunks(&s, m, b), 1);
	CHECK_EQ(m[0], ~0UL);
	host_this_hart = 63; /* hart id 0 */
	unsigned long base, mask = harts_other_sbi_mask(&base);
	CHECK_EQ(mask, ~1UL);
	CHECK_EQ(base, 0);
	host_this_hart = 0;
}

/* Every hart the width allows, ids as QEMU virt gives them (the boot hart, index 0, may be any id):
 * MAX_HARTS / 64 chunks, each full, and the others set has every index but the caller's. */
static void test_all_max_harts(void)
{
	u32 ids[MAX_HARTS];
	unsigned long m[MAX_HARTS], b[MAX_HARTS];
	struct hartset s, others;
	for (u32 i = 0; i < MAX_HARTS; i++) ids[i] = (i + 77) % MAX_HARTS;
	set_ids(ids, MAX_HARTS);
	hartset_fill(&s);
	u32 n = harts_sbi_chunks(&s, m, b);
	CHECK_EQ(n, MAX_HARTS / 64);
	for (u32 k = 0; k < n; k++) CHECK_EQ(m[k], ~0UL);
	host_this_hart = MAX_HARTS - 1;
	harts_online_others(&others);
	CHECK_EQ(hartset_popcount(&others), MAX_HARTS - 1);
	CHECK(!hartset_test(&others, MAX_HARTS - 1));
	n = harts_sbi_chunks(&others, m, b);
	u64 total = 0;
	for (u32 k = 0; k < n; k++) total += (u64)__builtin_popcountl(m[k]);
	CHECK_EQ(total, MAX_HARTS - 1);
	host_this_hart = 0;
}

static void test_empty_set(void)
{
	static const u32 ids[] = {5};
	unsigned long m[MAX_HARTS], b[MAX_HARTS], base = 7;
	struct hartset s = HARTSET_EMPTY;
	set_ids(ids, 1);
	CHECK_EQ(harts_sbi_chunks(&s, m, b), 0);
	CHECK_EQ(harts_other_sbi_mask(&base), 0);
	CHECK_EQ(base, 0);
}

int main(void)
{
	printf("# MAX_HARTS %d, %d words\n", MAX_HARTS, HARTSET_WORDS);
	htest_begin("hart_masks", 8);
	htest_run("set_ops_across_words", test_set_ops_across_words);
	htest_run("and_or_andnot", test_and_or_andnot);
	htest_run("atomic_forms", test_atomic_forms);
	htest_run("dense_ids_one_chunk", test_dense_ids_one_chunk);
	htest_run("ids_64_apart_split", test_ids_64_apart_split);
	htest_run("all_64_harts", test_all_64_harts);
	htest_run("all_max_harts", test_all_max_harts);
	htest_run("empty_set", test_empty_set);
	return htest_end();
}

/* t_malloc: the C library a user program gets (picolibc's printf, snprintf, qsort, assert, string.h and
 * stdlib.h over our hooks) and the shm-backed heap: many small blocks, alignment, realloc up to 64 MiB
 * growing in place at the heap's top, shrinking when the top is freed, and quota exhaustion giving NULL
 * with errno ENOMEM. Big-heap and quota cases run in children spawned with the quota they need. */
#include "user/vmk.h"

#define PROG "/t_malloc"
#define MiB (1UL << 20)
#define BIG_QUOTA_PAGES VMK_MAX_QUOTA_PAGES /* 64 MiB, plus the kernel's copy when the object moves */
#define SMALL_QUOTA_PAGES 2048UL          /* 8 MiB */

static void test_stdio_formats(void)
{
	char buf[64];
	const char *want = "  -42|ab  |deadbeef|xyz|q|%";
	CHECK_EQ(snprintf(buf, sizeof(buf), "%5d|%-4s|%llx|%.3s|%c|%%", -42, "ab", 0xdeadbeefULL, "xyzzy", 'q'),
		 strlen(want));
	CHECK(strcmp(buf, want) == 0);
	want = "18446744073709551615 -9223372036854775808 00000abc 0x1000";
	CHECK_EQ(snprintf(buf, sizeof(buf), "%lu %ld %08lx %p", 18446744073709551615UL, -9223372036854775807L - 1,
			  0xabcUL, (void *)0x1000),
		 strlen(want));
	CHECK(strcmp(buf, want) == 0);
	/* Truncation: the return value is the length that would have been written, the buffer ends in NUL. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation" /* truncating is what is tested */
	CHECK_EQ(snprintf(buf, 8, "%s", "0123456789"), 10);
#pragma GCC diagnostic pop
	CHECK(strcmp(buf, "0123456") == 0);
	CHECK_EQ(printf("# t_malloc: printf returns %d\n", 12345), strlen("# t_malloc: printf returns 12345\n"));
	CHECK_EQ(dprintf(2, "# t_malloc: dprintf to stderr\n"), strlen("# t_malloc: dprintf to stderr\n"));
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;
	return x < y ? -1 : x > y;
}

struct named {
	char name[8];
	int value;
};

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static void test_qsort_stdlib_string(void)
{
	enum { N = 4096 };
	static u64 v[N];
	u64 seed = 7, sum = 0, xor = 0;
	for (int i = 0; i < N; i++) {
		v[i] = rng_next(&seed) % 100000;
		sum += v[i];
		xor ^= v[i];
	}
	qsort(v, N, sizeof(v[0]), cmp_u64);
	u64 sum2 = 0, xor2 = 0;
	bool sorted = true;
	for (int i = 0; i < N; i++) {
		sum2 += v[i];
		xor2 ^= v[i];
		if (i && v[i - 1] > v[i]) sorted = false;
	}
	CHECK(sorted);
	CHECK_EQ(sum2, sum);
	CHECK_EQ(xor2, xor);

	struct named items[] = {{"pear", 3}, {"apple", 1}, {"fig", 2}, {"zucchini", 0}};
	qsort(items, ARRAY_SIZE(items), sizeof(items[0]), cmp_named);
	CHECK(strcmp(items[0].name, "apple") == 0 && strcmp(items[1].name, "fig") == 0);
	CHECK(strcmp(items[2].name, "pear") == 0 && items[3].value == 0);

	char *end;
	CHECK_EQ(strtol("  -0x7fz", &end, 16), -0x7f);
	CHECK_EQ(*end, 'z');
	CHECK_EQ(strtoul("4294967296", NULL, 10), 4294967296UL);
	CHECK_EQ(atoi("123abc"), 123);
	CHECK_EQ(labs(-5L), 5);
	char text[] = "alpha,beta,,gamma";
	CHECK(strstr(text, "beta") == text + 6);
	CHECK(memchr(text, 'g', sizeof(text)) == text + 12);
	char *save, *tok = strtok_r(text, ",", &save);
	CHECK(tok && strcmp(tok, "alpha") == 0);
	tok = strtok_r(NULL, ",", &save);
	CHECK(tok && strcmp(tok, "beta") == 0);
	tok = strtok_r(NULL, ",", &save);
	CHECK(tok && strcmp(tok, "gamma") == 0);
	CHECK(strtok_r(NULL, ",", &save) == NULL);
	char copy[16];
	CHECK_EQ(strlen(strncpy(copy, "abc", sizeof(copy))), 3);
	CHECK_EQ(memcmp(copy, "abc\0\0", 5), 0);
	/* errno is thread-local in picolibc: it only works because crt0 points tp at the TLS block. */
	errno = 0;
	CHECK_EQ(strtoul("99999999999999999999999", NULL, 10), ~0UL);
	CHECK_EQ(errno, ERANGE);
}

static u8 fill_byte(u64 block, u64 i) { return (u8)(block * 131 + i * 7 + 1); }

static bool block_intact(const u8 *p, u64 block, u64 n)
{
	for (u64 i = 0; i < n; i++)
		if (p[i] != fill_byte(block, i)) return false;
	return true;
}

static void test_small_blocks(void)
{
	enum { N = 1000 };
	static u8 *blk[N];
	static u64 len[N];
	u64 seed = 99;
	for (int i = 0; i < N; i++) {
		len[i] = 1 + rng_next(&seed) % 3000;
		blk[i] = malloc(len[i]);
		REQUIRE(blk[i] != NULL);
		CHECK_EQ((uptr)blk[i] % 16, 0);
		for (u64 j = 0; j < len[i]; j++) blk[i][j] = fill_byte((u64)i, j);
	}
	struct heap_stats st;
	heap_get_stats(&st);
	CHECK(st.handle > 0 && st.size > 64 * 1024);
	CHECK_EQ(st.moves, 0); /* 1000 blocks of <= 3000 bytes fit the heap's initial 2 MiB reservation */
	struct vmk_shm_info info;
	CHECK_EQ(vmk_shm_info(st.handle, &info), 0);
	CHECK_EQ(info.size, st.size);
	/* Free every other block, grow or shrink the rest, and check nobody's bytes were touched. */
	for (int i = 0; i < N; i += 2) {
		free(blk[i]);
		blk[i] = NULL;
	}
	bool intact = true;
	for (int i = 1; i < N; i += 2) {
		u64 n = 1 + rng_next(&seed) % 6000;
		u8 *q = realloc(blk[i], n);
		REQUIRE(q != NULL);
		if (!block_intact(q, (u64)i, MIN(n, len[i]))) intact = false;
		blk[i] = q;
		len[i] = n;
		for (u64 j = 0; j < n; j++) q[j] = fill_byte((u64)i, j);
	}
	for (int i = 0; i < N; i += 2) {
		blk[i] = calloc(len[i], 1);
		REQUIRE(blk[i] != NULL);
		for (u64 j = 0; j < len[i]; j++)
			if (blk[i][j]) intact = false;
		for (u64 j = 0; j < len[i]; j++) blk[i][j] = fill_byte((u64)i, j);
	}
	for (int i = 0; i < N; i++)
		if (!block_intact(blk[i], (u64)i, len[i])) intact = false;
	CHECK(intact);
	/* Free in a scrambled order: merging must still give one free heap that shrinks back. */
	for (int i = 0; i < N; i++) {
		int j = (int)(rng_next(&seed) % N);
		u8 *t = blk[i];
		blk[i] = blk[j];
		blk[j] = t;
	}
	for (int i = 0; i < N; i++) free(blk[i]);
	struct heap_stats after;
	heap_get_stats(&after);
	CHECK_EQ(after.used, 0);
	CHECK(after.shrinks > st.shrinks);
	CHECK(after.size <= 320 * 1024 && after.size < st.size);
	CHECK_EQ(vmk_shm_info(st.handle, &info), 0);
	CHECK_EQ(info.size, after.size);
	CHECK_EQ(after.base, st.base); /* the heap never moves in the task's address space */
	CHECK(malloc(0) != NULL);
}

static void test_aligned(void)
{
	for (size_t align = 32; align <= 65536; align *= 2) {
		void *p = memalign(align, 100);
		REQUIRE(p != NULL);
		CHECK_EQ((uptr)p % align, 0);
		memset(p, 0xab, 100);
		void *q = aligned_alloc(align, align * 2);
		REQUIRE(q != NULL);
		CHECK_EQ((uptr)q % align, 0);
		memset(q, 0xcd, align * 2);
		CHECK_EQ(((u8 *)p)[99], 0xab);
		free(p);
		free(q);
	}
	void *r = NULL;
	CHECK_EQ(posix_memalign(&r, 4096, 10), 0);
	CHECK(r && (uptr)r % 4096 == 0);
	free(r);
	CHECK_EQ(posix_memalign(&r, 24, 10), EINVAL);
	/* Alignments near 2^64 refuse cleanly: align + n once wrapped to a small request, and the header of
	 * the "aligned" block was written far outside the heap (the task was killed). */
	errno = 0;
	CHECK(memalign((size_t)1 << 63, (size_t)1 << 63) == NULL && errno == ENOMEM);
	CHECK(memalign((size_t)1 << 62, 16) == NULL && errno == ENOMEM);
	CHECK(aligned_alloc((size_t)1 << 40, (size_t)1 << 40) == NULL);
	CHECK_EQ(posix_memalign(&r, (size_t)1 << 63, 1), ENOMEM);
	struct heap_stats st;
	heap_get_stats(&st);
	CHECK_EQ(st.used, 32); /* only test_small_blocks' malloc(0): one minimum-size block */
}

/* An array grown by realloc in 100 KiB steps: the heap grows by doubling and keeps what it grew, instead
 * of handing the surplus back at once and asking for it again on the next step. */
static void test_grow_steps(void)
{
	struct heap_stats before, after;
	heap_get_stats(&before);
	u8 *v = NULL;
	for (u64 n = 100 * 1024; n <= 1000 * 1024; n += 100 * 1024) {
		u8 *w = realloc(v, n);
		REQUIRE(w != NULL);
		memset(w + n - 100 * 1024, (int)(n >> 10), 100 * 1024);
		v = w;
	}
	heap_get_stats(&after);
	CHECK_EQ(after.shrinks, before.shrinks);
	CHECK(after.grows - before.grows <= 5); /* 128 KiB .. 2 MiB by doubling */
	for (u64 n = 100 * 1024; n <= 1000 * 1024; n += 100 * 1024) CHECK_EQ(v[n - 1], (u8)(n >> 10));
	free(v);
	heap_get_stats(&after);
	CHECK_EQ(after.shrinks, before.shrinks + 1);
}

/* Words at the start and end of each 4 KiB page of [p, p + n): enough to see a page lost or misplaced. */
static void mark_pages(u64 *p, u64 n, u64 salt)
{
	for (u64 off = 0; off < n; off += 4096) {
		p[off / 8] = off ^ salt;
		p[(off + 4088) / 8] = ~off ^ salt;
	}
}

static u64 pages_marked(const u64 *p, u64 n, u64 salt)
{
	u64 good = 0;
	for (u64 off = 0; off < n; off += 4096) good += p[off / 8] == (off ^ salt) && p[(off + 4088) / 8] == (~off ^ salt);
	return good;
}

/* Runs in a child with BIG_QUOTA_PAGES. Returns 0 or the number of the failed step. */
static int big_child(void)
{
	u64 *p = malloc(MiB);
	if (!p) return 1;
	mark_pages(p, MiB, 1);
	struct heap_stats st0;
	heap_get_stats(&st0);
	for (u64 n = 2 * MiB; n <= 64 * MiB; n *= 2) {
		u64 *q = realloc(p, n);
		if (!q) return 2;
		if (q != p) return 3; /* the only block sits at the heap's top: it grows where it is */
		if (pages_marked(q, n / 2, 1) != n / 2 / 4096) return 4;
		mark_pages(q, n, 1);
	}
	struct heap_stats st;
	heap_get_stats(&st);
	struct vmk_shm_info info;
	if (vmk_shm_info(st.handle, &info) || info.size != st.size || st.size < 64 * MiB) return 5;
	if (st.base != st0.base || st.grows <= st0.grows) return 6;
	printf("# t_malloc big: 64 MiB block at %p, heap %llu KiB after %llu grows (%llu past the kernel's "
	       "reservation)\n", (void *)p, (unsigned long long)st.size >> 10, (unsigned long long)st.grows,
	       (unsigned long long)st.moves);
	/* Shrinking the block at the top gives the pages back. */
	u64 *q = realloc(p, MiB);
	if (q != p || pages_marked(q, MiB, 1) != MiB / 4096) return 7;
	heap_get_stats(&st);
	if (st.size > 2 * MiB || vmk_shm_info(st.handle, &info) || info.size != st.size) return 8;
	free(q);
	/* 64 MiB in one malloc, written whole, then freed. */
	u8 *b = malloc(64 * MiB);
	if (!b) return 9;
	memset(b, 0x5a, 64 * MiB);
	for (u64 off = 0; off < 64 * MiB; off += 4096 * 7)
		if (b[off] != 0x5a) return 10;
	free(b);
	heap_get_stats(&st);
	if (st.used || st.size > 512 * 1024) return 11;
	return 0;
}

/* Runs in a child with SMALL_QUOTA_PAGES. Returns 0 or the number of the failed step. */
static int quota_child(void)
{
	errno = 0;
	if (malloc(16 * MiB) != NULL || errno != ENOMEM) return 1;
	if (malloc((size_t)-1 / 2) != NULL || errno != ENOMEM) return 2;
	volatile size_t huge = (size_t)1 << 40; /* volatile: GCC would reject the constant overflow at build time */
	if (calloc(huge, huge) != NULL || errno != ENOMEM) return 3;
	/* Fill the quota in 256 KiB steps: the step that does not fit fails cleanly. Past the heap's initial
	 * reservation each growth is a vrealloc that moves the kernel's area's pages (no copy) and charges
	 * only the added ones, so nearly the whole quota is usable: 31 of 32 chunks here (block headers, the
	 * heap's page tables and this task's other objects take the rest). */
	static u8 *chunks[64];
	int n = 0;
	errno = 0;
	while (n < 64 && (chunks[n] = malloc(256 * 1024)) != NULL) {
		memset(chunks[n], n + 1, 256 * 1024);
		n++;
	}
	printf("# t_malloc quota: %d chunks of 256 KiB under an 8 MiB quota\n", n);
	if (n < 28 || n >= 32 || errno != ENOMEM) return 4;
	/* A failed realloc returns NULL and leaves the block as it was. */
	errno = 0;
	if (realloc(chunks[n - 1], 16 * MiB) != NULL || errno != ENOMEM) return 5;
	for (int i = 0; i < n; i++)
		for (u64 j = 0; j < 256 * 1024; j += 509)
			if (chunks[i][j] != (u8)(i + 1)) return 6;
	for (int i = 0; i < n; i++) free(chunks[i]);
	struct heap_stats st;
	heap_get_stats(&st);
	if (st.used || st.size > 512 * 1024) return 7;
	/* Everything given back: the quota serves a big block again. */
	void *again = malloc(6 * MiB);
	if (!again) return 8;
	free(again);
	return 0;
}

static int run_child(const char *arg, u64 quota)
{
	long tid = vmk_spawn(PROG, (const char *const[]){PROG, arg, NULL}, NULL, 0, quota);
	if (tid < 0) {
		printf("# t_malloc: spawn %s: %s\n", arg, errno_name(tid));
		return WAIT_FAILED;
	}
	return wait_status(tid);
}

static void test_64mib(void) { CHECK_EQ(run_child("big", BIG_QUOTA_PAGES), 0); }
static void test_quota(void) { CHECK_EQ(run_child("quota", SMALL_QUOTA_PAGES), 0); }
/* A failed assert ends the task through abort(): status 128 + SIGABRT. */
static void test_assert(void) { CHECK_EQ(run_child("assert", 0), 128 + 6); }

static struct vmk_vm_stats start;

static void test_leak_check(void)
{
	struct vmk_vm_stats now;
	struct heap_stats st;
	CHECK_EQ(vmk_vm_stats(&now), 0);
	heap_get_stats(&st);
	/* The only area left is this task's own heap: one area of st.size bytes. */
	CHECK_EQ(now.live_areas, start.live_areas + 1);
	CHECK_EQ(now.live_pages, start.live_pages + st.size / 4096);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int r = -1;
		if (strcmp(argv[1], "big") == 0) r = big_child();
		else if (strcmp(argv[1], "quota") == 0) r = quota_child();
		else if (strcmp(argv[1], "assert") == 0) assert(argc == 1); /* fails: argc is 2 */
		if (r) printf("# t_malloc %s child: step %d failed\n", argv[1], r);
		return r;
	}
	vmk_vm_stats(&start);
	ktap_begin("t_malloc");
	ktap_run("stdio_formats", test_stdio_formats);
	ktap_run("qsort_stdlib_string", test_qsort_stdlib_string);
	ktap_run("small_blocks", test_small_blocks);
	ktap_run("aligned", test_aligned);
	ktap_run("grow_steps", test_grow_steps);
	ktap_run("malloc_realloc_64mib", test_64mib);
	ktap_run("quota_enomem", test_quota);
	ktap_run("assert_aborts", test_assert);
	ktap_run("leak_check", test_leak_check);
	return ktap_end();
}

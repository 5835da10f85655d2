/* test_va_index cases for the busy map of live vmalloc areas: a million random operations against a
 * per-key presence model, growth blocked and resumed, and the spread of strided keys. */
#define HTEST_PART
#include "tests/host/test_va_index.h"

#define BUSY_KEYS (1 << 17)
static struct va_busy_link links[BUSY_KEYS], spare;
static bool present[BUSY_KEYS];
static u32 seen_epoch[BUSY_KEYS];
static u32 epoch;
static long foreach_bad;

static u64 busy_key(u64 i) { return VMALLOC_START + i * 2 * PAGE_SIZE; }

static void mark_seen(void *ctx, struct va_busy_link *l)
{
	(void)ctx;
	long i = l - links;
	if (i < 0 || i >= BUSY_KEYS || !present[i] || seen_epoch[i] == epoch || l->key != busy_key(i))
		foreach_bad++;
	else
		seen_epoch[i] = epoch;
}

static bool busy_matches_model(struct va_busy *m, long model_count)
{
	epoch++;
	foreach_bad = 0;
	va_busy_for_each(m, mark_seen, NULL);
	long seen = 0;
	for (long i = 0; i < BUSY_KEYS; i++)
		seen += seen_epoch[i] == epoch;
	return foreach_bad == 0 && seen == model_count && va_busy_count(m) == (u64)model_count;
}

void test_va_busy_vs_model(void)
{
	struct va_busy m;
	long count = 0, failures = 0, overloaded = 0;

	va_busy_init(&m);
	memset(present, 0, sizeof(present));
	for (long op = 0; op < 1000000 && failures < 5; op++) {
		u64 i = rnd_below(BUSY_KEYS), r = rnd_below(10);
		/* A stretch with the table hook failing: the map must keep working, unresized. */
		fail_blocks = op >= 20000 && op < 60000;
		u64 buckets = va_busy_buckets(&m);
		overloaded += fail_blocks && (u64)count > buckets;
		bool ok;
		if (r < 4) {
			int got = va_busy_insert(&m, present[i] ? &spare : &links[i], busy_key(i));
			ok = got == (present[i] ? -EEXIST : 0);
			if (!present[i] && got == 0)
				count++, present[i] = true;
		} else if (r < 7) {
			ok = va_busy_find(&m, busy_key(i)) == (present[i] ? &links[i] : NULL);
			ok = ok && va_busy_find(&m, busy_key(i) + PAGE_SIZE) == NULL; /* never-inserted key */
		} else {
			ok = va_busy_remove(&m, busy_key(i)) == (present[i] ? &links[i] : NULL);
			if (present[i])
				count--, present[i] = false;
		}
		if (fail_blocks && va_busy_buckets(&m) != buckets)
			ok = false;
		if (!ok || va_busy_count(&m) != (u64)count) {
			printf("# busy map mismatch at op %ld\n", op);
			failures++;
		}
		if (op % 100000 == 0 && !busy_matches_model(&m, count))
			failures++;
	}
	fail_blocks = false;
	CHECK_EQ(failures, 0);
	CHECK(busy_matches_model(&m, count));
	CHECK(overloaded > 1000);                  /* the failing stretch did block growth... */
	CHECK(va_busy_buckets(&m) >= (u64)count); /* ...and growth caught up afterwards */
	printf("# %ld entries in %llu buckets, longest chain %llu\n", count,
	       (unsigned long long)va_busy_buckets(&m), (unsigned long long)va_busy_longest_chain(&m));
	va_busy_destroy(&m);
	CHECK_EQ(blocks_out, 0);
	CHECK_EQ(block_size_mismatch, 0);
	CHECK_EQ(va_busy_count(&m), 0);
}

void test_va_busy_growth_and_spread(void)
{
	struct va_busy m;
	enum { N = 1 << 16 };

	va_busy_init(&m);
	fail_blocks = true; /* no growth at all: still correct, just long chains */
	for (u64 i = 0; i < 1000; i++)
		CHECK_EQ(va_busy_insert(&m, &links[i], busy_key(i)), 0);
	CHECK_EQ(va_busy_buckets(&m), VA_BUSY_INITIAL_BUCKETS);
	for (u64 i = 0; i < 1000; i++)
		CHECK(va_busy_find(&m, busy_key(i)) == &links[i]);
	fail_blocks = false;
	for (u64 i = 1000; i < N; i++)
		CHECK_EQ(va_busy_insert(&m, &links[i], busy_key(i)), 0);
	CHECK_EQ(va_busy_buckets(&m), N); /* load factor back to <= 1 */
	for (u64 i = 0; i < N; i++)
		CHECK(va_busy_remove(&m, busy_key(i)) == &links[i]);
	/* Strided keys (8 KiB areas, 64 KiB, 2 MiB-aligned huge mappings...) filling the 64 GiB
	 * region must still spread: a hash that just masked the page number would pile them into a
	 * fraction of the buckets. */
	static const u64 strides[] = { 2, 4, 16, 512, 4096 };
	for (unsigned k = 0; k < ARRAY_SIZE(strides); k++) {
		u64 n = MIN((u64)N, (VMALLOC_SIZE / PAGE_SIZE) / strides[k]);
		for (u64 i = 0; i < n; i++)
			CHECK_EQ(va_busy_insert(&m, &links[i], VMALLOC_START + i * strides[k] * PAGE_SIZE), 0);
		u64 longest = va_busy_longest_chain(&m);
		if (longest > 3)
			printf("# stride %llu pages: longest chain %llu\n", (unsigned long long)strides[k],
			       (unsigned long long)longest);
		CHECK(longest <= 3);
		for (u64 i = 0; i < n; i++)
			CHECK(va_busy_remove(&m, VMALLOC_START + i * strides[k] * PAGE_SIZE) == &links[i]);
	}
	CHECK_EQ(va_busy_count(&m), 0);
	CHECK(va_busy_remove(&m, busy_key(0)) == NULL);
	va_busy_destroy(&m);
	CHECK_EQ(blocks_out, 0);
}

/* A hart allocates from ranges it cached or carved side by side, so every key of one region must go to
 * the same map (the same stripe lock, whose line then stays with that hart), and neighbouring regions,
 * where another hart's ranges lie, must spread over the maps. Shards hashed from each key alone (as the
 * stripes once were) send consecutive pages to different maps; this fails on that. */
void test_va_busy_shard_follows_region(void)
{
	enum { SHARD_BITS = 4, SHARDS = 1 << SHARD_BITS };
	const u64 region = 1ULL << VA_BUSY_REGION_SHIFT;

	for (u64 r = 0; r < 4096; r += 37) {
		u64 base = VMALLOC_START + r * region;
		u32 s = va_busy_shard(base, SHARD_BITS);
		for (u64 off = 0; off < region; off += PAGE_SIZE) CHECK_EQ(va_busy_shard(base + off, SHARD_BITS), s);
	}
	/* Any 16 consecutive regions reach at least 12 of the 16 maps, and 2 MiB-aligned ones (huge
	 * mappings) reach them all over 64 blocks. */
	for (u64 first = 0; first < 1024; first++) {
		u32 seen = 0;
		for (u64 r = first; r < first + SHARDS; r++)
			seen |= 1u << va_busy_shard(VMALLOC_START + r * region, SHARD_BITS);
		CHECK(__builtin_popcount(seen) >= 12);
	}
	u32 seen = 0;
	for (u64 b = 0; b < 64; b++) seen |= 1u << va_busy_shard(VMALLOC_START + b * (2ULL << 20), SHARD_BITS);
	CHECK_EQ(seen, 0xffffu);
}

/* Keys split over 16 maps by va_busy_shard, as vmalloc's busy stripes split them: every map must still
 * spread its share over all its buckets. Shards taken from the hash's top bits (as the stripes once
 * were) leave each map 1/16 of its buckets and chains of ~16; this fails on that. */
void test_va_busy_shards_keep_spread(void)
{
	enum { SHARD_BITS = 4, SHARDS = 1 << SHARD_BITS, N = 1 << 16 };
	static struct va_busy maps[SHARDS];
	static const u64 strides[] = { 1, 2, 3, 5, 17, 512 };

	for (unsigned k = 0; k < ARRAY_SIZE(strides); k++) {
		u64 per_shard[SHARDS] = {0}, longest = 0;
		for (unsigned s = 0; s < SHARDS; s++) va_busy_init(&maps[s]);
		for (u64 i = 0; i < N; i++) {
			u64 key = VMALLOC_START + i * strides[k] * PAGE_SIZE;
			u32 s = va_busy_shard(key, SHARD_BITS);
			CHECK(s < SHARDS);
			per_shard[s]++;
			CHECK_EQ(va_busy_insert(&maps[s], &links[i], key), 0);
		}
		for (unsigned s = 0; s < SHARDS; s++) {
			CHECK(per_shard[s] > N / SHARDS / 2); /* the shards share the keys about evenly */
			longest = MAX(longest, va_busy_longest_chain(&maps[s]));
		}
		if (longest > 6)
			printf("# stride %llu pages over %d shards: longest chain %llu\n",
			       (unsigned long long)strides[k], SHARDS, (unsigned long long)longest);
		CHECK(longest <= 6);
		for (u64 i = 0; i < N; i++) {
			u64 key = VMALLOC_START + i * strides[k] * PAGE_SIZE;
			CHECK(va_busy_remove(&maps[va_busy_shard(key, SHARD_BITS)], key) == &links[i]);
		}
		for (unsigned s = 0; s < SHARDS; s++) va_busy_destroy(&maps[s]);
	}
	CHECK_EQ(blocks_out, 0);
}

/* Busy-area map of the vmalloc arena: intrusive hash from an area's start address to its owner. */
#ifndef VM_VA_BUSY_H
#define VM_VA_BUSY_H

#include "lib/types.h"

/* Bucket arrays come from vm's page source (vm_block_alloc, vm/page_cache.h). */
/* Embedded in the caller's area object: inserting never allocates. */
struct va_busy_link {
	u64 key;
	struct va_busy_link *next;
};

#define VA_BUSY_INITIAL_BUCKETS 16
/* At most 2^40 buckets: keeps nbuckets * sizeof(void *) far from overflow on any target. */
#define VA_BUSY_MAX_BUCKET_BITS 40

/* The hash a map buckets by: 2^64 / golden ratio times the page number spreads sequential and strided
 * page numbers evenly over the top bits, and a bucket index is the top log2(nbuckets) bits. */
static inline u64 va_busy_hash(u64 key) { return (key >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ULL; }

/* Which of 2^bits maps a key belongs in, for a caller that splits its keys over several maps (each under
 * its own lock). Every key of one VA_BUSY_REGION_SHIFT-aligned region goes to the same map: a hart that
 * allocates from ranges it cached or carved near one another keeps taking the one lock, whose line stays
 * in its core's cache, while another hart working elsewhere takes another (hashing each key on its own
 * sent every hart to every map, and each lock and bucket line bounced between cores on nearly every
 * call). Regions are spread over the maps by the golden-ratio hash of their number, so strided or
 * aligned regions (2 MiB-aligned huge mappings) still reach every map; a map's bucket index is the page
 * number's hash, not the region's, so each map still spreads its keys over all its buckets (host test
 * va_busy_shards_keep_spread). 1 <= bits <= 32. */
#define VA_BUSY_REGION_SHIFT 20
static inline u32 va_busy_shard(u64 key, unsigned bits)
{
	return (u32)(((key >> VA_BUSY_REGION_SHIFT) * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/*
 * Chained hash, load kept <= 1 by doubling. If a doubling cannot get memory the map keeps
 * working with longer chains and tries again once the count has doubled. Not thread-safe:
 * callers serialise. Starts on an embedded table so init cannot fail, hence never copy a map.
 */
struct va_busy {
	struct va_busy_link **buckets;
	u64 nbuckets;
	u64 count;
	u64 grow_at;   /* next doubling attempt once count exceeds this */
	unsigned shift; /* 64 - log2(nbuckets): the hash keeps the product's top bits */
	struct va_busy_link *initial[VA_BUSY_INITIAL_BUCKETS];
};

/* Makes map empty on its embedded table of VA_BUSY_INITIAL_BUCKETS buckets: allocates nothing and cannot
 * fail. It frees nothing either: re-initialising a map that has grown leaks its bucket array (host tests
 * call va_busy_destroy). Any context; nothing else may be using map. */
void va_busy_init(struct va_busy *map);
#ifdef HOST_TEST /* test support: only host tests call these */
/* Give the bucket array back; the map is empty afterwards (links are not touched). */
void va_busy_destroy(struct va_busy *map);
#endif

/* -EEXIST (and nothing changes) if key is already present. */
int va_busy_insert(struct va_busy *map, struct va_busy_link *link, u64 key);
struct va_busy_link *va_busy_find(const struct va_busy *map, u64 key);
/* Unlinks and returns the entry for key, or NULL if absent. */
struct va_busy_link *va_busy_remove(struct va_busy *map, u64 key);

static inline u64 va_busy_count(const struct va_busy *map) { return map->count; }
static inline u64 va_busy_buckets(const struct va_busy *map) { return map->nbuckets; }
#ifdef HOST_TEST /* test support: only host tests call these */
/* Diagnostics: the longest chain, to see whether the hash spreads the keys. O(buckets). */
u64 va_busy_longest_chain(const struct va_busy *map);
#endif

/* Calls fn for every entry, in no particular order; fn must not modify the map. */
void va_busy_for_each(const struct va_busy *map, void (*fn)(void *ctx, struct va_busy_link *link),
		      void *ctx);

#endif

/* Busy-area map: chained hash keyed by page number, grown by doubling, intrusive links. */
#include "vm/va_busy.h"
#include "vm/page_cache.h"
#include "lib/string.h"

static inline struct va_busy_link **bucket_of(const struct va_busy *map, u64 key)
{
	return &map->buckets[va_busy_hash(key) >> map->shift];
}

void va_busy_init(struct va_busy *map)
{
	memset(map->initial, 0, sizeof(map->initial));
	map->buckets = map->initial;
	map->nbuckets = VA_BUSY_INITIAL_BUCKETS;
	map->shift = 64 - ilog2_u64(VA_BUSY_INITIAL_BUCKETS);
	map->count = 0;
	map->grow_at = VA_BUSY_INITIAL_BUCKETS;
}

#ifdef HOST_TEST /* test support: only host tests call these */
void va_busy_destroy(struct va_busy *map)
{
	if (map->buckets != map->initial)
		vm_block_free(map->buckets, map->nbuckets * sizeof(*map->buckets));
	va_busy_init(map);
}
#endif

/* Off the hot path: it runs once per doubling of the population. Out of line and cold, so that insert,
 * which every vmalloc runs under a stripe lock, stays a leaf with no registers to save (it cost
 * fix_size ~26 instructions a loop inlined). */
static __attribute__((noinline, cold)) void grow(struct va_busy *map)
{
	u64 old_n = map->nbuckets, new_n = old_n * 2;
	struct va_busy_link **old = map->buckets, **table;

	if (map->shift <= 64 - VA_BUSY_MAX_BUCKET_BITS) {
		map->grow_at = ~(u64)0;
		return;
	}
	table = vm_block_alloc(new_n * sizeof(*table));
	if (!table) {
		/* Chains just get longer; try again when the population has doubled. */
		map->grow_at = map->count * 2;
		return;
	}
	memset(table, 0, new_n * sizeof(*table));
	map->buckets = table;
	map->nbuckets = new_n;
	map->shift--;
	for (u64 i = 0; i < old_n; i++) {
		struct va_busy_link *l = old[i];
		while (l) {
			struct va_busy_link *next = l->next;
			struct va_busy_link **b = bucket_of(map, l->key);
			l->next = *b;
			*b = l;
			l = next;
		}
	}
	if (old != map->initial)
		vm_block_free(old, old_n * sizeof(*old));
	map->grow_at = new_n;
}

int va_busy_insert(struct va_busy *map, struct va_busy_link *link, u64 key)
{
	struct va_busy_link **b = bucket_of(map, key);

	for (struct va_busy_link *l = *b; l; l = l->next)
		if (unlikely(l->key == key))
			return -EEXIST;
	link->key = key;
	link->next = *b;
	*b = link;
	if (unlikely(++map->count > map->grow_at))
		grow(map);
	return 0;
}

struct va_busy_link *va_busy_find(const struct va_busy *map, u64 key)
{
	struct va_busy_link *l = *bucket_of(map, key);

	while (l && l->key != key)
		l = l->next;
	return l;
}

struct va_busy_link *va_busy_remove(struct va_busy *map, u64 key)
{
	struct va_busy_link **p = bucket_of(map, key), *l;

	while ((l = *p) && l->key != key)
		p = &l->next;
	if (l) {
		*p = l->next;
		map->count--;
	}
	return l;
}

#ifdef HOST_TEST /* test support: only host tests call these */
u64 va_busy_longest_chain(const struct va_busy *map)
{
	u64 longest = 0;

	for (u64 i = 0; i < map->nbuckets; i++) {
		u64 len = 0;
		for (struct va_busy_link *l = map->buckets[i]; l; l = l->next)
			len++;
		longest = len > longest ? len : longest;
	}
	return longest;
}
#endif

void va_busy_for_each(const struct va_busy *map, void (*fn)(void *ctx, struct va_busy_link *link),
		      void *ctx)
{
	for (u64 i = 0; i < map->nbuckets; i++)
		for (struct va_busy_link *l = map->buckets[i]; l; l = l->next)
			fn(ctx, l);
}

/* Fixed-size object pool carved from 4 KiB pages, with reservation for paths that must not fail. */
#ifndef VM_NODE_POOL_H
#define VM_NODE_POOL_H

#include "lib/types.h"

/* Pages come from vm's page source (vm_block_alloc, vm/page_cache.h). */
#define NODE_POOL_PAGE_SIZE 4096UL

/*
 * Not thread-safe: callers serialise. Objects handed out are 16-byte aligned and uninitialised.
 * Pages are never returned while the pool lives (the vmalloc node population is long-lived and
 * recycling pages would need per-page accounting on the hot path).
 */
struct node_pool {
	void *free_list;      /* returned objects, linked through their first word */
	char *carve_next;     /* untouched tail of the newest page, handed out in order */
	char *carve_end;
	void *pages;          /* every page held, linked through a header at its start */
	size_t objsize;
	u64 in_use;
	u64 free_objects;     /* on free_list */
	u64 pages_held;
};

/* objsize is rounded up to 16; -EINVAL if it is 0 or does not fit a page with its header. */
int node_pool_init(struct node_pool *pool, size_t objsize);

/* NULL only when no object is cached and the page hook fails. */
void *node_pool_get(struct node_pool *pool);
/* Up to n objects into objs, as n node_pool_get calls would give them but in one pass (a magazine refill
 * takes 128 records: ~3,700 instructions one call at a time); returns how many (fewer only when a page
 * cannot be had). */
u32 node_pool_get_many(struct node_pool *pool, void **objs, u32 n);
void node_pool_put(struct node_pool *pool, void *obj);

#ifdef HOST_TEST /* test support: only host tests call these */
/* Make sure the next n gets succeed without calling the page hook; -ENOMEM if it cannot. */
int node_pool_reserve(struct node_pool *pool, u64 n);

/* Return every page (outstanding objects become invalid) and leave the pool empty but usable. */
void node_pool_release_all(struct node_pool *pool);
#endif

static inline u64 node_pool_in_use(const struct node_pool *pool) { return pool->in_use; }
static inline u64 node_pool_pages(const struct node_pool *pool) { return pool->pages_held; }
/* How many node_pool_get calls succeed before the page hook is needed: objects on the free list plus those
 * left to carve in the newest page. 0 for a pool whose init failed. Callers serialise, as for every call. */
u64 node_pool_available(const struct node_pool *pool);

#endif

/* Fixed-size object pool: O(1) get/put through a free list, pages carved lazily. */
#include "vm/node_pool.h"
#include "vm/page_cache.h"

#define OBJ_ALIGN 16UL
/* Header at the start of each page links the pages for release; padded so objects stay aligned. */
#define PAGE_HEADER OBJ_ALIGN

struct free_obj {
	struct free_obj *next;
};

int node_pool_init(struct node_pool *pool, size_t objsize)
{
	pool->free_list = NULL;
	pool->carve_next = pool->carve_end = NULL;
	pool->pages = NULL;
	pool->in_use = pool->free_objects = pool->pages_held = 0;
	pool->objsize = 0;
	if (objsize == 0 || objsize > NODE_POOL_PAGE_SIZE - PAGE_HEADER)
		return -EINVAL;
	pool->objsize = ALIGN_UP(objsize, OBJ_ALIGN);
	return 0;
}

/* Bytes left in the newest page's tail; both ends are NULL before the first page. */
static inline uptr carve_bytes(const struct node_pool *pool)
{
	return (uptr)pool->carve_end - (uptr)pool->carve_next;
}

static u64 carve_left(const struct node_pool *pool)
{
	return pool->objsize ? carve_bytes(pool) / pool->objsize : 0;
}

u64 node_pool_available(const struct node_pool *pool) { return pool->free_objects + carve_left(pool); }

/*
 * Objects are carved from a new page one at a time rather than threaded onto the free list up
 * front: no loop over the whole page, and the page's lines are only touched when used.
 */
static bool add_page(struct node_pool *pool)
{
	if (!pool->objsize)
		return false;
	char *page = vm_block_alloc_uninit(NODE_POOL_PAGE_SIZE); /* objects are the user's to initialise */
	if (!page)
		return false;
	*(void **)page = pool->pages;
	pool->pages = page;
	pool->pages_held++;
	/* Whatever was left of the previous page's tail goes to the free list, not to waste. */
	while (carve_bytes(pool) >= pool->objsize) {
		struct free_obj *o = (struct free_obj *)pool->carve_next;
		o->next = pool->free_list;
		pool->free_list = o;
		pool->free_objects++;
		pool->carve_next += pool->objsize;
	}
	pool->carve_next = page + PAGE_HEADER;
	pool->carve_end = page + NODE_POOL_PAGE_SIZE;
	return true;
}

/* The next object of the newest page's tail, after a new page when the tail is used up; NULL when no
 * page can be had. Does not count it in use. */
static void *carve(struct node_pool *pool)
{
	/* A pool whose init failed has objsize 0 and add_page refuses it. */
	if ((carve_bytes(pool) < pool->objsize || !pool->objsize) && !add_page(pool))
		return NULL;
	void *obj = pool->carve_next;
	pool->carve_next += pool->objsize;
	return obj;
}

void *node_pool_get(struct node_pool *pool)
{
	struct free_obj *o = pool->free_list;

	if (likely(o)) {
		pool->free_list = o->next;
		pool->free_objects--;
		pool->in_use++;
		return o;
	}
	void *obj = carve(pool);
	if (obj) pool->in_use++;
	return obj;
}

u32 node_pool_get_many(struct node_pool *pool, void **objs, u32 n)
{
	u32 got = 0;
	struct free_obj *o = pool->free_list;
	for (; got < n && o; o = o->next) objs[got++] = o;
	pool->free_list = o;
	pool->free_objects -= got;
	for (void *obj; got < n && (obj = carve(pool)); ) objs[got++] = obj;
	pool->in_use += got;
	return got;
}

void node_pool_put(struct node_pool *pool, void *obj)
{
	if (!obj)
		return;
	struct free_obj *o = obj;
	o->next = pool->free_list;
	pool->free_list = o;
	pool->free_objects++;
	pool->in_use--;
}

#ifdef HOST_TEST /* test support: only host tests call these */
int node_pool_reserve(struct node_pool *pool, u64 n)
{
	while (node_pool_available(pool) < n) {
		if (!add_page(pool))
			return -ENOMEM;
	}
	return 0;
}

void node_pool_release_all(struct node_pool *pool)
{
	void *page = pool->pages;

	while (page) {
		void *next = *(void **)page;
		vm_block_free(page, NODE_POOL_PAGE_SIZE);
		page = next;
	}
	pool->free_list = NULL;
	pool->carve_next = pool->carve_end = NULL;
	pool->pages = NULL;
	pool->in_use = pool->free_objects = pool->pages_held = 0;
}
#endif

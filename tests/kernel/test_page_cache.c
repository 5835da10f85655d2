/* Suite `page_cache`: the page source under vm/ (vm/page_cache.c). A hart's cache gives up and takes back
 * whole batches through the depot rather than page by page through the buddy allocator, the depot is
 * counted as cached memory, and an allocation the buddy allocator cannot serve gets the depot's pages
 * back: no request fails while the depot holds pages. */
#include "kernel/ktest.h"
#include "vm/buddy.h"
#include "vm/page_cache.h"
#include "vm/vmalloc_purge.h"

/* Pages taken one at a time and chained through their first word (no array to allocate), the chain
 * vm_free_chain gives back: its head, or 0. */
static u64 take_pages(u32 n, u32 *got)
{
	u64 head = 0;
	for (*got = 0; *got < n; (*got)++) {
		u64 pa = page_cache_alloc(PA_ANY_NODE);
		if (!pa) break;
		*(u64 *)vm_page_va(pa) = head;
		head = pa;
	}
	return head;
}

/* 2048 pages freed at once overflow the hart's cache (256): the overflow goes to the depot in batches of
 * 64, and taking 2048 again comes back out of it without the buddy allocator. */
static void depot_keeps_whole_batches(struct ktest *t)
{
	const u32 n = 2048;
	u64 free0 = buddy_free_pages() + page_cache_pages();
	u32 got;
	u64 chain = take_pages(n, &got);
	KT_ASSERT(t, got == n);
	u64 depot_before = page_cache_depot_pages();
	vm_free_chain(chain);
	u64 depot = page_cache_depot_pages();
	KT_EXPECT(t, depot % 64 == 0);
	KT_EXPECT(t, depot >= depot_before + n - 256 - 64); /* all but what the cache keeps */
	KT_EXPECT(t, buddy_free_pages() + page_cache_pages() == free0); /* counted as free memory */
	u64 buddy0 = buddy_free_pages();
	chain = take_pages(n, &got);
	KT_EXPECT(t, got == n);
	KT_EXPECT(t, buddy_free_pages() == buddy0); /* served by the cache and the depot alone */
	KT_EXPECT(t, page_cache_depot_pages() <= depot - (n - 256 - 64));
	vm_free_chain(chain);
	KT_EXPECT(t, buddy_free_pages() + page_cache_pages() == free0);
}

/* With the depot full of batches, take every page the buddy allocator has: the allocation that finds it
 * empty gets the depot's pages back and goes on, so the whole of free memory but the harts' caches is
 * handed out. */
static void depot_given_back_when_memory_runs_out(struct ktest *t)
{
	u32 got;
	u64 chain = take_pages(2048, &got);
	KT_ASSERT(t, got == 2048);
	vm_free_chain(chain);
	u64 depot = page_cache_depot_pages(), buddy = buddy_free_pages();
	KT_ASSERT(t, depot >= 1024);
	u64 head = 0, n = 0;
	for (u64 pa; (pa = buddy_alloc_order(0, PA_ANY_NODE, 0)); n++) {
		*(u64 *)vm_page_va(pa) = head;
		head = pa;
	}
	KT_EXPECT(t, page_cache_depot_pages() == 0);
	KT_EXPECT(t, n >= buddy + depot);
	while (head) {
		u64 next = *(u64 *)vm_page_va(head);
		buddy_free_order(head, 0);
		head = next;
	}
	KT_EXPECT(t, buddy_free_pages() >= buddy + depot);
}

KTEST_SUITE(page_cache, {"depot_keeps_whole_batches", depot_keeps_whole_batches},
	    {"depot_given_back_when_memory_runs_out", depot_given_back_when_memory_runs_out});

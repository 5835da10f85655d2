/* Suite `page_cache`: the page source under vm/ (vm/page_cache.c). A hart's cache gives up and takes back
 * whole batches through the depot rather than page by page through the buddy allocator, the depot is
 * counted as cached memory, and an allocation the buddy allocator cannot serve gets the depot's pages
 * back: no request fails while the depot holds pages. Long-lived pages (page tables, vm blocks) come
 * from 2 MiB groups of their own, not from among the pages vmalloc hands out. */
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
	struct buddy_stats st0, st1;
	buddy_get_stats(&st0);
	chain = take_pages(n, &got);
	KT_EXPECT(t, got == n);
	buddy_get_stats(&st1);
	KT_EXPECT(t, st1.allocs == st0.allocs); /* served by the cache and the depot alone */
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

/* 64 page tables and 64 one-page vm blocks taken between runs of 64 data pages each (as vmalloc takes a
 * table or a node-pool page now and then among its callers' pages) lie in at most two 2 MiB blocks (the
 * group in use and the next), where taken from the data stream they would spread over eight or more.
 * Everything given back, free memory is as it was. */
static void long_lived_pages_grouped(struct ktest *t)
{
	enum { N = 64, RUN = 64 };
	static u64 tables[N];
	static void *blocks[N];
	struct buddy_stats st;
	buddy_get_stats(&st);
	if (!st.nr_free[9] && !st.nr_free[10]) {
		ktest_skip(t, "no free 2 MiB block to group pages in");
		return;
	}
	u64 free0 = buddy_free_pages() + page_cache_pages(), chain = 0, seen[2 * N];
	u32 blocks_seen = 0;
	for (u32 i = 0; i < N; i++) {
		for (u32 k = 0; k < RUN; k++) { /* one chain through all the runs, as take_pages makes one */
			u64 pa = page_cache_alloc(PA_ANY_NODE);
			KT_ASSERT(t, pa);
			*(u64 *)vm_page_va(pa) = chain;
			chain = pa;
		}
		tables[i] = vm_zeroed_table_alloc();
		blocks[i] = vm_block_alloc(PAGE_SIZE);
		KT_ASSERT(t, tables[i] && blocks[i]);
		u64 pas[2] = {tables[i], virt_to_phys(blocks[i])};
		for (u32 k = 0; k < 2; k++) {
			u64 b = pas[k] >> 21, j = 0;
			while (j < blocks_seen && seen[j] != b) j++;
			if (j == blocks_seen) seen[blocks_seen++] = b;
		}
	}
	KT_EXPECT(t, blocks_seen <= 2);
	for (u32 i = 0; i < N; i++) {
		buddy_free_order(tables[i], 0);
		vm_block_free(blocks[i], PAGE_SIZE);
	}
	vm_free_chain(chain);
	KT_EXPECT(t, buddy_free_pages() + page_cache_pages() == free0);
}

KTEST_SUITE(page_cache, {"depot_keeps_whole_batches", depot_keeps_whole_batches},
	    {"depot_given_back_when_memory_runs_out", depot_given_back_when_memory_runs_out},
	    {"long_lived_pages_grouped", long_lived_pages_grouped});

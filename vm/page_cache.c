/* Per-hart page caches over the buddy allocator. vmalloc takes and returns single pages at a high rate;
 * a cache touched only by its own hart makes that a few loads and stores, and the buddy lock is taken
 * once per batch. A second per-hart cache holds pages known to be all zeros (zeroed for a vzalloc and
 * given back unwritten), so the next zeroed allocation skips the zeroing. Between the caches and the
 * buddy allocator sits a depot of whole batches (below), so that a hart that frees thousands of pages at
 * once (kvfree_rcu's batch after its grace period) and takes them again over its next calls moves them in
 * batches, not page by page through the buddy allocator's splitting and merging. Long-lived pages
 * (page tables, vm structures' blocks, the depot's lists) come from groups of their own (below). */
#include "vm/page_cache.h"
#include "lib/bug.h"
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/buddy.h"

/* 256 pages (1 MiB) per hart: a 100-page vmalloc and its vfree then run from the cache alone, with no
 * buddy lock (a lock round trip costs two CSR writes, each of which ends QEMU's translation block). */
#define CACHE_HIGH 256
#define CACHE_BATCH 64

struct page_cache {
	u32 count;
	int node; /* every cached page is of this node, unless it is PA_ANY_NODE */
	int table_node; /* where this hart's next page tables come from; PA_ANY_NODE: the cache */
	u64 pages[CACHE_HIGH];
} __aligned(64);

static struct page_cache caches[MAX_HARTS] = {[0 ... MAX_HARTS - 1] = {.node = PA_ANY_NODE, .table_node = PA_ANY_NODE}};
/* Pages known to hold only zeros (vfree of a zeroed area gives back the ones never written), of the
 * hart's node like its cache: vzalloc takes them without zeroing again. */
static struct page_cache zero_caches[MAX_HARTS];

/* Zeroing is most of the cost of vzalloc; 16 stores per iteration keep the loop overhead near 1/8 of the
 * stores (memset's 4 would be 1/2). There is no Zicboz on the target. */
static void zero_page(void *page)
{
	u64 *p = page, *end = p + PAGE_SIZE / sizeof(u64);
	do {
		p[0] = 0; p[1] = 0; p[2] = 0; p[3] = 0; p[4] = 0; p[5] = 0; p[6] = 0; p[7] = 0;
		p[8] = 0; p[9] = 0; p[10] = 0; p[11] = 0; p[12] = 0; p[13] = 0; p[14] = 0; p[15] = 0;
		p += 16;
	} while (p != end);
}
static spinlock_t buddy_lock = SPINLOCK_INIT;

/* Per-node state (the depot's stacks, the groups below) sits in slots: slot 0 for any node, node k in
 * slot k + 1. */
#define NODE_SLOTS 9
static int node_slot(int node) { return node >= -1 && node < NODE_SLOTS - 1 ? node + 1 : -1; }
static int slot_node(int slot) { return slot - 1; }

/*
 * Long-lived pages: page tables, vm structures' small blocks (node pools, busy-map buckets) and the
 * depot's lists. They are carved from 2 MiB groups of their own, one group per node at a time, rather
 * than taken from the stream of single pages the caches hand to vmalloc's callers:
 *  - under a virtual machine a page the guest never writes costs its host nothing, and the first write
 *    to one costs a host page fault, with transparent huge pages the zeroing of a whole 2 MiB host page.
 *    Tables and records drawn from the data stream wrote one page in every megabyte or so vmalloc hands
 *    out, so the host zeroed all of it: full_fit's 32,768 allocations per worker at -smp 2 took 43-51
 *    ms, against 22-29 ms with the guest's memory faulted in beforehand (-mem-prealloc);
 *  - a long-lived page among data pages keeps its 2 MiB block from merging again, so a huge allocation
 *    can fail on a machine with most of its memory free (Linux groups unmovable pages by pageblock for
 *    the same reason).
 * A group is one 2 MiB block split into single pages (buddy_split): each piece goes back on its own,
 * with buddy_free(pa, 0) or through a cache, and the group merges whole once every piece is back. With
 * no 2 MiB block left, pieces come from the buddy allocator as they can. What is left of the current
 * groups counts with the caches (page_cache_pages) and goes back to the buddy allocator when an
 * allocation fails. Buddy lock held for all of it.
 */
#define GROUP_ORDER 9
#define GROUP_PIECE_MAX_ORDER 2 /* a larger block is a group of its own */
static struct group {
	u64 next, end; /* the pages not handed out yet: [next, end) */
} groups[NODE_SLOTS];
static u64 group_left; /* pages in [next, end) of all groups, for page_cache_pages (read without the lock) */

#define INV_GROUPS "vm[groups] a group's pages not handed out are allocated single pages, counted in group_left"

/* The one place a group changes: group_left follows, and VM_DEBUG builds check the group's pages. */
static void group_set(struct group *g, u64 next, u64 end)
{
	WRITE_ONCE(group_left, group_left - ((g->end - g->next) >> PAGE_SHIFT) + ((end - next) >> PAGE_SHIFT));
	g->next = next;
	g->end = end;
#ifdef VM_DEBUG
	u64 left = 0;
	for (u32 slot = 0; slot < NODE_SLOTS; slot++) left += (groups[slot].end - groups[slot].next) >> PAGE_SHIFT;
	BUG_UNLESS(left == group_left, INV_GROUPS);
	for (u64 pa = next; pa < end; pa += PAGE_SIZE) {
		const struct page *p = pa_to_page(pa);
		BUG_UNLESS(p && p->flags == PG_HEAD && p->order == 0, INV_GROUPS);
	}
#endif
}

/* Frees [from, to) page by page: single pages of a split block, each merging as its buddy comes back. */
static void free_singles(u64 from, u64 to)
{
	for (u64 pa = from; pa < to; pa += PAGE_SIZE) buddy_free(pa, 0);
}

/* Gives back the pages of g not handed out; g is empty after. */
static void group_release(struct group *g)
{
	free_singles(g->next, g->end);
	group_set(g, 0, 0);
}

static void groups_release(void)
{
	for (u32 slot = 0; slot < NODE_SLOTS; slot++) group_release(&groups[slot]);
}

/* The depot: full batches of CACHE_BATCH free pages a cache gave up, kept whole for the next cache that
 * runs empty (Bonwick's magazine depot). A batch is listed in a page of its own from the groups, not in
 * one of its pages: vmalloc hands out pages its callers may never write, and such a page costs a virtual
 * machine's host nothing. Moving a batch in or out is one push or pop under the buddy lock and
 * CACHE_BATCH loads and stores, where the buddy allocator costs a split or a merge per page. One stack
 * per node slot. The depot is free memory that is not merged: it holds at most a sixteenth of the
 * managed pages, and any buddy allocation that fails first gives the whole depot back to the buddy
 * allocator and tries again (buddy_alloc_locked), so no request, of any order, fails while the depot
 * holds pages. Buddy lock held for all of it. */
struct depot_batch {
	u64 next;             /* physical address of the next batch's list on the stack, 0 ends it */
	u64 pas[CACHE_BATCH]; /* the batch's pages */
};
_Static_assert(sizeof(struct depot_batch) <= PAGE_SIZE, "a depot batch is listed in one page");
static u64 depot_head[NODE_SLOTS];
static u64 depot_pages; /* in all slots' batches, lists not included (read without the lock) */

/* Gives every batch of the depot back to the buddy allocator, merging each page with its neighbours. */
static void depot_drain(void)
{
	for (u32 slot = 0; slot < NODE_SLOTS; slot++) {
		while (depot_head[slot]) {
			u64 list = depot_head[slot];
			struct depot_batch *b = vm_page_va(list);
			depot_head[slot] = b->next;
			for (u32 i = 0; i < CACHE_BATCH; i++) buddy_free(b->pas[i], 0);
			buddy_free(list, 0);
		}
	}
	WRITE_ONCE(depot_pages, 0);
}

/* For an allocation the buddy allocator could not serve: gives the depot's and the groups' pages back to
 * it, and says whether there were any (then the allocation is worth trying once more). Rare: both are
 * bounded and only such an allocation pays for it. Buddy lock held. */
static bool give_back_held_pages(void)
{
	if (!depot_pages && !group_left) return false;
	depot_drain();
	groups_release();
	return true;
}

/* A buddy allocation, tried once more after give_back_held_pages when it fails. Buddy lock held. */
static u64 buddy_alloc_locked(unsigned order, int node, unsigned flags)
{
	u64 pa = buddy_alloc(order, node, flags);
	if (pa || !give_back_held_pages()) return pa;
	return buddy_alloc(order, node, flags);
}

/* buddy_alloc_pages, the rest tried once more after give_back_held_pages when it comes up short. Buddy
 * lock held. */
static u32 buddy_alloc_pages_locked(u64 *pas, u32 n, int node, unsigned flags)
{
	u32 got = buddy_alloc_pages(pas, n, node, flags);
	if (got == n || !give_back_held_pages()) return got;
	return got + buddy_alloc_pages(pas + got, n - got, node, flags);
}

/* 2^order single pages (order <= GROUP_PIECE_MAX_ORDER) of node (PA_ANY_NODE: any), contiguous and
 * aligned to their size, each freed on its own; 0 when memory is out. From the node's current group,
 * else from a new one, else (no 2 MiB block left there) from wherever the buddy allocator has them.
 * Pages skipped to align the piece go back at once. */
static u64 group_take(unsigned order, int node)
{
	int slot = node_slot(node);
	if (slot < 0) slot = 0;
	struct group *g = &groups[slot];
	u64 size = PAGE_SIZE << order, pa = ALIGN_UP(g->next, size);

	if (!g->end || pa + size > g->end) {
		group_release(g);
		int want = slot_node(slot);
		u64 block = buddy_alloc(GROUP_ORDER, want, want == PA_ANY_NODE ? 0 : BUDDY_THISNODE);
		if (!block || buddy_split(block, GROUP_ORDER)) {
			if (block) buddy_free(block, GROUP_ORDER);
			pa = buddy_alloc_locked(order, want, 0);
			if (pa && order) (void)buddy_split(pa, order);
			return pa;
		}
		group_set(g, block, block + (PAGE_SIZE << GROUP_ORDER));
		pa = block;
	}
	free_singles(g->next, pa);
	group_set(g, pa + size, g->end);
	return pa;
}

/* group_take under the buddy lock. Any context. */
static u64 group_alloc(unsigned order, int node)
{
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	u64 pa = group_take(order, node);
	spin_unlock_irqrestore(&buddy_lock, f);
	return pa;
}

/* Pushes the top CACHE_BATCH pages of c onto its node's stack; false when the depot is full, has no
 * stack for the node or no page for the list (the caller gives them to the buddy allocator). */
static bool depot_push(struct page_cache *c)
{
	int slot = node_slot(c->node);
	if (slot < 0 || depot_pages + CACHE_BATCH > buddy_total_pages() / 16) return false;
	u64 list = group_take(0, c->node);
	if (!list) return false;
	struct depot_batch *b = vm_page_va(list);
	for (u32 i = 0; i < CACHE_BATCH; i++) b->pas[i] = c->pages[--c->count];
	b->next = depot_head[slot];
	depot_head[slot] = list;
	WRITE_ONCE(depot_pages, depot_pages + CACHE_BATCH);
	return true;
}

/* Pops a batch of c's node into c (which has room for it); false when there is none. */
static bool depot_pop(struct page_cache *c)
{
	int slot = node_slot(c->node);
	if (slot < 0 || !depot_head[slot]) return false;
	u64 list = depot_head[slot];
	struct depot_batch *b = vm_page_va(list);
	depot_head[slot] = b->next;
	for (u32 i = CACHE_BATCH; i-- > 0;) c->pages[c->count++] = b->pas[i];
	buddy_free(list, 0);
	WRITE_ONCE(depot_pages, depot_pages - CACHE_BATCH);
	return true;
}

void page_cache_set_hart_node(u32 index, int node)
{
	if (index >= MAX_HARTS) return;
	struct page_cache *c = &caches[index];
	/* What the cache took before (the boot hart's early page tables) may be of another node. */
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	while (c->count) buddy_free(c->pages[--c->count], 0);
	while (zero_caches[index].count) buddy_free(zero_caches[index].pages[--zero_caches[index].count], 0);
	c->node = node;
	spin_unlock_irqrestore(&buddy_lock, f);
}

u64 buddy_alloc_order(unsigned order, int node, unsigned flags)
{
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	u64 pa = buddy_alloc_locked(order, node, flags);
	spin_unlock_irqrestore(&buddy_lock, f);
	return pa;
}

void buddy_free_order(u64 pa, unsigned order)
{
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	buddy_free(pa, order);
	spin_unlock_irqrestore(&buddy_lock, f);
}

/* A page when this hart's cache is empty (or holds another node): a batch under the buddy lock, from the
 * depot if it has one of the cache's node, else from the buddy allocator. The cache holds only its node's pages, so a later request for that node never gets another
 * node's page while its own has some; when the node is empty, one page at a time falls back. Out of
 * line and cold, like cache_free_slow: the fast paths below then save no registers (~24 instructions
 * a page each way, inlined). */
static __attribute__((noinline, cold)) u64 cache_alloc_slow(struct page_cache *c, int node)
{
	if (node != PA_ANY_NODE && node != c->node) return buddy_alloc_order(0, node, 0);
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	if (!c->count) (void)depot_pop(c);
	if (c->count < CACHE_BATCH)
		c->count += buddy_alloc_pages_locked(c->pages + c->count, CACHE_BATCH - c->count, c->node,
						     c->node == PA_ANY_NODE ? 0 : BUDDY_THISNODE);
	u64 pa = c->count ? 0 : buddy_alloc_locked(0, c->node, 0);
	spin_unlock_irqrestore(&buddy_lock, f);
	if (pa) return pa;
	return c->count ? c->pages[--c->count] : 0;
}

/* A page back when this hart's cache is full (a batch goes to the depot first, or to the buddy allocator
 * when the depot is full) or the page is of another node than the cache's. */
static __attribute__((noinline, cold)) void cache_free_slow(struct page_cache *c, u64 pa)
{
	if (c->node != PA_ANY_NODE && buddy_node_of(pa) != c->node) {
		buddy_free_order(pa, 0);
		return;
	}
	if (c->count == CACHE_HIGH) {
		unsigned long f = spin_lock_irqsave(&buddy_lock);
		if (!depot_push(c))
			while (c->count > CACHE_HIGH - CACHE_BATCH) buddy_free(c->pages[--c->count], 0);
		spin_unlock_irqrestore(&buddy_lock, f);
	}
	c->pages[c->count++] = pa;
}

/* The caches are touched by their own hart in process context only, where the kernel never preempts
 * itself, so the fast path masks no interrupts: under QEMU every CSR write ends the translation block,
 * which costs more than the rest of the fast path. Interrupt handlers go to the buddy allocator. */
u64 page_cache_alloc(int node)
{
	if (unlikely(in_interrupt())) return buddy_alloc_order(0, node, 0);
	struct page_cache *c = &caches[this_hart_index()];
	if (likely(c->count && (node == PA_ANY_NODE || node == c->node))) return c->pages[--c->count];
	return cache_alloc_slow(c, node);
}

void page_cache_free(u64 pa)
{
	if (unlikely(in_interrupt())) {
		buddy_free_order(pa, 0);
		return;
	}
	struct page_cache *c = &caches[this_hart_index()];
	if (likely(c->node == PA_ANY_NODE && c->count < CACHE_HIGH)) {
		c->pages[c->count++] = pa;
		return;
	}
	cache_free_slow(c, pa);
}

bool page_cache_take_bulk(int node, u64 *pas, u32 n)
{
	if (unlikely(in_interrupt())) return false;
	struct page_cache *c = &caches[this_hart_index()];
	if (unlikely(c->count < n || n > PAGE_CACHE_BULK || c->node != PA_ANY_NODE || node != PA_ANY_NODE)) return false;
	u32 top = c->count - n;
	for (u32 k = 0; k < n; k++) pas[k] = c->pages[top + k];
	c->count = top;
	return true;
}

bool page_cache_give_bulk(const u64 *pas, u32 n)
{
	if (unlikely(in_interrupt())) return false;
	struct page_cache *c = &caches[this_hart_index()];
	if (unlikely(c->count + n > CACHE_HIGH || n > PAGE_CACHE_BULK || c->node != PA_ANY_NODE)) return false;
	for (u32 k = 0; k < n; k++) c->pages[c->count + k] = pas[k];
	c->count += n;
	return true;
}

int page_cache_set_table_node(int node)
{
	struct page_cache *c = &caches[this_hart_index()];
	int old = c->table_node;

	c->table_node = node;
	return old;
}

static unsigned order_for(size_t bytes)
{
	unsigned order = 0;
	while ((PAGE_SIZE << order) < bytes) order++;
	return order;
}

u64 page_cache_alloc_zeroed(int node)
{
	if (node == PA_ANY_NODE && likely(!in_interrupt())) {
		struct page_cache *z = &zero_caches[this_hart_index()];
		if (z->count) return z->pages[--z->count];
	}
	u64 pa = page_cache_alloc(node);
	if (pa) zero_page(phys_to_virt(pa));
	return pa;
}

void page_cache_free_zeroed(u64 pa)
{
	if (likely(!in_interrupt()) && (likely(caches[this_hart_index()].node == PA_ANY_NODE) ||
					buddy_node_of(pa) == caches[this_hart_index()].node)) {
		struct page_cache *z = &zero_caches[this_hart_index()];
		if (z->count < CACHE_HIGH) {
			z->pages[z->count++] = pa;
			return;
		}
	}
	page_cache_free(pa);
}

u64 vm_zeroed_table_alloc(void)
{
	const struct page_cache *c = &caches[this_hart_index()];
	u64 pa = group_alloc(0, c->table_node != PA_ANY_NODE ? c->table_node : c->node);
	if (pa) zero_page(phys_to_virt(pa));
	return pa;
}

/* Pages held in blocks (node pools, busy-map buckets): kept for the kernel's life or across test suites,
 * so leak checks count them with the caches. */
static u64 block_pages;

void *vm_block_alloc_uninit(size_t bytes)
{
	unsigned order = order_for(bytes);
	if (order > BUDDY_MAX_ORDER) return NULL;
	u64 pa = order <= GROUP_PIECE_MAX_ORDER ? group_alloc(order, PA_ANY_NODE)
					       : buddy_alloc_order(order, PA_ANY_NODE, 0);
	if (!pa) return NULL;
	__atomic_fetch_add(&block_pages, 1UL << order, __ATOMIC_RELAXED);
	return phys_to_virt(pa);
}

void *vm_block_alloc(size_t bytes)
{
	void *block = vm_block_alloc_uninit(bytes);
	if (block) memset(block, 0, PAGE_SIZE << order_for(bytes));
	return block;
}

void vm_block_free(void *block, size_t bytes)
{
	unsigned order = order_for(bytes);
	__atomic_fetch_sub(&block_pages, 1UL << order, __ATOMIC_RELAXED);
	if (order > GROUP_PIECE_MAX_ORDER) {
		buddy_free_order(virt_to_phys(block), order);
		return;
	}
	u64 pa = virt_to_phys(block);
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	free_singles(pa, pa + (PAGE_SIZE << order)); /* group pieces are single pages */
	spin_unlock_irqrestore(&buddy_lock, f);
}

u64 vm_blocks_held(void) { return __atomic_load_n(&block_pages, __ATOMIC_RELAXED); }

u64 page_cache_pages(void)
{
	u64 n = 0;
	for (u32 i = 0, slots = hart_slots_used(); i < slots; i++)
		n += READ_ONCE(caches[i].count) + READ_ONCE(zero_caches[i].count);
	u64 depot = READ_ONCE(depot_pages);
	return n + depot + depot / CACHE_BATCH + READ_ONCE(group_left); /* a list per depot batch */
}

u64 page_cache_depot_pages(void) { return READ_ONCE(depot_pages); }

u64 page_cache_node_fallbacks(void)
{
	struct buddy_stats st;
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	buddy_get_stats(&st);
	spin_unlock_irqrestore(&buddy_lock, f);
	return st.node_fallbacks;
}

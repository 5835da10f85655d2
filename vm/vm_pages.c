/* Per-hart page caches over the buddy allocator. vmalloc takes and returns single pages at a high rate;
 * a cache touched only by its own hart with interrupts off makes that a few loads and stores, and the
 * buddy lock is taken once per batch. */
#include "vm/vm_pages.h"
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/page_alloc.h"

#define CACHE_HIGH 64
#define CACHE_BATCH 32

struct page_cache {
	u32 count;
	int node; /* every cached page is of this node, unless it is PA_ANY_NODE */
	int table_node; /* where this hart's next page tables come from; PA_ANY_NODE: the cache */
	u64 pages[CACHE_HIGH];
} __aligned(64);

static struct page_cache caches[MAX_HARTS] = {[0 ... MAX_HARTS - 1] = {.node = PA_ANY_NODE, .table_node = PA_ANY_NODE}};
static spinlock_t buddy_lock = SPINLOCK_INIT;

void vm_pages_set_hart_node(u32 index, int node)
{
	if (index >= MAX_HARTS) return;
	struct page_cache *c = &caches[index];
	/* What the cache took before (the boot hart's early page tables) may be of another node. */
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	while (c->count) pa_free(c->pages[--c->count], 0);
	c->node = node;
	spin_unlock_irqrestore(&buddy_lock, f);
}

u64 vm_pages_alloc_order(unsigned order, int node, unsigned flags)
{
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	u64 pa = pa_alloc(order, node, flags);
	spin_unlock_irqrestore(&buddy_lock, f);
	return pa;
}

void vm_pages_free_order(u64 pa, unsigned order)
{
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	pa_free(pa, order);
	spin_unlock_irqrestore(&buddy_lock, f);
}

u64 vm_page_alloc(int node)
{
	unsigned long f = irq_save();
	struct page_cache *c = &caches[this_hart_index()];
	if (node != PA_ANY_NODE && node != c->node) {
		irq_restore(f);
		return vm_pages_alloc_order(0, node, 0);
	}
	if (unlikely(!c->count)) {
		/* The cache holds only its node's pages, so a later request for that node never gets another
		 * node's page while its own has some; when the node is empty, one page at a time falls back. */
		spin_lock(&buddy_lock);
		while (c->count < CACHE_BATCH) {
			u64 pa = pa_alloc(0, c->node, c->node == PA_ANY_NODE ? 0 : PA_THISNODE);
			if (!pa) break;
			c->pages[c->count++] = pa;
		}
		u64 pa = c->count ? 0 : pa_alloc(0, c->node, 0);
		spin_unlock(&buddy_lock);
		if (pa) {
			irq_restore(f);
			return pa;
		}
	}
	u64 pa = c->count ? c->pages[--c->count] : 0;
	irq_restore(f);
	return pa;
}

void vm_page_free(u64 pa)
{
	unsigned long f = irq_save();
	struct page_cache *c = &caches[this_hart_index()];
	if (unlikely(c->node != PA_ANY_NODE) && pa_node_of(pa) != c->node) {
		irq_restore(f);
		vm_pages_free_order(pa, 0);
		return;
	}
	if (unlikely(c->count == CACHE_HIGH)) {
		spin_lock(&buddy_lock);
		while (c->count > CACHE_HIGH - CACHE_BATCH) pa_free(c->pages[--c->count], 0);
		spin_unlock(&buddy_lock);
	}
	c->pages[c->count++] = pa;
	irq_restore(f);
}

int vm_pages_set_table_node(int node)
{
	struct page_cache *c = &caches[this_hart_index()];
	int old = c->table_node;

	c->table_node = node;
	return old;
}

u64 vm_zeroed_table_alloc(void)
{
	u64 pa = vm_page_alloc(caches[this_hart_index()].table_node);
	if (pa) memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

void vm_pages_drain_all(void)
{
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	for (u32 i = 0; i < MAX_HARTS; i++) {
		/* Other harts only touch their cache with interrupts off; callers run this while they idle. */
		struct page_cache *c = &caches[i];
		while (c->count) pa_free(c->pages[--c->count], 0);
	}
	spin_unlock_irqrestore(&buddy_lock, f);
}

u64 vm_pages_cached(void)
{
	u64 n = 0;
	for (u32 i = 0; i < MAX_HARTS; i++) n += READ_ONCE(caches[i].count);
	return n;
}

u64 vm_pages_node_fallbacks(void)
{
	struct pa_stats st;
	unsigned long f = spin_lock_irqsave(&buddy_lock);
	pa_get_stats(&st);
	spin_unlock_irqrestore(&buddy_lock, f);
	return st.node_fallbacks;
}

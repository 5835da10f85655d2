/* Lazy purge. vfree clears PTEs at once, so a stale access faults on any hart that has no cached
 * translation, but the virtual range is not reused until a purge has flushed every hart's TLB: then the
 * whole batch costs one local flush and ONE SBI remote fence instead of one per vfree. */
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/trace.h"
#include "platform/sbi.h"
#include "vm/layout.h"
#include "vm/vmalloc_internal.h"
#include "vm/vmalloc_map.h"

static spinlock_t purge_lock = SPINLOCK_INIT;

bool vm_lazy_add_locked(struct vm_area *a)
{
	/* Under the arena lock, like the purge's taking of the list: the purge numbered purge_id releases
	 * exactly the areas traced with it, so the replay never has to guess. */
	TRACE(TRACE_VMALLOC, __builtin_return_address(0), "ev=lazy addr=0x%lx purge=%lu", a->addr, arena.purge_id);
	a->lazy_next = arena.lazy_head;
	arena.lazy_head = a;
	/* Mapped pages, not the guard: N single-page vfrees then cost at most ceil(N / threshold) purges. */
	arena.lazy_pages += MAX(a->size >> PAGE_SHIFT, 1);
	arena.st.lazy_areas++;
	return arena.lazy_pages >= arena.lazy_max_pages;
}

/* What one flush cost: sfence.vma instructions on this hart, SBI remote-fence calls to the others. */
struct fences {
	u64 local, remote;
};

static struct fences flush_kernel_range(u64 start, u64 size)
{
	u64 pages = size >> PAGE_SHIFT, base;
	bool full = pages > TLB_FLUSH_ALL_PAGES;

	if (full) local_flush_tlb_all();
	else
		for (u64 va = start; va < start + size; va += PAGE_SIZE) local_flush_tlb_page(va);
	unsigned long mask = harts_other_sbi_mask(&base);
	if (mask) sbi_remote_sfence_vma(mask, base, full ? 0 : start, full ? 0 : size);
	unsigned long f = spin_lock_irqsave(&arena.lock);
	arena.st.local_fences++;
	if (mask) arena.st.remote_fences++;
	if (full) arena.st.full_flushes++;
	arena.st.flushed_pages += pages;
	spin_unlock_irqrestore(&arena.lock, f);
	return (struct fences){full ? 1 : pages, mask != 0};
}

void vm_flush_range_now(u64 start, u64 size) { (void)flush_kernel_range(start, size); }

/* The freeing hart forgets the range at once (local fences cost no IPI): its own use after vfree then
 * faults and is named, and only other harts' TLBs wait for the purge. */
void vm_local_forget(u64 start, u64 size)
{
	if (size >> PAGE_SHIFT > TLB_FLUSH_ALL_PAGES) {
		local_flush_tlb_all();
		return;
	}
	for (u64 va = start; va < start + size; va += PAGE_SIZE) local_flush_tlb_page(va);
}

void vm_purge(void)
{
	unsigned long f = spin_lock_irqsave(&purge_lock);
	spin_lock(&arena.lock);
	struct vm_area *list = arena.lazy_head;
	u64 pages = arena.lazy_pages, areas = arena.st.lazy_areas;
	arena.lazy_head = NULL;
	arena.lazy_pages = 0;
	arena.st.lazy_areas = 0;
	u64 id = arena.purge_id;
	if (list) arena.purge_id++; /* areas parked from now on wait for the next purge */
	spin_unlock(&arena.lock);
	if (!list) {
		spin_unlock_irqrestore(&purge_lock, f);
		return;
	}
	u64 lo = ~0ULL, hi = 0;
	for (struct vm_area *a = list; a; a = a->lazy_next) {
		lo = MIN(lo, a->va_start);
		hi = MAX(hi, a->va_start + a->va_size);
	}
	struct fences fenced = flush_kernel_range(lo, hi - lo);
	for (struct vm_area *a = list; a; a = a->lazy_next) {
		vmap_free_chain(a->lazy_tables); /* level-0 tables the areas emptied: no walker holds them now */
		a->lazy_tables = 0;
	}

	/* Back to the index in bursts: the arena lock is dropped between them so that allocating harts are
	 * never held up for a whole batch of thousands of areas. */
	spin_lock(&arena.lock);
	for (u32 burst = 0; list; burst++) {
		struct vm_area *next = list->lazy_next;
		if (va_index_free(&arena.free, list->va_start, list->va_size) == -ENOMEM) {
			/* No node to record the range: keep it parked for the next purge rather than lose it. */
			vm_lazy_add_locked(list);
		} else {
			node_pool_put(&arena.area_pool, list);
		}
		list = next;
		if ((burst & 31) == 31) {
			spin_unlock(&arena.lock);
			spin_lock(&arena.lock);
		}
	}
	arena.st.purges++;
	spin_unlock(&arena.lock);
	spin_unlock_irqrestore(&purge_lock, f);
	TRACE(TRACE_PURGE, __builtin_return_address(0),
	      "ev=purge areas=%lu pages=%lu start=0x%lx end=0x%lx full=%d remote=%d local_fences=%lu remote_fences=%lu "
	      "id=%lu",
	      areas, pages, lo, hi, (hi - lo) >> PAGE_SHIFT > TLB_FLUSH_ALL_PAGES, fenced.remote != 0, fenced.local,
	      fenced.remote, id);
}

void vm_purge_now(void) { vm_purge(); }

void vm_set_lazy_max_pages(u64 pages)
{
	unsigned long f = spin_lock_irqsave(&arena.lock);
	arena.lazy_max_pages = pages ? pages : 1;
	spin_unlock_irqrestore(&arena.lock, f);
}

u64 vm_lazy_max_pages(void) { return READ_ONCE(arena.lazy_max_pages); }

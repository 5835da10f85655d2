/* Lazy purge. vfree clears PTEs at once and flushes no TLB, not even its own hart's (as Linux): a stale
 * access faults on any hart that has no cached translation, and the virtual range is not reused until a
 * purge has flushed every hart's TLB: the whole batch costs one local flush and ONE remote fence. */
#include "lib/percpu.h"
#include "lib/riscv.h"
#include "lib/trace.h"
#include "platform/sbi.h"
#include "vm/layout.h"
#include "vm/vmalloc_internal.h"
#include "vm/vmalloc_map.h"

/* Past this many pages in the flushed span one full flush is cheaper than per-page sfence.vma. Linux
 * uses 64 for real cores; under QEMU every sfence.vma, with an address or not, flushes the whole soft
 * TLB, so a loop of N ranged fences costs N full flushes: only a single page is flushed by address. */
#define FLUSH_ALL_THRESHOLD_PAGES 1

bool vm_debug_uaf;

static spinlock_t purge_lock = SPINLOCK_INIT;

bool vm_lazy_add_locked(struct vm_area *a)
{
	a->lazy_next = arena.lazy_head;
	arena.lazy_head = a;
	/* Mapped pages, not the guard: N single-page vfrees then cost at most ceil(N / threshold) purges. */
	arena.lazy_pages += MAX(a->size >> PAGE_SHIFT, 1);
	arena.st.lazy_areas++;
	return arena.lazy_pages >= arena.lazy_max_pages;
}

/* Returns whether other harts were fenced (there were some online). */
static bool flush_kernel_range(u64 start, u64 size)
{
	u64 pages = size >> PAGE_SHIFT, base;
	bool full = pages > FLUSH_ALL_THRESHOLD_PAGES;

	if (full) local_flush_tlb_all();
	else local_flush_tlb_page(start);
	unsigned long mask = harts_other_sbi_mask(&base);
	if (mask) sbi_remote_sfence_vma(mask, base, full ? 0 : start, full ? 0 : size);
	unsigned long f = spin_lock_irqsave(&arena.lock);
	arena.st.local_fences++;
	if (mask) arena.st.remote_fences++;
	if (full) arena.st.full_flushes++;
	arena.st.flushed_pages += pages;
	spin_unlock_irqrestore(&arena.lock, f);
	return mask != 0;
}

void vm_flush_range_now(u64 start, u64 size) { (void)flush_kernel_range(start, size); }

/* Debug mode only (vmalloc.debug_uaf=1): the freeing hart forgets the range at once, so its own use
 * after vfree faults and is named. One sfence.vma per free: under QEMU that is a whole soft-TLB flush and
 * a refill of every translation the hart uses next, which is why it is off by default. */
void vm_local_forget(u64 start, u64 size)
{
	if (!READ_ONCE(vm_debug_uaf)) return;
	if (size >> PAGE_SHIFT > FLUSH_ALL_THRESHOLD_PAGES) local_flush_tlb_all();
	else local_flush_tlb_page(start);
}

bool vm_set_debug_uaf(bool on)
{
	bool was = READ_ONCE(vm_debug_uaf);
	WRITE_ONCE(vm_debug_uaf, on);
	return was;
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
	bool remote = flush_kernel_range(lo, hi - lo);

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
	      "ev=purge areas=%lu pages=%lu start=0x%lx end=0x%lx full=%d remote=%d local_fences=1 remote_fences=%d",
	      areas, pages, lo, hi, (hi - lo) >> PAGE_SHIFT > FLUSH_ALL_THRESHOLD_PAGES, remote, remote);
}

void vm_purge_now(void) { vm_purge(); }

void vm_set_lazy_max_pages(u64 pages)
{
	unsigned long f = spin_lock_irqsave(&arena.lock);
	arena.lazy_max_pages = pages ? pages : 1;
	spin_unlock_irqrestore(&arena.lock, f);
}

u64 vm_lazy_max_pages(void) { return READ_ONCE(arena.lazy_max_pages); }

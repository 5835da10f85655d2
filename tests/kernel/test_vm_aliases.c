/* Suite `vm_aliases`: a page or range reached through another mapping than its area's. A vzalloc page written
 * through the direct map or a vmap alias must not come back from the next vzalloc as "known zero" (the
 * area's leaf never saw the store); and a free of the wrong kind (vfree or vunmap of a vm_map_ram
 * mapping, which may start a block other mappings share; vunmap of a vmalloc area) is reported and
 * ignored, the mapping left working; and a range mapped for a moment by a failed vmap is fenced before
 * reuse. Found by a code review; each case failed before. */
#include "kernel/ktest.h"
#include "kernel/kfault.h"
#include "kernel/trap.h"
#include "lib/riscv.h"
#include "lib/string.h"
#include "vm/layout.h"
#include "vm/buddy.h"
#include "vm/page_cache.h"
#include "vm/vmalloc.h"

static u32 nonzero_bytes(const u8 *p)
{
	u32 n = 0;
	for (u32 i = 0; i < PAGE_SIZE; i++) n += p[i] != 0;
	return n;
}

/* Writes a fresh one-page vzalloc area through `how` (0: the direct map, as a device would by DMA; 1: a
 * vmap alias), frees it, and checks that the next one-page vzalloc reads zero. The page cache hands the
 * freed page straight back to this hart, so the second area gets the same page unless it is refused. */
static void written_elsewhere_then_vzalloc(struct ktest *t, int how)
{
	u8 *p = vzalloc(PAGE_SIZE);
	KT_ASSERT(t, p);
	if (how == 0) {
		u64 pa = vmalloc_to_pa(p);
		KT_ASSERT(t, pa);
		memset(phys_to_virt(pa), 0xcc, PAGE_SIZE);
	} else {
		struct page *pg = vmalloc_to_page(p);
		KT_ASSERT(t, pg);
		u8 *v = vmap(&pg, 1, 0, 0);
		KT_ASSERT(t, v);
		memset(v, 0x5a, PAGE_SIZE);
		vunmap(v);
	}
	KT_EXPECT(t, p[0] != 0 && p[PAGE_SIZE - 1] != 0); /* the store really reached the page */
	vfree(p);
	u8 *q = vzalloc(PAGE_SIZE);
	KT_ASSERT(t, q);
	KT_EXPECT(t, (nonzero_bytes(q)) == (0));
	vfree(q);
	vm_purge();
}

static void direct_map_write_is_not_zero(struct ktest *t) { written_elsewhere_then_vzalloc(t, 0); }
static void vmap_alias_write_is_not_zero(struct ktest *t) { written_elsewhere_then_vzalloc(t, 1); }

static void peek(void *p) { (void)*(volatile u8 *)p; }

/* vfree and vunmap of the first page of a vm_map_ram block (the first mapping a block hands out is its
 * base, which is also the block's area) are refused: the block, the caller's mapping in it and the
 * hart's later mappings all keep working. Before, the free tore the block down under its hart, whose
 * next mapping was written into a freed page table. */
static void map_ram_block_base_not_freed(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	memset(phys_to_virt(pa), 0x42, PAGE_SIZE);
	struct page *pg = pa_to_page(pa);
	unsigned long f = irq_save(); /* one hart's block throughout */
	void *x = vm_map_ram(&pg, 1, NUMA_NO_NODE);
	vm_unmap_ram(x, 1);
	vm_map_ram_quiesce(); /* this hart lets its block go: the next mapping starts a new one */
	u8 *p = vm_map_ram(&pg, 1, NUMA_NO_NODE);
	KT_ASSERT(t, p && ((uptr)p & (PMD_SIZE - 1)) == 0);
	struct vm_stats a, b;
	vm_get_stats(&a);
	u64 areas = vm_live_areas();
	vfree(p);
	vunmap(p);
	vfree_atomic(p);
	vm_deferred_drain();
	vm_get_stats(&b);
	KT_EXPECT(t, (b.bad_frees) == (a.bad_frees + 3));
	KT_EXPECT(t, (vm_live_areas()) == (areas));
	KT_EXPECT(t, (vmalloc_to_pa(p)) == (pa));
	vm_purge();
	u8 *q = vm_map_ram(&pg, 1, NUMA_NO_NODE);
	KT_ASSERT(t, q);
	KT_EXPECT(t, (vmalloc_to_pa(q)) == (pa));
	struct kfault_report r;
	KT_EXPECT(t, (kfault_try(peek, q, &r)) == (0));
	KT_EXPECT(t, (kfault_try(peek, p, &r)) == (0));
	vm_unmap_ram(q, 1);
	vm_unmap_ram(p, 1);
	irq_restore(f);
	vm_map_ram_quiesce();
	buddy_free_order(pa, 0);
}

/* A large vm_map_ram mapping (an area of its own) is vm_unmap_ram's to end, and a vmalloc area is
 * vfree's: vfree and vunmap of the first, and vunmap of the second, are refused. */
static void frees_of_the_wrong_kind_refused(struct ktest *t)
{
	enum { N = 64 };
	static struct page *pgs[N];
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	for (u32 i = 0; i < N; i++) pgs[i] = pa_to_page(pa);
	u8 *m = vm_map_ram(pgs, N, NUMA_NO_NODE);
	u8 *v = vmalloc(3 * PAGE_SIZE);
	KT_ASSERT(t, m && v);
	struct vm_stats a, b;
	vm_get_stats(&a);
	vfree(m);
	vunmap(m);
	vunmap(v);
	vm_get_stats(&b);
	KT_EXPECT(t, (b.bad_frees) == (a.bad_frees + 3));
	KT_EXPECT(t, (vmalloc_to_pa(m + (N - 1) * PAGE_SIZE)) == (pa));
	v[3 * PAGE_SIZE - 1] = 7; /* still mapped, still the caller's */
	vm_unmap_ram(m, N);
	vfree(v);
	vm_purge();
	buddy_free_order(pa, 0);
}

/* A vmap that fails half way (a NULL page after a good one) mapped its first page for a moment: its
 * range goes to the purge, whose fence comes before any reuse, not straight back to the free index
 * (another hart may have cached the translation: RISC-V allows it). */
static void failed_vmap_range_waits_for_the_purge(struct ktest *t)
{
	u64 pa = buddy_alloc_order(0, PA_ANY_NODE, 0);
	KT_ASSERT(t, pa);
	struct page *pgs[2] = {pa_to_page(pa), NULL};
	struct vm_stats a, b;
	vm_get_stats(&a);
	KT_EXPECT(t, vmap(pgs, 2, 0, 0) == NULL);
	vm_get_stats(&b);
	KT_EXPECT(t, b.lazy_areas == a.lazy_areas + 1);
	vm_purge();
	buddy_free_order(pa, 0);
}

KTEST_SUITE(vm_aliases, {"failed_vmap_range_waits_for_the_purge", failed_vmap_range_waits_for_the_purge}, {"direct_map_write_is_not_zero", direct_map_write_is_not_zero},
	    {"vmap_alias_write_is_not_zero", vmap_alias_write_is_not_zero},
	    {"map_ram_block_base_not_freed", map_ram_block_base_not_freed},
	    {"frees_of_the_wrong_kind_refused", frees_of_the_wrong_kind_refused});
